package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func clusterNode(t *testing.T, name string, join ...string) *Node {
	t.Helper()
	return clusterNodeWith(t, name, func(*Config) {}, join...)
}

func clusterNodeWith(t *testing.T, name string, mod func(*Config), join ...string) *Node {
	t.Helper()
	cfg := clusterConfig(name, join...)
	mod(&cfg)
	return startTestNode(t, cfg, WithLogger(testLogger(t)))
}

// clusterConfig is the config of a test cluster node named name, joining
// through join (none: the first node).
func clusterConfig(name string, join ...string) Config {
	cfg := LoopbackConfig(name)
	cfg.Node.Workers = 2
	cfg.Cluster.Enabled = true
	cfg.Cluster.Raft.Enabled = false
	cfg.Cluster.Membership.JoinAddrs = join
	return cfg
}

// startTestNode builds and starts a node, stopped when the test ends.
func startTestNode(t *testing.T, cfg Config, opts ...Option) *Node {
	t.Helper()
	n, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	return n
}

// Two nodes find each other through memberlist, exchange messages over the
// internode transport, and a monitor across them fires with noconnection
// when the other node goes away.
func TestTwoNodesMessageAndNodeDown(t *testing.T) {
	a := clusterNode(t, "a")
	b := clusterNode(t, "b", a.MembershipAddr())
	await.Until(t, "both see two members and route to each other", func() bool {
		return len(a.Status().Members) == 2 && len(b.Status().Members) == 2 && a.Ready() && b.Ready() &&
			slices.Equal(a.Nodes(), []string{"b"}) && slices.Equal(b.Nodes(), []string{"a"})
	})
	got := make(chan native.Message, 1)
	recv, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		got <- m
		return c.Send(m.From, "pong", m.Payload)
	}))})
	if err != nil {
		t.Fatal(err)
	}
	pongs := make(chan native.Message, 1)
	events := make(chan native.Event, 1)
	sender, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&remoteClient{target: recv, pongs: pongs, events: events})})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.From != sender || m.Topic != "ping" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("message never crossed nodes\na: %+v\n%+v\nb: %+v\n%+v\ntransport a %+v\ntransport b %+v", a.Runtime().Counters(), a.cluster.cl.Stats(),
			b.Runtime().Counters(), b.cluster.cl.Stats(), a.cluster.ep.Stats(), b.cluster.ep.Stats())
	}
	select {
	case m := <-pongs:
		if v, _ := m.Payload.AsInt(); v != 7 || m.From != recv {
			t.Fatalf("pong %+v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("reply never came back")
	}
	// a goes away abruptly: b's monitor of the process on a fires once.
	a.Isolate()
	select {
	case e := <-events:
		if e.Kind != proc.DeliveryExit || e.From != recv || !errors.Is(e.Err, proc.ErrNoConnection) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("monitor never fired after the node went down")
	}
	if got := b.Nodes(); len(got) != 0 {
		t.Fatalf("b still routes to %v after a went down", got)
	}
}

// remoteClient monitors a remote process, pings it and reports.
type remoteClient struct {
	target pid.PID
	pongs  chan native.Message
	events chan native.Event
}

func (r *remoteClient) Init(c *native.Ctx, _ []msg.Value) error {
	if err := c.Monitor(r.target); err != nil {
		return err
	}
	return c.Send(r.target, "ping", msg.Int(7))
}

func (r *remoteClient) HandleMessage(c *native.Ctx, m native.Message) error {
	r.pongs <- m
	return nil
}

func (r *remoteClient) HandleEvent(c *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryCancel {
		c.Stop(msg.Nil)
		return nil
	}
	r.events <- e
	return nil
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("WIPPY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Three nodes with Raft: a consistent name registered on one is resolved
// linearizably and by send on the others, and released when its process
// ends.
func TestConsistentNamesAcrossNodes(t *testing.T) {
	raft := func(c *Config) { c.Cluster.Raft.Enabled = true } // in memory, three voters
	a := clusterNodeWith(t, "a", raft)
	b := clusterNodeWith(t, "b", raft, a.MembershipAddr())
	c := clusterNodeWith(t, "c", raft, a.MembershipAddr())
	await.Until(t, "three ready nodes with a Raft leader", func() bool {
		return a.Ready() && b.Ready() && c.Ready() && a.cluster.cl.PeerUp("c") && c.cluster.cl.PeerUp("a")
	})
	got := make(chan native.Message, 1)
	owner, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		got <- m
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.cluster.names.Register(ctx, "svc", owner); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := c.cluster.names.Register(ctx, "svc", pid.PID{Node: "c", Host: DefaultHost, Seq: 1}); proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("second register of a taken name: %v", err)
	}
	for _, n := range []*Node{a, b, c} {
		if p, err := n.cluster.names.Lookup(ctx, "svc"); err != nil || p != owner {
			t.Fatalf("linearizable lookup on %s: %v %v", n.cfg.Node.Name, p, err)
		}
	}
	await.Until(t, "c's replica has the name", func() bool {
		p, ok := c.cluster.names.Resolve("svc")
		return ok && p == owner
	})
	if err := c.Runtime().SendName(pid.PID{}, "svc", "hello", msg.Int(1)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Topic != "hello" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("send by consistent name never arrived")
	}
	a.Runtime().Terminate(owner)
	await.NoError(t, "the name released when its process ended", func() error {
		if _, err := b.Runtime().Lookup("svc"); proc.AsError(err) == nil || proc.AsError(err).Kind != proc.KindNotFound {
			return fmt.Errorf("lookup: %v", err)
		}
		return nil
	})
	// A name registered through a third node for a process of b that has
	// already ended (b released its names at exit, finding none) is
	// released when b's replica applies it.
	gone, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		t.Fatal(err)
	}
	b.Runtime().Terminate(gone)
	await.Until(t, "the process ended", func() bool { return !b.Runtime().Alive(gone) })
	if err := c.cluster.names.Register(ctx, "late", gone); err != nil {
		t.Fatalf("register for an ended process: %v", err)
	}
	await.Until(t, "the name of the ended process released everywhere", func() bool {
		for _, n := range []*Node{a, b, c} {
			if _, ok := n.cluster.names.Resolve("late"); ok {
				return false
			}
		}
		return true
	})
	// A process registers through its Env; another process of another node
	// cannot unregister it; the owner can.
	results := make(chan error, 4)
	claimant, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		switch m.Topic {
		case "claim":
			results <- ctx.RegisterIn("job", proc.ScopeConsistent)
		case "drop":
			results <- ctx.Unregister("job", proc.ScopeConsistent)
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		switch m.Topic {
		case "claim":
			results <- ctx.RegisterIn("job", proc.ScopeConsistent)
		case "drop":
			results <- ctx.Unregister("job", proc.ScopeConsistent)
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	step := func(who pid.PID, rt interface {
		Send(from, to pid.PID, topic string, payload msg.Value) error
	}, topic, wantKind string) {
		t.Helper()
		rt.Send(pid.PID{}, who, topic, msg.Nil)
		select {
		case err := <-results:
			if kind := ""; err != nil {
				kind = proc.AsError(err).Kind
				if kind != wantKind {
					t.Fatalf("%s: %v, want %s", topic, err, wantKind)
				}
			} else if wantKind != "" {
				t.Fatalf("%s succeeded, want %s", topic, wantKind)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no answer", topic)
		}
	}
	step(claimant, b.Runtime(), "claim", "")
	step(other, c.Runtime(), "claim", proc.KindAlreadyExists)
	step(other, c.Runtime(), "drop", proc.KindPermissionDenied)
	step(claimant, b.Runtime(), "drop", "")
	step(other, c.Runtime(), "claim", "")
	if st := a.Status(); st.Raft == nil || st.Raft.Leader == "" {
		t.Fatalf("status raft %+v", st.Raft)
	}
}
