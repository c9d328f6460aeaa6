package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func newRuntime(t testing.TB, mod func(*runtime.Config)) *runtime.Runtime {
	t.Helper()
	cfg := runtime.DefaultConfig()
	cfg.Node = "n1"
	cfg.Workers = 2
	cfg.Hosts = []runtime.HostConfig{{ID: "app:processes"}, {ID: "app:small", MaxProcesses: 2, MaxMailbox: 3, CancelTimeout: 50 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rt.Stop(ctx)
	})
	return rt
}

// probe forwards everything its process receives to a channel.
type probe struct {
	ch   chan any
	trap bool
	init func(c *native.Ctx) error
	on   func(c *native.Ctx, m native.Message) error
}

func newProbe() *probe { return &probe{ch: make(chan any, 1<<16)} }

func (p *probe) Init(c *native.Ctx, _ []msg.Value) error {
	c.TrapLinks(p.trap)
	if p.init != nil {
		return p.init(c)
	}
	return nil
}

func (p *probe) HandleMessage(c *native.Ctx, m native.Message) error {
	if p.on != nil {
		return p.on(c, m)
	}
	p.ch <- m
	return nil
}

func (p *probe) HandleEvent(c *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryCancel && e.Reason == "runtime stopping" {
		c.Stop(msg.Nil)
		return nil
	}
	p.ch <- e
	return nil
}

func (p *probe) spawn(t testing.TB, rt *runtime.Runtime) pid.PID {
	t.Helper()
	id, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(p)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func recv[T any](t testing.TB, ch chan any) T {
	t.Helper()
	select {
	case v := <-ch:
		got, ok := v.(T)
		if !ok {
			t.Fatalf("received %#v, want a %T", v, got)
		}
		return got
	case <-time.After(10 * time.Second):
		var zero T
		t.Fatalf("timed out waiting for a %T", zero)
		return zero
	}
}

func expectNothing(t testing.TB, ch chan any, d time.Duration) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %#v", v)
	case <-time.After(d):
	}
}

// fn is a native process made of closures.
type fn struct {
	init func(c *native.Ctx, args []msg.Value) error
	msg  func(c *native.Ctx, m native.Message) error
	ev   func(c *native.Ctx, e native.Event) error
}

func (f *fn) Init(c *native.Ctx, args []msg.Value) error {
	if f.init != nil {
		return f.init(c, args)
	}
	return nil
}

func (f *fn) HandleMessage(c *native.Ctx, m native.Message) error {
	if f.msg != nil {
		return f.msg(c, m)
	}
	return nil
}

func (f *fn) HandleEvent(c *native.Ctx, e native.Event) error {
	if f.ev != nil {
		return f.ev(c, e)
	}
	if e.Kind == proc.DeliveryCancel {
		c.Stop(msg.Nil)
	}
	return nil
}

// monitorOf spawns a probe that monitors targets, and returns once the
// monitors are in place.
func monitorOf(t testing.TB, rt *runtime.Runtime, targets ...pid.PID) *probe {
	t.Helper()
	ready := make(chan struct{})
	p := newProbe()
	p.init = func(c *native.Ctx) error {
		defer close(ready)
		for _, tg := range targets {
			if err := c.Monitor(tg); err != nil {
				return err
			}
		}
		return nil
	}
	p.spawn(t, rt)
	<-ready
	return p
}
