package raftreg

import (
	"errors"
	"fmt"
	"github.com/wippyd/wippyd/internal/await"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestStrongRegister(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	ctx := ctxT(t, 20*time.Second)
	p := ppid(fol[0], 1)
	if err := c.reg(fol[0]).RegisterStrong(ctx, "lock", p); err != nil {
		t.Fatal(err)
	}
	// Once it returned, every node resolves it: no waiting.
	for _, n := range c.names {
		if got, ok := c.reg(n).Resolve("lock"); !ok || got != p {
			t.Fatalf("%s resolves %v %v right after the register", n, got, ok)
		}
		if _, ok := c.reg(n).Holder("lock", false); ok {
			t.Fatalf("%s holds it as consistent", n)
		}
	}
	if s := c.reg(leader).Stats(); s.Strong != 1 || s.Pending != 0 || s.Names != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := c.reg(fol[0]).RegisterStrong(ctx, "lock", p); err != nil {
		t.Fatalf("again: %v", err)
	}
	for _, err := range []error{
		c.reg(leader).RegisterStrong(ctx, "lock", ppid(leader, 2)),
		c.reg(leader).Register(ctx, "lock", ppid(leader, 2)),
		c.reg(leader).Register(ctx, "lock", p),
	} {
		if !errors.Is(err, registry.ErrAlreadyExists) || !strings.Contains(err.Error(), p.String()) {
			t.Fatalf("a taken strong name: %v", err)
		}
	}
	if err := c.reg(fol[1]).UnregisterStrong(ctx, "lock", ppid(fol[1], 3)); proc.AsError(err).Kind != proc.KindPermissionDenied {
		t.Fatalf("unregister by another: %v", err)
	}
	if err := c.reg(fol[1]).Unregister(ctx, "lock", p); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("unregister in the consistent scope: %v", err)
	}
	if err := c.reg(fol[1]).UnregisterStrong(ctx, "lock", p); err != nil {
		t.Fatal(err)
	}
	// Released everywhere when it returns, too.
	for _, n := range c.names {
		if got, ok := c.reg(n).Resolve("lock"); ok {
			t.Fatalf("%s still resolves %v after the release returned", n, got)
		}
	}
}

// TestStrongThenLookupElsewhere: 1,000 STRONG registrations, each on a
// random node, then a lookup on every other node right after the call
// returns: not one misses. The same trials on CONSISTENT may miss (a
// follower's replica may not have applied the entry yet); the test
// reports how often.
func TestStrongThenLookupElsewhere(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		net := map[bool]string{false: "memnet", true: "tcp"}[tcp]
		t.Run(net, func(t *testing.T) {
			var opts []clusterOpt
			if tcp {
				opts = append(opts, overTCP)
			}
			c := startCluster(t, 3, opts...)
			rng := rand.New(rand.NewPCG(1, 2))
			for _, strong := range []bool{true, false} {
				misses, looks, failed := 0, 0, 0
				for i := range 1000 {
					node := c.names[rng.IntN(3)]
					name := fmt.Sprintf("t%d-%v", i, strong)
					p := ppid(node, uint64(i+1))
					ctx := ctxT(t, 10*time.Second)
					var err error
					if strong {
						err = c.reg(node).RegisterStrong(ctx, name, p)
					} else {
						err = c.reg(node).Register(ctx, name, p)
					}
					if e := proc.AsError(err); e != nil && e.Retryable == msg.True && failed < 10 {
						failed++ // no leader for a moment (an election on a loaded machine): not a true return
						continue
					}
					if err != nil {
						t.Fatalf("trial %d: %v", i, err)
					}
					for _, other := range c.names {
						if other == node {
							continue
						}
						looks++
						if got, ok := c.reg(other).Resolve(name); !ok || got != p {
							misses++
						}
					}
				}
				scope := map[bool]string{true: "strong", false: "consistent"}[strong]
				t.Logf("%s over %s: %d of %d lookups elsewhere missed (%.2f%%); %d registrations failed retryably", scope, net, misses, looks, 100*float64(misses)/float64(looks), failed)
				if strong && misses != 0 {
					t.Fatalf("%d strong lookups missed", misses)
				}
			}
		})
	}
}

