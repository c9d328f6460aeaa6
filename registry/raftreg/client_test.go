package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// withClient starts n1..n3 as members and n4 as a client, outside the
// Raft configuration, and returns the leader.
func withClient(t *testing.T, opts ...clusterOpt) (*cluster, string) {
	c := newCluster(t, 4, opts...)
	for _, name := range c.names[:3] {
		c.start(name)
	}
	leader := c.waitLeader(c.names[:3]...)
	cfg := c.config("n4")
	cfg.Client, cfg.Voter = true, false
	c.startWith("n4", cfg)
	return c, leader
}

// TestClientCopy: a node outside the Raft configuration resolves the
// CONSISTENT and STRONG names from a copy a member feeds it, writes
// through the leader, acknowledges STRONG reservations, and stays out of
// the configuration.
func TestClientCopy(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		t.Run(map[bool]string{false: "memnet", true: "tcp"}[tcp], func(t *testing.T) {
			var opts []clusterOpt
			if tcp {
				opts = append(opts, overTCP)
			}
			c, leader := withClient(t, opts...)
			cl := c.reg("n4")
			ctx := ctxT(t, 30*time.Second)
			a := ppid(leader, 1)
			if err := c.reg(leader).Register(ctx, "before", a); err != nil {
				t.Fatal(err)
			}
			c.resolves("n4", "before", a) // from the snapshot
			if err := c.reg(leader).Register(ctx, "after", a); err != nil {
				t.Fatal(err)
			}
			c.resolves("n4", "after", a) // from the pushed entries
			// A STRONG name waits for the client's acknowledgement too.
			if err := c.reg(leader).RegisterStrong(ctx, "lock", a); err != nil {
				t.Fatal(err)
			}
			if got, ok := cl.Resolve("lock"); !ok || got != a {
				t.Fatalf("the client does not resolve the strong name on return: %v %v", got, ok)
			}
			// Its own writes go to the leader.
			p := ppid("n4", 7)
			if err := cl.Register(ctx, "mine", p); err != nil {
				t.Fatal(err)
			}
			if err := cl.RegisterStrong(ctx, "mine-strong", p); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.names {
				if got, ok := c.reg(n).Resolve("mine-strong"); !ok || got != p {
					t.Fatalf("%s: %v %v", n, got, ok)
				}
			}
			if got, err := cl.Lookup(ctx, "mine"); err != nil || got != p {
				t.Fatalf("linearizable lookup on the client: %v %v", got, err)
			}
			if err := cl.Register(ctx, "before", p); !errors.Is(err, registry.ErrAlreadyExists) {
				t.Fatalf("a taken name from the client: %v", err)
			}
			cl.ReleasePID(p)
			c.resolves(leader, "mine", pid.PID{})
			c.resolves("n4", "mine-strong", pid.PID{})
			if _, in := c.servers(leader)["n4"]; in {
				t.Fatal("the client is in the Raft configuration")
			}
			s := cl.Stats()
			if s.RaftState != RaftClient || s.Leader != leader || s.CommitIndex == 0 {
				t.Fatalf("client stats %+v", s)
			}
			fed := 0
			for _, n := range c.names[:3] {
				fed += c.reg(n).Stats().Fed
			}
			if fed != 1 {
				t.Fatalf("%d members feed the client", fed)
			}
		})
	}
}

// TestClientFailover: the member feeding the client dies; the client
// subscribes to another and its copy keeps up.
func TestClientFailover(t *testing.T) {
	c, leader := withClient(t)
	ctx := ctxT(t, 30*time.Second)
	var feeder string
	await.Until(t, "a member feeds the client", func() bool {
		for _, n := range c.names[:3] {
			if c.reg(n).Stats().Fed == 1 {
				feeder = n
				return true
			}
		}
		return false
	})
	c.kill(feeder)
	c.peers.set(feeder, true, MemberDead)
	rest := without(c.names[:3], feeder)
	leader = c.waitLeader(rest...)
	p := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "later", p); err != nil {
		t.Fatal(err)
	}
	c.resolves("n4", "later", p)
	// And a write from the client finds the new leader.
	if err := c.reg("n4").Register(ctx, "client-later", ppid("n4", 2)); err != nil {
		t.Fatal(err)
	}
}

