package raftreg

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
)

// TestMaxVotersAndClients: with max_voters 3, four voter-eligible nodes
// give three voters and a non-voter; a client node (run -x) is a
// non-voter with a replica; when a voter dies the non-voter is promoted.
func TestMaxVotersAndClients(t *testing.T) {
	c := newCluster(t, 5, withConfig(func(cfg *Config) { cfg.MaxVoters = 3 }))
	for _, name := range c.names[:4] {
		c.start(name)
	}
	client := c.config("n5")
	client.Voter = false
	c.startWith("n5", client)
	leader := c.waitLeader(c.names...)
	want := func(s map[string]raft.ServerSuffrage) bool {
		return len(s) == 5 && countVoters(s) == 3 && s["n5"] == raft.Nonvoter
	}
	await.Within(t, 10*time.Second, "three voters, two non-voters", func() bool { return want(c.servers(leader)) })
	s := c.servers(leader)
	// The lowest names are the voters (n4 joined as a non-voter).
	if s["n4"] != raft.Nonvoter {
		t.Fatalf("configuration %v", s)
	}
	ctx := ctxT(t, 20*time.Second)
	p := ppid("n5", 1)
	if err := c.reg("n5").Register(ctx, "from-client", p); err != nil {
		t.Fatalf("register from a client node: %v", err)
	}
	c.resolves("n5", "from-client", p)
	// A voter dies: the non-voter n4 takes its place.
	var victim string
	for _, n := range c.followers(leader) {
		if s[n] == raft.Voter {
			victim = n
			break
		}
	}
	c.kill(victim)
	c.peers.set(victim, true, MemberDead)
	await.Within(t, 10*time.Second, "n4 promoted", func() bool {
		s := c.servers(leader)
		_, in := s[victim]
		return !in && s["n4"] == raft.Voter && countVoters(s) == 3
	})
}