// TestStrongMissingNode: a node membership still reports up but that
// cannot be reached makes a STRONG registration fail within the apply
// timeout, naming it; the reservation is then aborted. Once membership
// declares it dead, registrations succeed without it.
func TestStrongMissingNode(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	away := fol[1]
	c.partition([]string{away}, []string{leader, fol[0]})
	ctx := ctxT(t, 30*time.Second)
	start := time.Now()
	err := c.reg(fol[0]).RegisterStrong(ctx, "lock", ppid(fol[0], 1))
	took := time.Since(start)
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || !strings.Contains(err.Error(), "not acknowledged by "+away) {
		t.Fatalf("register without %s: %v", away, err)
	}
	if took > c.reg(leader).cfg.ApplyTimeout+time.Second {
		t.Fatalf("took %v", took)
	}
	c.resolves(leader, "lock", pid.PID{})
	c.resolves(fol[0], "lock", pid.PID{})
	c.peers.set(away, true, MemberDead)
	if err := c.reg(fol[0]).RegisterStrong(ctx, "lock", ppid(fol[0], 2)); err != nil {
		t.Fatalf("register once %s is dead: %v", away, err)
	}
}

// TestStrongConflict: a node on which another plane binds the name to
// another process refuses the reservation at once; the registration fails
// ALREADY_EXISTS naming it, long before the deadline, and is aborted.
func TestStrongConflict(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	other := ppid(fol[1], 9)
	c.reg(fol[1]).SetConflictCheck(func(name string, p pid.PID) (pid.PID, string, bool) {
		return other, "eventual", name == "svc" && p != other
	})
	ctx := ctxT(t, 30*time.Second)
	start := time.Now()
	err := c.reg(fol[0]).RegisterStrong(ctx, "svc", ppid(fol[0], 1))
	if !errors.Is(err, registry.ErrAlreadyExists) || !strings.Contains(err.Error(), "eventual scope on "+fol[1]) {
		t.Fatalf("conflict: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a conflict took %v", took)
	}
	c.resolves(leader, "svc", pid.PID{})
	if err := c.reg(fol[0]).RegisterStrong(ctx, "svc", other); err != nil {
		t.Fatalf("the conflicting process itself: %v", err)
	}
}

// TestStrongMinority: a STRONG registration in a minority partition fails
// UNAVAILABLE within the apply timeout; the minority still resolves the
// names it knew.
func TestStrongMinority(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	ctx := ctxT(t, 30*time.Second)
	p := ppid(leader, 1)
	if err := c.reg(leader).RegisterStrong(ctx, "known", p); err != nil {
		t.Fatal(err)
	}
	c.partition([]string{fol[0]}, []string{leader, fol[1]})
	start := time.Now()
	err := c.reg(fol[0]).RegisterStrong(ctx, "lost", ppid(fol[0], 2))
	if !errors.Is(err, registry.ErrUnavailable) || time.Since(start) > c.reg(leader).cfg.ApplyTimeout+time.Second {
		t.Fatalf("minority: %v after %v", err, time.Since(start))
	}
	if got, ok := c.reg(fol[0]).Resolve("known"); !ok || got != p {
		t.Fatalf("minority resolves %v %v", got, ok)
	}
}