// TestClientPartition: a client cut off from every member keeps resolving
// what it knew; its writes fail within the apply timeout; after the heal
// it catches up.
func TestClientPartition(t *testing.T) {
	c, leader := withClient(t)
	ctx := ctxT(t, 30*time.Second)
	a := ppid(leader, 1)
	if err := c.reg(leader).Register(ctx, "known", a); err != nil {
		t.Fatal(err)
	}
	c.resolves("n4", "known", a)
	c.partition([]string{"n4"}, c.names[:3])
	start := time.Now()
	if err := c.reg("n4").Register(ctx, "cut", ppid("n4", 1)); !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("a write from a cut-off client: %v", err)
	}
	if took := time.Since(start); took > c.reg("n4").cfg.ApplyTimeout+time.Second {
		t.Fatalf("took %v", took)
	}
	if got, ok := c.reg("n4").Resolve("known"); !ok || got != a {
		t.Fatalf("a cut-off client forgot a name: %v %v", got, ok)
	}
	if err := c.reg(leader).Register(ctx, "meanwhile", a); err != nil {
		t.Fatal(err)
	}
	c.heal([]string{"n4"}, c.names[:3])
	c.resolves("n4", "meanwhile", a)
}

// TestClientLag measures how long after a register returns on the leader
// the client resolves the name (logged; docs/semantics.md quotes it).
func TestClientLag(t *testing.T) {
	c, leader := withClient(t, overTCP)
	ctx := ctxT(t, 60*time.Second)
	c.resolves("n4", "warm", pid.PID{})
	var lags []time.Duration
	for i := range 200 {
		name := fmt.Sprintf("lag-%d", i)
		p := ppid(leader, uint64(i+1))
		if err := c.reg(leader).Register(ctx, name, p); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for got, ok := c.reg("n4").Resolve(name); !ok || got != p; got, ok = c.reg("n4").Resolve(name) {
			if time.Since(start) > 10*time.Second {
				t.Fatalf("the client never resolved %s", name)
			}
			time.Sleep(20 * time.Microsecond)
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	t.Logf("a CONSISTENT register on the leader until the client resolves it, over TCP: p50 %v, p99 %v, max %v",
		lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
}

func TestFeedCodec(t *testing.T) {
	es := []fedEntry{{5, []byte{1, 2}}, {9, []byte{3}}}
	var w msgp.Writer
	w.WriteByte(feedEntries)
	w.Str("n1")
	w.Uint(4)
	w.ArrayHeader(len(es))
	for _, e := range es {
		w.Uint(e.index)
		w.Bin(e.data)
	}
	r := msgp.NewReader(w.B)
	p, err := decodePush(&r, 1<<10)
	if err != nil || p.leader != "n1" || p.prev != 4 || len(p.entries) != 2 || !bytes.Equal(p.entries[1].data, []byte{3}) {
		t.Fatalf("%+v %v", p, err)
	}
	// Out of order entries, and pages past the end, are refused.
	bad := bytes.Clone(w.B)
	bad[len(bad)-4] = 3 // the second index, 9, becomes 3
	r = msgp.NewReader(bad)
	if _, err := decodePush(&r, 1<<10); err == nil {
		t.Fatal("entries out of order decoded")
	}
	w = msgp.Writer{}
	w.WriteByte(feedSnapshot)
	w.Str("n1")
	w.Uint(7)
	w.Uint(2)
	w.Uint(2)
	w.Bin([]byte("x"))
	r = msgp.NewReader(w.B)
	if _, err := decodePush(&r, 1<<10); err == nil {
		t.Fatal("page 2 of 2 decoded")
	}
}

// FuzzFeed feeds arbitrary bodies to a client's push decoder.
func FuzzFeed(f *testing.F) {
	var w msgp.Writer
	w.WriteByte(feedEntries)
	w.Str("n1")
	w.Uint(1)
	w.ArrayHeader(1)
	w.Uint(2)
	w.Bin([]byte{1, 0xa1, 'x', 0xa2, 'n', '1', 0xa1, 'h', 1})
	f.Add(w.B)
	f.Add([]byte{feedReset})
	f.Add([]byte{feedSnapshot, 0xa2, 'n', '1', 1, 0, 1, 0xc4, 1, 'W'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := msgp.NewReader(b)
		p, err := decodePush(&r, 1<<10)
		if err != nil {
			return
		}
		for i := 1; i < len(p.entries); i++ {
			if p.entries[i].index <= p.entries[i-1].index {
				t.Fatalf("entries out of order accepted: %+v", p.entries)
			}
		}
	})
}
