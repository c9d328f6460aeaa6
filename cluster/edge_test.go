package cluster_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/clustertest"
	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
)

// TestRemoteSpawnTimeout: a spawn whose reply does not come in time is
// TIMEOUT; the reply that comes later is counted and dropped. A spawn
// waiting on a node that goes down fails at once with noconnection.
func TestRemoteSpawnTimeout(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Catalog(catalog()),
		clustertest.ClusterConfig(func(cc *cluster.Config) { cc.SpawnTimeout = 300 * time.Millisecond }))
	rt0 := c.Node(0).Runtime
	c.Partition(0, 1)
	start := time.Now()
	_, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:processes"})
	if errKind(err) != proc.KindTimeout || !errors.Is(err, cluster.ErrSpawnTimeout) {
		t.Fatalf("spawn across a partition: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("timed out after %v", d)
	}
	c.Heal()
	await.Until(t, "late reply", func() bool { return c.Node(0).Cluster.Stats().LateSpawnReplies == 1 })

	// n2 is cut off; the spawn waits; n2 is declared failed meanwhile.
	c.Partition(0, 2)
	done := make(chan error, 1)
	go func() {
		_, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n2@app:processes"})
		done <- err
	}()
	// Once the request is queued, fail the node.
	await.Until(t, "request sent", func() bool { return c.Node(0).Cluster.Stats().SpawnsSent == 2 })
	start = time.Now()
	c.Kill(2)
	select {
	case err := <-done:
		if errKind(err) != proc.KindUnavailable || !errors.Is(err, proc.ErrNoConnection) {
			t.Fatalf("spawn on a node that failed: %v", err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("failed only after %v", time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("spawn did not fail")
	}
}

// TestMalformedTraffic: frames that do not decode, envelopes for another
// node and envelopes claiming a process of a third node are dropped and
// counted; the session and the node carry on.
func TestMalformedTraffic(t *testing.T) {
	c := clustertest.New(t, 2)
	ep0, rt1 := c.Node(0).Endpoint, c.Node(1).Runtime
	p := newProbe()
	target := p.spawn(t, rt1)
	enc := wire.NewEncoder()
	n := wire.Nodes{Sender: "n0", Receiver: "n1"}
	spoofed, _ := enc.AppendEnvelope(nil, n, &wire.Envelope{Kind: 1, From: pid.PID{Node: "n7", Host: "h", Seq: 1}, To: target, Topic: "x"})
	local, _ := enc.AppendEnvelope(nil, n, &wire.Envelope{Kind: 1, From: pid.PID{Node: "n1", Host: "h", Seq: 1}, To: target, Topic: "x"})
	elsewhere, _ := enc.AppendEnvelope(nil, n, &wire.Envelope{Kind: 1, To: pid.PID{Node: "n9", Host: "h", Seq: 1}, Topic: "x"})
	unknownKind, _ := enc.AppendEnvelope(nil, n, &wire.Envelope{Kind: 200, To: target, Topic: "x"})
	good, _ := enc.AppendEnvelope(nil, n, &wire.Envelope{Kind: 1, To: target, Topic: "ok"})
	for _, body := range [][]byte{{}, {0x7f}, {1, 0xc1}, spoofed, local, elsewhere, unknownKind, good} {
		if err := ep0.Send("n1", transport.StreamCluster, body); err != nil {
			t.Fatal(err)
		}
	}
	if m := recv[native.Message](t, p.ch); m.Topic != "ok" {
		t.Fatalf("got %+v", m)
	}
	expectNothing(t, p.ch, 0)
	st := c.Node(1).Cluster.Stats()
	if st.Dropped[cluster.DropDecode] != 7 || st.EnvelopesReceived != 1 || !st.Peers[0].Up {
		t.Fatalf("stats %+v", st)
	}
}

// TestRemoteTerminateCancel: terminate and cancel reach processes of
// another node.
func TestRemoteTerminateCancel(t *testing.T) {
	c := clustertest.New(t, 2)
	rt0, rt1 := c.Node(0).Runtime, c.Node(1).Runtime
	victim, _ := rt1.Spawn(proc.SpawnRequest{Behavior: native.New(failer{})})
	w := newProbe()
	w.init = func(ctx *native.Ctx) error { return ctx.Monitor(victim) }
	w.spawnReady(t, rt0)
	waitRelation(t, c, victim)
	if err := rt0.Terminate(victim); err != nil {
		t.Fatal(err)
	}
	ev := recv[native.Event](t, w.ch)
	if ev.From != victim || !errors.Is(ev.Err, proc.ErrTerminated) {
		t.Fatalf("got %+v", ev)
	}
	got := make(chan string, 1)
	polite := &fnProc{ev: func(ctx *native.Ctx, e native.Event) error {
		if e.Kind == proc.DeliveryCancel {
			got <- e.Reason
			ctx.Stop(msg.Nil)
		}
		return nil
	}}
	pp, _ := rt1.Spawn(proc.SpawnRequest{Behavior: native.New(polite)})
	if err := rt0.Cancel(pp, "please stop"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r != "please stop" {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel")
	}
	waitDead(t, rt1, pp)
}

// fnProc is a native process made of closures.
type fnProc struct {
	ev func(c *native.Ctx, e native.Event) error
}

func (f *fnProc) HandleMessage(*native.Ctx, native.Message) error { return nil }
func (f *fnProc) HandleEvent(c *native.Ctx, e native.Event) error { return f.ev(c, e) }

// A message its receiver could not decode within the memory budget (a
// list of very many tiny elements) is refused to its sender, who learns
// why, instead of being dropped on arrival.
func TestSendOverDecodeBudget(t *testing.T) {
	c := clustertest.New(t, 2, clustertest.Catalog(catalog()))
	rt0 := c.Node(0).Runtime
	p, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:processes"})
	if err != nil {
		t.Fatal(err)
	}
	tiny := make([]msg.Value, 1<<18)
	for i := range tiny {
		tiny[i] = msg.Int(1)
	}
	err = rt0.Send(pid.PID{}, p, "big", msg.List(tiny...))
	if errKind(err) != proc.KindInvalid || !errors.Is(err, cluster.ErrEncode) {
		t.Fatalf("send over the budget: %v", err)
	}
	if err := rt0.Send(pid.PID{}, p, "small", msg.List(tiny[:1000]...)); err != nil {
		t.Fatalf("send within the budget: %v", err)
	}
}
