package raftreg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// resolves waits until name resolves to want (zero: to nothing) on the
// local replica of node.
func (c *cluster) resolves(node, name string, want pid.PID) {
	c.t.Helper()
	await.Within(c.t, 5*time.Second, fmt.Sprintf("%s resolving %q to %v", node, name, want), func() bool {
		got, ok := c.reg(node).Resolve(name)
		return got == want && ok == !want.IsZero()
	})
}

func TestLeaderFailover(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 20*time.Second)
	p := ppid("n1", 1)
	if err := c.reg(leader).Register(ctx, "before", p); err != nil {
		t.Fatal(err)
	}
	c.kill(leader)
	rest := c.running()
	start := time.Now()
	// A register from a survivor succeeds once a new leader is elected.
	q := ppid(rest[0], 2)
	if err := c.reg(rest[0]).Register(ctx, "after", q); err != nil {
		t.Fatalf("register after failover: %v", err)
	}
	t.Logf("register succeeded %v after the leader died", time.Since(start))
	nl := c.waitLeader(rest...)
	if nl == leader {
		t.Fatalf("dead node %s still leads", leader)
	}
	for _, name := range rest {
		for n, want := range map[string]pid.PID{"before": p, "after": q} {
			got, err := c.reg(name).Lookup(ctx, n)
			if err != nil || got != want {
				t.Fatalf("%s: lookup %s = %v, %v; want %v", name, n, got, err, want)
			}
		}
	}
}

func TestMinorityPartition(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	minority, majority := fol[0], []string{leader, fol[1]}
	ctx := ctxT(t, 30*time.Second)
	old := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "old", old); err != nil {
		t.Fatal(err)
	}
	c.resolves(minority, "old", old)
	c.partition([]string{minority}, majority)

	// The minority cannot register: UNAVAILABLE, retryable, within the
	// apply timeout (2s here) plus scheduling slack, never a hang.
	start := time.Now()
	err := c.reg(minority).Register(ctx, "lost", ppid(minority, 2))
	took := time.Since(start)
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("minority register: %v, want unavailable", err)
	}
	if e := proc.AsError(err); e.Kind != proc.KindUnavailable || e.Retryable != msg.True {
		t.Fatalf("minority register error %+v", e)
	}
	if took > c.reg(minority).cfg.ApplyTimeout+time.Second {
		t.Fatalf("minority register took %v", took)
	}
	// Nor read linearizably.
	if _, err := c.reg(minority).Lookup(ctx, "old"); !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("minority lookup: %v", err)
	}
	// But it still resolves from its replica.
	if got, ok := c.reg(minority).Resolve("old"); !ok || got != old {
		t.Fatalf("minority resolve: %v %v", got, ok)
	}
	// The majority carries on.
	nw := ppid(fol[1], 3)
	if err := c.reg(fol[1]).Register(ctx, "new", nw); err != nil {
		t.Fatalf("majority register: %v", err)
	}
	if got, ok := c.reg(minority).Resolve("new"); ok {
		t.Fatalf("minority resolved a name registered while cut off: %v", got)
	}

	c.heal([]string{minority}, majority)
	c.resolves(minority, "new", nw)
	c.waitLeader(c.names...)
	got, err := c.reg(minority).Lookup(ctx, "new")
	if err != nil || got != nw {
		t.Fatalf("lookup after heal: %v %v", got, err)
	}
	// The register of unknown outcome made while cut off was undone (or
	// never happened): the name is free, and takes a new register.
	c.resolves(minority, "lost", pid.PID{})
	if err := c.reg(minority).Register(ctx, "lost", ppid(minority, 4)); err != nil {
		t.Fatalf("register after heal: %v", err)
	}
}

func TestLeaderCutOff(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	fol := c.followers(leader)
	ctx := ctxT(t, 30*time.Second)
	c.partition([]string{leader}, fol)
	start := time.Now()
	err := c.reg(leader).Register(ctx, "x", ppid(leader, 1))
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("register on a cut-off leader: %v", err)
	}
	t.Logf("cut-off leader failed in %v: %v", time.Since(start), err)
	nl := c.waitLeader(fol...)
	p := ppid(nl, 2)
	if err := c.reg(nl).Register(ctx, "x", p); err != nil {
		t.Fatalf("register on the new leader: %v", err)
	}
	c.heal([]string{leader}, fol)
	c.resolves(leader, "x", p)
	if got := c.waitLeader(c.names...); got == leader {
		t.Logf("old leader %s leads again", got)
	}
}

