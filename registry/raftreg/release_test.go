package raftreg

import (
	"context"
	"errors"
	"github.com/hashicorp/raft"
	"slices"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

func TestReleasePID(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	ctx := ctxT(t, 20*time.Second)
	p := ppid(f, 1)
	for _, n := range []string{"a", "b", "c"} {
		if err := c.reg(f).Register(ctx, n, p); err != nil {
			t.Fatal(err)
		}
	}
	other := ppid(f, 2)
	if err := c.reg(f).Register(ctx, "other", other); err != nil {
		t.Fatal(err)
	}
	// Right after the registers (the local replica may not have applied
	// them yet) the process ends.
	c.reg(f).ReleasePID(p)
	c.reg(f).ReleasePID(p) // deduplicated
	for _, n := range []string{"a", "b", "c"} {
		for _, node := range c.names {
			c.resolves(node, n, pid.PID{})
		}
	}
	if got, err := c.reg(leader).Lookup(ctx, "other"); err != nil || got != other {
		t.Fatalf("unrelated name: %v %v", got, err)
	}
	// A process that held nothing costs nothing.
	before := c.reg(f).Stats().ForwardedOut
	for i := range 100 {
		c.reg(f).ReleasePID(ppid(f, uint64(1000+i)))
	}
	if c.reg(f).rel.pending() != 0 || c.reg(f).Stats().ForwardedOut != before {
		t.Fatal("releases proposed for processes without names")
	}
}

// TestReleaseRetried: a process ends while its node is cut off; the
// release commits after the partition heals.
func TestReleaseRetried(t *testing.T) {
	c := startCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.ApplyTimeout = 300 * time.Millisecond
		cfg.ReleaseBackoffMax = 200 * time.Millisecond
	}))
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	rest := []string{leader, c.followers(leader)[1]}
	ctx := ctxT(t, 20*time.Second)
	p := ppid(f, 1)
	if err := c.reg(f).Register(ctx, "svc", p); err != nil {
		t.Fatal(err)
	}
	c.resolves(f, "svc", p)
	c.partition([]string{f}, rest)
	c.reg(f).ReleasePID(p)
	await.Within(t, 10*time.Second, "three failed attempts", func() bool {
		q := &c.reg(f).rel
		q.mu.Lock()
		defer q.mu.Unlock()
		j := q.jobs[jobKey{kind: jobReleasePID, pid: p}]
		return j != nil && j.attempts >= 3
	})
	if got, ok := c.reg(leader).Resolve("svc"); !ok || got != p {
		t.Fatalf("released without quorum? %v %v", got, ok)
	}
	if c.reg(f).rel.pending() != 1 {
		t.Fatalf("pending releases: %d", c.reg(f).rel.pending())
	}
	c.heal([]string{f}, rest)
	for _, node := range c.names {
		c.resolves(node, "svc", pid.PID{})
	}
	await.Within(t, 5*time.Second, "empty release queue", func() bool { return c.reg(f).rel.pending() == 0 })
}

