package cluster_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// probe is a native process that forwards what it receives to ch.
type probe struct {
	ch   chan any
	trap bool
	init func(c *native.Ctx) error
	on   func(c *native.Ctx, m native.Message) error
}

func newProbe() *probe { return &probe{ch: make(chan any, 1<<17)} }

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
	if e.Kind == proc.DeliveryCancel {
		c.Stop(msg.Nil)
		return nil
	}
	p.ch <- e
	return nil
}

// spawn starts p on rt's default host (or host).
func (p *probe) spawn(t testing.TB, rt *runtime.Runtime, host ...string) pid.PID {
	t.Helper()
	req := proc.SpawnRequest{Behavior: native.New(p)}
	if len(host) > 0 {
		req.Host = host[0]
	}
	id, err := rt.Spawn(req)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// spawnReady spawns p and waits until its Init has run.
func (p *probe) spawnReady(t testing.TB, rt *runtime.Runtime, host ...string) pid.PID {
	t.Helper()
	ready := make(chan struct{})
	inner := p.init
	p.init = func(c *native.Ctx) error {
		defer close(ready)
		if inner != nil {
			return inner(c)
		}
		return nil
	}
	id := p.spawn(t, rt, host...)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("probe did not start")
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

// echo replies to every message with topic "re:"+topic and the payload.
type echo struct{}

func (echo) HandleMessage(c *native.Ctx, m native.Message) error {
	return c.Send(m.From, "re:"+m.Topic, m.Payload)
}

// failer fails with "boom" when told "crash", stops when told "stop".
type failer struct{}

func (failer) HandleMessage(c *native.Ctx, m native.Message) error {
	switch m.Topic {
	case "crash":
		return proc.NewError(proc.KindInternal, "boom", msg.False)
	case "stop":
		c.Stop(msg.String("done"))
	}
	return nil
}

// quitter fails with "early" as it starts, before it could be sent anything.
type quitter struct{}

func (quitter) Init(*native.Ctx, []msg.Value) error {
	return proc.NewError(proc.KindInternal, "early", msg.False)
}
func (quitter) HandleMessage(*native.Ctx, native.Message) error { return nil }

// catalog has the entries remote spawns use.
func catalog() native.Catalog {
	return native.Catalog{
		"test:echo":    func([]msg.Value) (native.Process, error) { return echo{}, nil },
		"test:failer":  func([]msg.Value) (native.Process, error) { return failer{}, nil },
		"test:quitter": func([]msg.Value) (native.Process, error) { return quitter{}, nil },
		"test:whoami": func([]msg.Value) (native.Process, error) {
			return native.MessageFunc(func(c *native.Ctx, m native.Message) error {
				id := "<none>"
				if a := c.Env().Actor(); a != nil {
					id = a.ID
				}
				return c.Send(m.From, "whoami", msg.String(id))
			}), nil
		},
		"test:args": func(args []msg.Value) (native.Process, error) {
			return native.MessageFunc(func(c *native.Ctx, m native.Message) error {
				return c.Send(m.From, "args", msg.List(args...))
			}), nil
		},
	}
}

func errKind(err error) string {
	var pe *proc.Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

// waitDead waits until p is no longer a live process of rt.
func waitDead(t testing.TB, rt *runtime.Runtime, p pid.PID) {
	t.Helper()
	await.Until(t, fmt.Sprintf("%v to end", p), func() bool { return !rt.Alive(p) })
}
