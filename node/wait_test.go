package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// LoopbackConfig is valid as it is and with the cluster on, listens on
// the loopback only, writes nothing and has no admin endpoint.
func TestLoopbackConfig(t *testing.T) {
	c := LoopbackConfig("emb")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Cluster.Enabled = true
	if err := c.Validate(); err != nil {
		t.Fatalf("with the cluster on: %v", err)
	}
	m := c.Cluster.Membership
	if c.Node.Name != "emb" || c.Admin.Addr != "" || c.Log.Level != "warn" || m.BindAddr != "127.0.0.1" || m.BindPort != 0 ||
		c.Cluster.Internode.AutoPort || c.Cluster.Internode.Port != 0 || !c.Cluster.Raft.InMemory || c.Cluster.Raft.DataDir != "" || len(c.Warnings()) != 0 {
		t.Fatalf("preset %+v", c)
	}
	c.Cluster.Raft.DataDir = t.TempDir()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "kept in memory") {
		t.Fatalf("a data_dir with the state in memory: %v, want an error", err)
	}
}

// WaitNodes returns once a send reaches the other node: the first
// message after it arrives and nothing is dropped.
func TestWaitNodes(t *testing.T) {
	a := clusterNode(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- a.WaitNodes(ctx, "b", "a") }() // before b exists
	b := clusterNode(t, "b", a.MembershipAddr())
	got := make(chan native.Message, 1)
	recv, err := b.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(_ *native.Ctx, m native.Message) error {
		got <- m
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if err := a.Runtime().Send(pid.PID{}, recv, "first", msg.Int(1)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.Topic != "first" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the first message after WaitNodes never arrived; dropped %v", a.Status().Messages.Dropped)
	}
	if d := a.Status().Messages.Dropped[runtime.DropNodeDown]; d != 0 {
		t.Fatalf("%d messages dropped as nodedown", d)
	}

	// A node that is down: a send is dropped and counted, with no error.
	b.Isolate()
	await.Until(t, "a no longer routes to b", func() bool { return len(a.Nodes()) == 0 })
	if err := a.Runtime().Send(pid.PID{}, recv, "lost", msg.Nil); err != nil {
		t.Fatalf("send to a node that is down: %v, want nil", err)
	}
	if d := a.Status().Messages.Dropped[runtime.DropNodeDown]; d != 1 {
		t.Fatalf("%d messages dropped as nodedown, want 1", d)
	}
	// A node never seen: NOT_FOUND.
	err = a.Runtime().Send(pid.PID{}, pid.PID{Node: "zed", Host: DefaultHost, Seq: 1}, "x", msg.Nil)
	if proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("send to a node never seen: %v, want NOT_FOUND", err)
	}
}

// WaitNodes ends with the context (naming who is missing), with the node,
// and at once on a standalone node.
func TestWaitNodesEnds(t *testing.T) {
	a := clusterNode(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := a.WaitNodes(ctx, "zed"); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "zed") {
		t.Fatalf("WaitNodes for a node that never comes: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.WaitNodes(context.Background(), "zed") }()
	await.Never(t, 50*time.Millisecond, "WaitNodes returned early", func() bool { return len(done) > 0 })
	stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelStop()
	a.Stop(stop)
	select {
	case err := <-done:
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("WaitNodes across Stop: %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitNodes did not return when the node stopped")
	}
	if err := startAdminNode(t).WaitNodes(context.Background(), "zed"); !errors.Is(err, ErrStandalone) {
		t.Fatalf("WaitNodes on a standalone node: %v, want ErrStandalone", err)
	}
}