// TestStrongExpiry: a reservation its node never finished (here proposed
// directly, with a deadline in the past) is aborted by the leader.
func TestStrongExpiry(t *testing.T) {
	c := startCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.ReconcileInterval = 50 * time.Millisecond
		cfg.ApplyTimeout = 500 * time.Millisecond
	}))
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 10*time.Second)
	p := ppid(leader, 1)
	res, err := c.reg(leader).change(ctx, fsmReserve("orphan", p, time.Now().Add(-time.Second)), true)
	if err != nil || res.err != nil {
		t.Fatal(err, res.err)
	}
	c.resolves(leader, "orphan", p)
	c.resolves(leader, "orphan", pid.PID{})
	// Kill a node holding a strong name: released everywhere.
	fol := c.followers(leader)
	q := ppid(fol[0], 2)
	if err := c.reg(fol[0]).RegisterStrong(ctx, "held", q); err != nil {
		t.Fatal(err)
	}
	c.kill(fol[0])
	c.peers.set(fol[0], true, MemberDead)
	c.resolves(leader, "held", pid.PID{})
	c.resolves(fol[1], "held", pid.PID{})
}

func fsmReserve(name string, p pid.PID, deadline time.Time) fsm.Reserve {
	return fsm.Reserve{Name: name, PID: p, Deadline: uint64(deadline.UnixNano())}
}

// TestStrongAckRetried: a node that cannot acknowledge yet (every slot
// for other nodes' requests taken: it answers busy) is asked again until
// the deadline, so the registration succeeds once it can answer, instead
// of waiting out the deadline and failing UNAVAILABLE naming it.
func TestStrongAckRetried(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	busy := c.reg(fol[1])
	for range cap(busy.fwdSlots) {
		busy.fwdSlots <- struct{}{}
	}
	refused := busy.Stats().ForwardedBusy
	done := make(chan error, 1)
	go func() {
		done <- c.reg(fol[0]).RegisterStrong(ctxT(t, 30*time.Second), "retried", ppid(fol[0], 1))
	}()
	await.Until(t, "the busy node refuses an acknowledgement", func() bool {
		return busy.Stats().ForwardedBusy > refused
	})
	for range cap(busy.fwdSlots) {
		<-busy.fwdSlots
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("register after the node could answer: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("register did not return")
	}
	c.resolves(fol[1], "retried", ppid(fol[0], 1))
}

// The leader's commit notice makes followers apply an entry at once,
// without a further entry: with raft's idle commit notice a minute away,
// a CONSISTENT register (which sends none) stays unapplied on the
// followers until notifyCommit tells them. A notice for an entry a
// follower does not hold is refused.
func TestCommitNotice(t *testing.T) {
	c := startCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.CommitTimeout = time.Minute
		cfg.ReconcileInterval = time.Hour
	}))
	leader := c.waitLeader(c.names...)
	l := c.reg(leader)
	ctx := ctxT(t, 20*time.Second)
	if err := l.Register(ctx, "notice", ppid(leader, 1)); err != nil {
		t.Fatal(err)
	}
	e := l.lead.Load()
	if e == nil {
		t.Fatal("the leader lost its leadership")
	}
	index := l.table.index()
	// A follower still writing the entry (the leader committed it with the
	// other one) refuses the notice: it is sent again then.
	var refused chan struct{}
	notify := func() {
		ch := make(chan struct{}, 1)
		refused = ch
		l.notifyCommit(e, index, func() { ch <- struct{}{} })
	}
	notify()
	await.Within(t, 20*time.Second, "both followers apply the notified index", func() bool {
		select {
		case <-refused:
			notify()
			return false
		default:
		}
		for _, f := range c.followers(leader) {
			if c.reg(f).table.index() < index {
				return false
			}
		}
		return true
	})
	for _, f := range c.followers(leader) {
		if got, ok := c.reg(f).Resolve("notice"); !ok || got != ppid(leader, 1) {
			t.Fatalf("%s resolves %v %v", f, got, ok)
		}
	}
	far := make(chan struct{}, 1)
	l.notifyCommit(e, index+100, func() { far <- struct{}{} })
	select {
	case <-far:
	case <-time.After(10 * time.Second):
		t.Fatal("the notice of an entry no follower holds was not refused")
	}
	for _, f := range c.followers(leader) {
		if got := c.reg(f).table.index(); got > index {
			t.Fatalf("%s applied up to %d after a refused notice for %d", f, got, index+100)
		}
	}
}
