package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// remoteText gives each PID its own text, whatever was asked before.
func TestRemoteText(t *testing.T) {
	rt := &Runtime{}
	pids := []pid.PID{
		{Node: "n2", Host: "app:a", Seq: 1}, {Node: "n2", Host: "app:a", Seq: 1}, {Node: "n2", Host: "app:a", Seq: 2},
		{Node: "n3", Host: "app:a", Seq: 2}, {Node: "n3", Host: "app:b", Seq: 2}, {Node: "n2", Host: "app:a", Seq: 1},
	}
	for i, p := range pids {
		if got := rt.remoteText(p); got != p.String() {
			t.Fatalf("pid %d: %q, want %q", i, got, p.String())
		}
	}
	p := pids[0]
	if a, b := rt.remoteText(p), rt.remoteText(p); testing.AllocsPerRun(100, func() { rt.remoteText(p) }) != 0 || a != b {
		t.Fatal("the same PID twice is formatted again")
	}
}

// The guard's text of a local process comes from the last one it matched;
// one that has ended is let go.
func TestGuardTextOfLocal(t *testing.T) {
	rt, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Stop(ctx)
	})
	spawn := func() pid.PID {
		p, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := spawn(), spawn()
	for _, p := range []pid.PID{a, b, a, a, {Node: rt.cfg.Node, Host: a.Host, Seq: 1 << 40}} {
		if got := rt.guardText(p); got != p.String() {
			t.Fatalf("text %q, want %q", got, p.String())
		}
	}
	if kept := rt.lastLocal.Load(); kept == nil || kept.pid != a {
		t.Fatal("the last local process matched is not kept")
	}
	if err := rt.Terminate(a); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "the ended process let go", func() bool { return rt.lastLocal.Load() == nil })
}
