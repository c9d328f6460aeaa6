package runtime_test

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

// A host with a worker pool of its own keeps running while every worker of
// the node pool is held by a blocked callback, and messages cross pools.
func TestHostOwnPool(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) {
		c.Workers = 1
		c.Slice = time.Hour // no hand-off: only the host's own pool can help
		c.Hosts = append(c.Hosts, runtime.HostConfig{ID: "app:own", Workers: 1})
	})
	release := make(chan struct{})
	defer close(release)
	// Hold the node pool's only worker.
	rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		<-release
		return nil
	}})})
	p := newProbe()
	me, err := rt.Spawn(proc.SpawnRequest{Host: "app:own", Behavior: native.New(p)})
	if err != nil {
		t.Fatal(err)
	}
	echo, err := rt.Spawn(proc.SpawnRequest{Host: "app:own", Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		return c.Send(m.From, "echo", m.Payload)
	}))})
	if err != nil {
		t.Fatal(err)
	}
	rt.Send(me, echo, "hi", msg.Int(1))
	if m := recv[native.Message](t, p.ch); m.Topic != "echo" {
		t.Fatalf("got %+v", m)
	}
}

// queue_size bounds spawns that have not run yet: with the host's pool
// held, the next spawns past the bound are refused, retryably.
func TestHostQueueSize(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) {
		c.Slice = time.Hour
		c.Hosts = append(c.Hosts, runtime.HostConfig{ID: "app:q", Workers: 1, QueueSize: 2})
	})
	release := make(chan struct{})
	started := make(chan struct{})
	_, err := rt.Spawn(proc.SpawnRequest{Host: "app:q", Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		close(started)
		<-release
		c.Stop(msg.Nil)
		return nil
	}})})
	if err != nil {
		t.Fatal(err)
	}
	<-started // the blocker has run: it no longer counts as queued
	for i := 0; i < 2; i++ {
		if _, err := rt.Spawn(proc.SpawnRequest{Host: "app:q", Behavior: native.New(&fn{})}); err != nil {
			t.Fatalf("spawn %d within the bound: %v", i, err)
		}
	}
	_, err = rt.Spawn(proc.SpawnRequest{Host: "app:q", Behavior: native.New(&fn{})})
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || e.Retryable != msg.True {
		t.Fatalf("spawn past queue_size: %v", err)
	}
	close(release)
	await.Until(t, "queue drains", func() bool {
		_, err := rt.Spawn(proc.SpawnRequest{Host: "app:q", Behavior: native.New(&fn{})})
		return err == nil
	})
}