func TestNoQuorum(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 20*time.Second)
	p := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "kept", p); err != nil {
		t.Fatal(err)
	}
	for _, f := range c.followers(leader) {
		c.resolves(f, "kept", p)
	}
	fol := c.followers(leader)
	c.kill(fol[0])
	c.kill(fol[1])
	for _, name := range []string{leader} {
		start := time.Now()
		err := c.reg(name).Register(ctx, "y", ppid(name, 2))
		took := time.Since(start)
		if !errors.Is(err, registry.ErrUnavailable) || took > 3*time.Second {
			t.Fatalf("register without quorum: %v after %v", err, took)
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		start = time.Now()
		_, err = c.reg(name).Lookup(short, "kept")
		cancel()
		if !errors.Is(err, registry.ErrUnavailable) || time.Since(start) > time.Second {
			t.Fatalf("lookup without quorum: %v after %v", err, time.Since(start))
		}
		if got, ok := c.reg(name).Resolve("kept"); !ok || got != p {
			t.Fatalf("resolve without quorum: %v %v", got, ok)
		}
	}
}

func TestFiveNodesTwoFailures(t *testing.T) {
	c := startCluster(t, 5)
	leader := c.waitLeader(c.names...)
	// Every node holds the five-voter configuration before two die: the
	// leader's own (latest) one may not be replicated yet, and survivors
	// that only know four voters can never elect anyone.
	await.Within(t, 10*time.Second, "five voters on every node", func() bool {
		for _, name := range c.names {
			if countVoters(c.servers(name)) != 5 {
				return false
			}
		}
		return true
	})
	ctx := ctxT(t, 30*time.Second)
	fol := c.followers(leader)
	// Kill the leader and one follower.
	dead := []string{leader, fol[0]}
	for _, d := range dead {
		c.kill(d)
		c.peers.set(d, true, MemberDead)
	}
	rest := c.running()
	for i, name := range rest {
		p := ppid(name, uint64(i+1))
		if err := c.reg(name).Register(ctx, "k"+name, p); err != nil {
			t.Fatalf("register on %s with two nodes dead: %v", name, err)
		}
	}
	nl := c.waitLeader(rest...)
	// The dead are removed from the voters.
	await.Within(t, 10*time.Second, "three voters", func() bool {
		s := c.servers(nl)
		return countVoters(s) == 3 && s[dead[0]] == 0 && s[dead[1]] == 0 && len(s) == 3
	})
	for _, name := range rest {
		got, err := c.reg(rest[0]).Lookup(ctx, "k"+name)
		if err != nil || got.Node != name {
			t.Fatalf("lookup k%s: %v %v", name, got, err)
		}
	}
}

func countVoters(s map[string]raft.ServerSuffrage) int {
	n := 0
	for _, suf := range s {
		if suf == raft.Voter {
			n++
		}
	}
	return n
}

func TestRestartKeepsNames(t *testing.T) {
	c := startCluster(t, 3, onDisk)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 30*time.Second)
	want := map[string]pid.PID{}
	for i := range 20 {
		n := fmt.Sprintf("name%02d", i)
		p := ppid(c.names[i%3], uint64(i+1))
		if err := c.reg(c.names[i%3]).Register(ctx, n, p); err != nil {
			t.Fatal(err)
		}
		want[n] = p
	}
	// One follower restarts on its data dir and catches up on what it
	// missed.
	f := c.followers(leader)[0]
	c.kill(f)
	late := ppid(leader, 100)
	if err := c.reg(leader).Register(ctx, "late", late); err != nil {
		t.Fatal(err)
	}
	want["late"] = late
	c.start(f)
	c.resolves(f, "late", late)
	if c.reg(f).Stats().BadEntries != 0 {
		t.Fatal("bad entries")
	}
	// The whole cluster restarts: the names are all there, and nobody
	// bootstraps again.
	c.stopAll()
	for _, name := range c.names {
		c.start(name)
	}
	c.waitLeader(c.names...)
	// A restarted replica applies its log once a leader tells it the
	// commit index.
	for _, name := range c.names {
		for n, p := range want {
			c.resolves(name, n, p)
		}
		if s := c.servers(name); len(s) != 3 || countVoters(s) != 3 {
			t.Fatalf("%s: configuration after restart %v", name, s)
		}
	}
	got, err := c.reg(c.names[0]).Lookup(ctx, "late")
	if err != nil || got != late {
		t.Fatalf("lookup after restart: %v %v", got, err)
	}
}