// TestSnapshotInstall: a follower that missed more than the trailing logs
// gets a snapshot, in chunks, over the raft stream.
func TestSnapshotInstall(t *testing.T) {
	c := startCluster(t, 3, withConfig(func(cfg *Config) {
		cfg.SnapshotThreshold = 32
		cfg.TrailingLogs = 8
		cfg.SnapshotInterval = 20 * time.Millisecond
		cfg.SnapshotChunk = 1 << 10
	}))
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	c.kill(f) // in memory: it comes back empty
	ctx := ctxT(t, 30*time.Second)
	first := c.reg(leader).Stats().LastIndex + 1 // the entry of name-000
	for i := range 200 {
		if err := c.reg(leader).Register(ctx, fmt.Sprintf("name-%03d-%s", i, "padding-to-make-the-snapshot-span-chunks"), ppid(leader, uint64(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	// A snapshot is listed before the log behind it is compacted: wait for
	// the compaction, so that the log can no longer bring f name-000.
	await.Within(t, 10*time.Second, "the leader's log compacted past name-000", func() bool {
		fi, err := c.reg(leader).st.logs.FirstIndex()
		return err == nil && fi > first
	})
	c.start(f)
	for i := range 200 {
		c.resolves(f, fmt.Sprintf("name-%03d-%s", i, "padding-to-make-the-snapshot-span-chunks"), ppid(leader, uint64(i+1)))
	}
	// Raft restores the FSM before it records the snapshot's index.
	await.Within(t, 5*time.Second, "the installed snapshot recorded on the follower", func() bool {
		return c.reg(f).raft().Stats()["last_snapshot_index"] != "0"
	})
	if c.reg(f).Stats().RPCDropped != 0 {
		t.Fatalf("stats %+v", c.reg(f).Stats())
	}
}

func TestWatchAndList(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	ctx := ctxT(t, 20*time.Second)
	a := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	c.resolves(f, "a", a)
	w, err := c.reg(f).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := ppid(f, 2)
	if err := c.reg(f).Register(ctx, "b", b); err != nil {
		t.Fatal(err)
	}
	if err := c.reg(leader).Unregister(ctx, "a", a); err != nil {
		t.Fatal(err)
	}
	want := []registry.Event{
		{Kind: registry.EventRegistered, Cause: registry.CauseSync, Name: "a", PID: a},
		{Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: "b", PID: b},
		{Kind: registry.EventUnregistered, Cause: registry.CauseRequest, Name: "a", PID: a},
	}
	var last uint64
	for i, ev := range want {
		got := <-w.Events()
		if got.Index < last {
			t.Fatalf("index went back: %+v", got)
		}
		last = got.Index
		got.Index = 0
		if got != ev {
			t.Fatalf("event %d: %+v, want %+v", i, got, ev)
		}
	}
	list, err := c.reg(c.followers(leader)[1]).List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "b" || list[0].PID != b {
		t.Fatalf("list: %v %v", list, err)
	}
	w.Stop()
	if _, ok := <-w.Events(); ok {
		t.Fatal("events after stop")
	}
	if w.Err() != registry.ErrClosed {
		t.Fatalf("err %v", w.Err())
	}
	// A lagging watcher is dropped.
	lag, err := c.reg(f).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.reg(f).cfg.WatchBuffer = 1 // only read at Watch; the current one has 4096
	small, err := c.reg(f).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := c.reg(f).Register(ctx, fmt.Sprint("w", i), b); err != nil {
			t.Fatal(err)
		}
	}
	await.Within(t, 5*time.Second, "lagged", func() bool { return small.Err() == registry.ErrWatchLagged })
	if lag.Err() != nil {
		t.Fatal(lag.Err())
	}
	// Close ends the watchers.
	c.kill(f)
	if lag.Err() != registry.ErrClosed {
		t.Fatalf("after close: %v", lag.Err())
	}
}

func TestStats(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 10*time.Second)
	if err := c.reg(leader).Register(ctx, "s", ppid(leader, 1)); err != nil {
		t.Fatal(err)
	}
	s := c.reg(leader).Stats()
	if s.RaftState != uint8(raft.Leader) || s.Leader != leader || s.Names != 1 || s.CommitIndex == 0 || s.Term == 0 {
		t.Fatalf("leader stats %+v", s)
	}
	f := c.followers(leader)[0]
	c.resolves(f, "s", ppid(leader, 1))
	if s := c.reg(f).Stats(); s.RaftState != uint8(raft.Follower) || s.Names != 1 {
		t.Fatalf("follower stats %+v", s)
	}
}

func TestLifecycle(t *testing.T) {
	c := newCluster(t, 1, withConfig(func(cfg *Config) { cfg.BootstrapExpect = 1 }))
	cfg := c.config("n1")
	n := c.startWith("n1", cfg)
	ctx := ctxT(t, 10*time.Second)
	p := ppid("n1", 1)
	if err := n.reg.Register(ctx, "solo", p); err != nil {
		t.Fatalf("single node: %v", err)
	}
	if got, err := n.reg.Lookup(ctx, "solo"); err != nil || got != p {
		t.Fatalf("lookup: %v %v", got, err)
	}
	if err := n.reg.Start(); err != ErrStarted {
		t.Fatalf("second start: %v", err)
	}
	c.kill("n1")
	if err := n.reg.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := n.reg.Register(ctx, "x", p); !isClosed(err) {
		t.Fatalf("register after close: %v", err)
	}
	if _, err := n.reg.Lookup(ctx, "x"); !isClosed(err) {
		t.Fatalf("lookup after close: %v", err)
	}
	if _, err := n.reg.Watch(ctx); !isClosed(err) {
		t.Fatalf("watch after close: %v", err)
	}
	if s := n.reg.Stats(); s.RaftState != uint8(raft.Shutdown) {
		t.Fatalf("stats after close %+v", s)
	}
	n.reg.ReleasePID(p) // no-op, no panic
	// Before Start: unavailable, retryable.
	fresh, err := New(c.config("n1"), nopStreams{}, newPeerTable())
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Register(ctx, "x", p); !isUnavailable(err) {
		t.Fatalf("before start: %v", err)
	}
	if err := fresh.Close(); err != nil {
		t.Fatal(err)
	}
}

func isClosed(err error) bool      { return errorsIs(err, registry.ErrClosed) }
func isUnavailable(err error) bool { return errorsIs(err, registry.ErrUnavailable) }