// TestReleaseNode: membership declares a node dead; the leader releases
// its names (and removes it from the voters), whether or not the runtime
// also calls ReleaseNode.
func TestReleaseNode(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	ctx := ctxT(t, 20*time.Second)
	for i, n := range []string{"x", "y"} {
		if err := c.reg(f).Register(ctx, n, ppid(f, uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	keep := ppid(leader, 9)
	if err := c.reg(leader).Register(ctx, "keep", keep); err != nil {
		t.Fatal(err)
	}
	c.kill(f)
	// A follower's ReleaseNode does nothing; the leader's membership
	// decides.
	c.reg(c.followers(leader)[0]).ReleaseNode(f)
	c.peers.set(f, true, MemberDead)
	for _, node := range c.running() {
		c.resolves(node, "x", pid.PID{})
		c.resolves(node, "y", pid.PID{})
	}
	if got, err := c.reg(leader).Lookup(ctx, "keep"); err != nil || got != keep {
		t.Fatalf("names of live nodes kept: %v %v", got, err)
	}
	// Of three voters, the dead one stays: nothing can replace it, and
	// two of two would tolerate no more failures than two of three.
	await.Never(t, 2*time.Second, "the dead voter of three was removed", func() bool {
		return c.servers(leader)[f] != raft.Voter
	})
}

// TestReconcileByNewLeader: a node dies while membership changes are not
// seen by the leader (nothing tells it); the leader dies too. The next
// leader releases the dead node's names when it takes over.
func TestReconcileByNewLeader(t *testing.T) {
	c := startCluster(t, 5, withConfig(func(cfg *Config) { cfg.ReconcileInterval = time.Hour }))
	ctx := ctxT(t, 20*time.Second)
	// Five voters, and the leader's last reconciliation round is over:
	// from here on only a membership notification or a new leader starts
	// one. The leader is looked for each time: on a loaded machine a
	// leader can lose its lease and another take over.
	var leader string
	var e *epoch
	await.Within(t, 10*time.Second, "five voters, a leader settled", func() bool {
		for _, name := range c.names {
			r := c.reg(name)
			if e = r.lead.Load(); e != nil && leads(e) && countVoters(c.servers(name)) == 5 && !r.settling.Load() {
				leader = name
				return true
			}
		}
		return false
	})
	fol := c.followers(leader)
	victim := fol[0]
	if err := c.reg(victim).Register(ctx, "v", ppid(victim, 1)); err != nil {
		t.Fatal(err)
	}
	c.kill(victim)
	c.peers.quiet(victim, true, MemberDead) // no notification: nobody reconciles now
	await.Never(t, 200*time.Millisecond, "released before any reconciliation", func() bool {
		// A release in a later term is the reconciliation of a new
		// leader; in e's term it would be one without any.
		_, ok := c.reg(leader).Resolve("v")
		return !ok && c.reg(leader).raft().CurrentTerm() == e.term
	})
	c.kill(leader)
	c.peers.quiet(leader, true, MemberDead)
	nl := c.waitLeader(fol[1:]...)
	for _, node := range c.running() {
		c.resolves(node, "v", pid.PID{})
	}
	t.Logf("new leader %s released the names of %s", nl, victim)
}

// leads reports whether e's leader is ready (its no-op applied).
func leads(e *epoch) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// TestRevoke: a node wrongly declared dead loses its names; when it comes
// back, its processes that held them are told (revoke callback) and the
// node is a voter still (of three, nothing replaced it).
func TestRevoke(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	rest := []string{leader, c.followers(leader)[1]}
	ctx := ctxT(t, 30*time.Second)
	p := ppid(f, 7)
	for _, n := range []string{"r1", "r2"} {
		if err := c.reg(f).Register(ctx, n, p); err != nil {
			t.Fatal(err)
		}
	}
	c.resolves(f, "r2", p)
	c.partition([]string{f}, rest)
	c.peers.set(f, true, MemberDead)
	c.resolves(leader, "r1", pid.PID{})
	// It stays a voter (of three, nothing replaces it).
	if c.servers(leader)[f] != raft.Voter {
		t.Fatalf("%s is no voter: %v", f, c.servers(leader))
	}
	// Someone else takes a name meanwhile.
	q := ppid(leader, 8)
	if err := c.reg(leader).Register(ctx, "r1", q); err != nil {
		t.Fatal(err)
	}
	c.heal([]string{f}, rest)
	c.peers.set(f, true, MemberAlive)
	var got []string
	for len(got) < 2 {
		select {
		case s := <-c.node(f).revoked:
			got = append(got, s)
		case <-ctx.Done():
			t.Fatalf("revokes: %v", got)
		}
	}
	slices.Sort(got)
	want := []string{"r1 " + p.String(), "r2 " + p.String()}
	if !slices.Equal(got, want) {
		t.Fatalf("revoked %v, want %v", got, want)
	}
	c.resolves(f, "r1", q)
	await.Within(t, 5*time.Second, "voter again", func() bool { return c.servers(leader)[f] == 0 && len(c.servers(leader)) == 3 })
	// Nobody else got a revoke.
	for _, n := range rest {
		select {
		case s := <-c.node(n).revoked:
			t.Fatalf("%s got revoke %s", n, s)
		default:
		}
	}
}

// TestUnknownOutcomeUndone: a register whose commit comes after the
// caller's deadline reports an unknown outcome, and the registry then
// releases the name again: it ends free.
func TestUnknownOutcomeUndone(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 20*time.Second)
	// Slow the leader's links so a commit takes longer than the caller
	// waits, yet less than the leader lease... the leader lease counts
	// from the responses, so delay only the followers' answers a little.
	for _, f := range c.followers(leader) {
		c.mn.Delay(f, leader, 60*time.Millisecond)
	}
	p := ppid(leader, 1)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	err := c.reg(leader).Register(short, "u", p)
	cancel()
	if !errors.Is(err, registry.ErrUnknownOutcome) {
		t.Fatalf("register: %v, want unknown outcome", err)
	}
	for _, f := range c.followers(leader) {
		c.mn.Delay(f, leader, 0)
	}
	for _, node := range c.names {
		c.resolves(node, "u", pid.PID{})
	}
	await.Within(t, 5*time.Second, "empty release queue", func() bool { return c.reg(leader).rel.pending() == 0 })
	if s := c.reg(leader).Stats(); s.Unknown == 0 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestExpiredForwardNotProposed: a forwarded register that reaches the
// leader after its sender's deadline is never proposed.
func TestExpiredForwardNotProposed(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	ctx := ctxT(t, 20*time.Second)
	fwdIn, stray := c.reg(leader).Stats().ForwardedIn, c.reg(f).Stats().StrayReplies
	c.mn.Delay(f, leader, 150*time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err := c.reg(f).Register(short, "late", ppid(f, 1))
	cancel()
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("register: %v", err)
	}
	// The leader served the request (its answer reached f after f gave
	// up) without proposing it.
	await.Within(t, 10*time.Second, "the leader's late answer", func() bool {
		return c.reg(leader).Stats().ForwardedIn >= fwdIn+1 && c.reg(f).Stats().StrayReplies >= stray+1
	})
	c.mn.Delay(f, leader, 0)
	if _, ok := c.reg(leader).Resolve("late"); ok {
		t.Fatal("an expired request was applied")
	}
	p := ppid(leader, 2)
	if err := c.reg(leader).Register(ctx, "late", p); err != nil {
		t.Fatalf("register after: %v", err)
	}
	// f's conditional unregister (if the outcome was unknown) has run and
	// must not have removed the name.
	await.Within(t, 10*time.Second, "f's release queue empty", func() bool { return c.reg(f).rel.pending() == 0 })
	if got, err := c.reg(f).Lookup(ctx, "late"); err != nil || got != p {
		t.Fatalf("lookup: %v %v", got, err)
	}
}

// TestClaimReleasesEndedProcess: another node registers a name for a
// process of f that has already ended (f's ReleasePID found nothing to
// release then). When f's replica applies the registration, OnClaim
// tells it; its runtime finds no such process and releases the name.
func TestClaimReleasesEndedProcess(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	other := c.followers(leader)[1]
	ctx := ctxT(t, 20*time.Second)
	live, dead := ppid(f, 1), ppid(f, 2)
	claims := make(chan string, 16)
	c.reg(f).OnClaim(func(name string, p pid.PID) {
		claims <- name + " " + p.String()
		if p != live {
			c.reg(f).ReleasePID(p) // what the runtime does for a PID it does not run
		}
	})
	c.reg(f).ReleasePID(dead) // ended, holding nothing yet
	if err := c.reg(other).Register(ctx, "kept", live); err != nil {
		t.Fatal(err)
	}
	if err := c.reg(other).Register(ctx, "stale", dead); err != nil {
		t.Fatal(err)
	}
	if err := c.reg(leader).Register(ctx, "elsewhere", ppid(other, 1)); err != nil {
		t.Fatal(err)
	}
	for _, node := range c.names {
		c.resolves(node, "stale", pid.PID{})
		c.resolves(node, "kept", live)
		c.resolves(node, "elsewhere", ppid(other, 1))
	}
	got := []string{<-claims, <-claims}
	slices.Sort(got)
	if want := []string{"kept " + live.String(), "stale " + dead.String()}; !slices.Equal(got, want) {
		t.Fatalf("claims %v, want %v", got, want)
	}
	select {
	case extra := <-claims:
		t.Fatalf("claim for a name of another node's process: %s", extra)
	default:
	}
}
