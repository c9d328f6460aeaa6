package node

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func clusterNode(t *testing.T, name string, join ...string) *Node {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Node.Name = name
	cfg.Node.Workers = 2
	cfg.Admin.Addr = ""
	cfg.Cluster.Enabled = true
	cfg.Cluster.Raft.Enabled = false
	cfg.Cluster.Membership.BindAddr = "127.0.0.1"
	cfg.Cluster.Membership.BindPort = 0
	cfg.Cluster.Membership.Profile = "fast"
	cfg.Cluster.Membership.JoinAddrs = join
	cfg.Cluster.Internode.Port = 0
	n, err := New(cfg, WithLogger(testLogger(t)))
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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// Two nodes find each other through memberlist, exchange messages over the
// internode transport, and a monitor across them fires with noconnection
// when the other node goes away.
func TestTwoNodesMessageAndNodeDown(t *testing.T) {
	a := clusterNode(t, "a")
	b := clusterNode(t, "b", a.MembershipAddr())
	eventually(t, "both see two members and route to each other", func() bool {
		return len(a.Status().Members) == 2 && len(b.Status().Members) == 2 && a.Ready() && b.Ready() &&
			a.cluster.cl.PeerUp("b") && b.cluster.cl.PeerUp("a")
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
	a.cluster.ml.Shutdown()
	a.cluster.ep.Close()
	select {
	case e := <-events:
		if e.Kind != proc.DeliveryExit || e.From != recv || !errors.Is(e.Err, proc.ErrNoConnection) {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("monitor never fired after the node went down")
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
