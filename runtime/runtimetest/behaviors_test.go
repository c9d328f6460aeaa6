package runtimetest_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The behaviours the harness is tested with: small Go-native processes of
// the kinds users write.

var (
	client = pid.PID{Node: "test", Host: "app:clients", Seq: 100}
	other  = pid.PID{Node: "test", Host: "app:clients", Seq: 101}
)

// counter counts "inc" messages and answers "get" with "count".
type counter struct{ n int64 }

func (c *counter) HandleMessage(ctx *native.Ctx, m native.Message) error {
	switch m.Topic {
	case "inc":
		c.n++
	case "get":
		return ctx.Send(m.From, "count", msg.Int(c.n))
	default:
		return fmt.Errorf("counter: unknown topic %q", m.Topic)
	}
	return nil
}

// echo registers itself as "echo" and sends every message back; a send
// that fails ends it with that error.
type echo struct{}

func (echo) Init(ctx *native.Ctx, _ []msg.Value) error { return ctx.Register("echo") }

func (echo) HandleMessage(ctx *native.Ctx, m native.Message) error {
	return ctx.Send(m.From, m.Topic, m.Payload)
}

// ticker sends "tick" with the clock's Unix milliseconds to its owner
// every period, n times, then stops with n. "pause" stops the timer,
// "resume" starts it again.
type ticker struct {
	owner  pid.PID
	period time.Duration
	n, max int64
	timer  proc.TimerID
}

func (t *ticker) Init(ctx *native.Ctx, args []msg.Value) error {
	t.owner, _ = args[0].AsPID()
	t.timer = ctx.After(t.period)
	return nil
}

func (t *ticker) HandleMessage(ctx *native.Ctx, m native.Message) error {
	switch m.Topic {
	case "pause":
		if !ctx.StopTimer(t.timer) {
			return errors.New("ticker: no timer to stop")
		}
	case "resume":
		t.timer = ctx.After(t.period)
	}
	return nil
}

func (t *ticker) HandleTimer(ctx *native.Ctx, id proc.TimerID) error {
	if id != t.timer {
		return fmt.Errorf("ticker: timer %d fired, want %d", id, t.timer)
	}
	t.n++
	if err := ctx.Send(t.owner, "tick", msg.Int(ctx.Env().Now().UnixMilli())); err != nil {
		return err
	}
	if t.n == t.max {
		ctx.Stop(msg.Int(t.n))
		return nil
	}
	t.timer = ctx.After(t.period)
	return nil
}

// pool starts one monitored "worker" per argument, restarts a worker that
// fails, forgets one that exits normally, and stops when none is left.
type pool struct {
	workers map[pid.PID]msg.Value // worker -> its argument
}

func (p *pool) Init(ctx *native.Ctx, args []msg.Value) error {
	p.workers = map[pid.PID]msg.Value{}
	for _, a := range args {
		if err := p.start(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func (p *pool) start(ctx *native.Ctx, arg msg.Value) error {
	w, err := ctx.Spawn(proc.SpawnRequest{Entry: "app:worker", Args: []msg.Value{arg}, Monitor: true})
	if err != nil {
		return fmt.Errorf("pool: start worker: %w", err)
	}
	p.workers[w] = arg
	return nil
}

func (p *pool) HandleMessage(*native.Ctx, native.Message) error { return nil }

func (p *pool) HandleEvent(ctx *native.Ctx, e native.Event) error {
	switch e.Kind {
	case proc.DeliveryExit:
		arg, ok := p.workers[e.From]
		if !ok {
			return fmt.Errorf("pool: EXIT of a stranger %v", e.From)
		}
		delete(p.workers, e.From)
		if e.Err != nil {
			return p.start(ctx, arg)
		}
		if len(p.workers) == 0 {
			ctx.Stop(msg.String("all done"))
		}
	case proc.DeliveryCancel:
		for w := range p.workers {
			if err := ctx.Cancel(w, e.Reason); err != nil {
				return err
			}
		}
		ctx.Stop(msg.Nil)
	}
	return nil
}

// polite answers a CANCEL with "bye" to whoever asked and stops with the
// reason.
type polite struct{}

func (polite) HandleMessage(*native.Ctx, native.Message) error { return nil }

func (polite) HandleEvent(ctx *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryCancel {
		if err := ctx.Send(e.From, "bye", msg.Nil); err != nil {
			return err
		}
		ctx.Stop(msg.String(e.Reason))
	}
	return nil
}

// watcher monitors (or links to) the PID in a "watch" ("link") message and
// forwards every event to its owner as "event" with the event's kind and
// error.
type watcher struct {
	owner pid.PID
	trap  bool
}

func (w *watcher) Init(ctx *native.Ctx, _ []msg.Value) error {
	ctx.TrapLinks(w.trap)
	return nil
}

func (w *watcher) HandleMessage(ctx *native.Ctx, m native.Message) error {
	p, _ := m.Payload.AsPID()
	switch m.Topic {
	case "watch":
		return ctx.Monitor(p)
	case "link":
		return ctx.Link(p)
	case "unwatch":
		return ctx.Unmonitor(p)
	case "watch+unwatch":
		if err := ctx.Monitor(p); err != nil {
			return err
		}
		return ctx.Unmonitor(p)
	}
	return nil
}

func (w *watcher) HandleEvent(ctx *native.Ctx, e native.Event) error {
	errText := ""
	if e.Err != nil {
		errText = e.Err.Error()
	}
	return ctx.Send(w.owner, "event", msg.List(msg.String(e.Kind.String()), msg.PIDValue(e.From), msg.String(errText)))
}

// stepFunc is a hand-written behaviour for what native processes cannot do
// (yield, return odd statuses, panic in Kill).
type stepFunc struct {
	step  func(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result)
	kills []error
}

func (s *stepFunc) Step(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
	return s.step(env, batch)
}

func (s *stepFunc) Kill(reason error) { s.kills = append(s.kills, reason) }