// TestStartOrders starts three nodes one by one in every order, each with
// membership showing only the nodes started so far, with bootstrap_expect
// 3 and 1, and gaps between the starts shorter and longer than the
// stability window, and checks that they form one cluster with one
// configuration: one leader every node follows, three servers everywhere,
// and one bootstrap.
func TestStartOrders(t *testing.T) {
	orders := permutations([]string{"n1", "n2", "n3"})
	for _, expect := range []int{3, 1} {
		for _, gap := range []time.Duration{0, 30 * time.Millisecond, 250 * time.Millisecond} {
			for _, order := range orders {
				t.Run(fmt.Sprint(expect, gap, order), func(t *testing.T) {
					startOrder(t, expect, gap, order)
				})
			}
		}
	}
}

func startOrder(t *testing.T, expect int, gap time.Duration, order []string) {
	c := newCluster(t, 3, withConfig(func(cfg *Config) { cfg.BootstrapExpect = expect }))
	confs := recordConfs(c)
	for i, name := range order {
		if i > 0 && gap > 0 {
			time.Sleep(gap) // the earlier ones look around alone: the start order is the test
		}
		c.start(name)
	}
	leader := c.waitLeader(c.names...)
	for _, name := range c.names {
		await.Within(t, 10*time.Second, name+" sees three voters", func() bool {
			s := c.servers(name)
			return len(s) == 3 && countVoters(s) == 3
		})
	}
	ctx := ctxT(t, 10*time.Second)
	p := ppid(order[0], 1)
	if err := c.reg(order[0]).Register(ctx, "x", p); err != nil {
		t.Fatal(err)
	}
	for _, name := range c.names {
		c.resolves(name, "x", p)
	}
	// One bootstrap: every node's first configuration is the same.
	first := confs.of(leader)[0]
	for _, name := range c.names {
		got := confs.of(name)
		if len(got) == 0 || !slices.Equal(got[0].Servers, first.Servers) {
			t.Fatalf("%s began with %v, the leader %s with %v", name, got, leader, first.Servers)
		}
	}
	if expect == 1 && len(first.Servers) != 1 {
		t.Fatalf("bootstrap_expect 1 bootstrapped %v", first.Servers)
	}
}

func permutations(s []string) [][]string {
	if len(s) <= 1 {
		return [][]string{slices.Clone(s)}
	}
	var out [][]string
	for i := range s {
		rest := append(slices.Clone(s[:i]), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]string{s[i]}, p...))
		}
	}
	return out
}

// TestWipedNodeRejoins: a node restarted with an empty data dir does not
// bootstrap a cluster of its own (the others report Raft state); the
// leader brings it back up to date.
func TestWipedNodeRejoins(t *testing.T) {
	c := startCluster(t, 3, onDisk)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 20*time.Second)
	p := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "kept", p); err != nil {
		t.Fatal(err)
	}
	f := c.followers(leader)[0]
	c.kill(f)
	if err := os.RemoveAll(filepath.Join(c.dir, f)); err != nil {
		t.Fatal(err)
	}
	c.start(f)
	c.resolves(f, "kept", p)
	if got := c.waitLeader(c.names...); got == f {
		t.Fatalf("the wiped node leads")
	}
	// It may resolve from a copy fed while raft has not yet brought it the
	// configuration.
	await.Within(t, 10*time.Second, "the wiped node holds the configuration", func() bool {
		s := c.servers(f)
		return len(s) == 3 && countVoters(s) == 3
	})
}
