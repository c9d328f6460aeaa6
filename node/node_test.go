package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNodeLifecycle(t *testing.T) {
	cfg := LoopbackConfig("t1")
	cfg.Node.Workers = 2
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	got := make(chan string, 1)
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		got <- m.Topic
		c.Stop(msg.Nil)
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	if p.Node != "t1" || p.Host != DefaultHost {
		t.Fatalf("pid %v", p)
	}
	n.Runtime().Send(pid.PID{}, p, "hello", msg.Nil)
	if topic := <-got; topic != "hello" {
		t.Fatalf("topic %q", topic)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// A standalone node routes to no other node, has no cluster-wide name
// table, and has nothing to isolate.
func TestStandaloneClusterAPI(t *testing.T) {
	n := startAdminNode(t)
	n.Isolate()
	if got := n.Nodes(); got != nil {
		t.Errorf("Nodes() = %v, want nil", got)
	}
	err := n.Names().Register(context.Background(), "x", pid.PID{Node: "adm", Host: DefaultHost, Seq: 1})
	if !errors.Is(err, registry.ErrNoClusterRegistry) {
		t.Errorf("Names().Register: %v, want ErrNoClusterRegistry", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node.Workers = -1
	if _, err := New(cfg); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("New with a bad config: %v", err)
	}
}

// A Stop before Start leaves nothing running, and the Start after it
// refuses instead of starting a stopped node.
func TestStopBeforeStart(t *testing.T) {
	cfg := LoopbackConfig("t1")
	cfg.Node.Workers = 2
	cfg.Admin.Addr = "127.0.0.1:0"
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Start after Stop: %v, want ErrStopped", err)
	}
	if n.AdminAddr() != "" {
		t.Fatal("the admin endpoint was started after the stop")
	}
}
