package native_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var client = pid.PID{Node: "n", Host: "app:processes", Seq: 99}

// full implements every callback and records the order they ran in.
type full struct {
	calls []string
	timer proc.TimerID
}

func (f *full) Init(c *native.Ctx, args []msg.Value) error {
	f.calls = append(f.calls, "init:"+args[0].String())
	f.timer = c.After(time.Second)
	c.Listen("special", func(c *native.Ctx, m native.Message) error {
		f.calls = append(f.calls, "listen:"+m.Topic)
		return nil
	})
	return nil
}

func (f *full) HandleMessage(c *native.Ctx, m native.Message) error {
	f.calls = append(f.calls, "msg:"+m.Topic)
	switch m.Topic {
	case "fail":
		return errors.New("asked to fail")
	case "stop":
		c.Stop(msg.String("bye"))
	case "unlisten":
		c.Unlisten("special")
	}
	return c.Send(m.From, "ack", m.Payload)
}

func (f *full) HandleEvent(c *native.Ctx, e native.Event) error {
	f.calls = append(f.calls, "event:"+e.Kind.String()+":"+e.Reason)
	if e.Kind == proc.DeliveryCancel {
		c.Stop(msg.String("cancelled"))
	}
	return nil
}

func (f *full) HandleTimer(c *native.Ctx, id proc.TimerID) error {
	if id != f.timer {
		return errors.New("unknown timer")
	}
	f.calls = append(f.calls, "timer")
	return nil
}

func (f *full) Terminate(c *native.Ctx, reason error) {
	f.calls = append(f.calls, "terminate")
}

func TestCallbacksInOrder(t *testing.T) {
	f := &full{}
	h := runtimetest.New(t, native.New(f, msg.Int(1)))
	h.Start()
	h.Send(client, "hello", msg.Int(5))
	h.Send(client, "special", msg.Nil)
	h.Send(client, "unlisten", msg.Nil)
	h.Send(client, "special", msg.Nil)
	h.Advance(2 * time.Second)
	h.Cancel(client, "shutdown")
	res, done := h.Done()
	if !done || res.Err != nil || !msg.Equal(res.Value, msg.String("cancelled")) {
		t.Fatalf("result %+v done %v", res, done)
	}
	want := []string{"init:1", "msg:hello", "listen:special", "msg:unlisten", "msg:special", "timer", "event:cancel:shutdown", "terminate"}
	if len(f.calls) != len(want) {
		t.Fatalf("calls %v, want %v", f.calls, want)
	}
	for i := range want {
		if f.calls[i] != want[i] {
			t.Fatalf("calls %v, want %v", f.calls, want)
		}
	}
	if sent := h.Sent(); len(sent) != 3 || sent[0].To != client || sent[0].Topic != "ack" {
		t.Fatalf("sent %+v", sent)
	}
}

func TestErrorEndsProcess(t *testing.T) {
	f := &full{}
	h := runtimetest.New(t, native.New(f, msg.Int(1)))
	h.Start()
	h.Send(client, "fail", msg.Nil)
	res, done := h.Done()
	if !done || res.Err == nil || res.Err.Error() != "asked to fail" {
		t.Fatalf("result %+v", res)
	}
	if f.calls[len(f.calls)-1] != "terminate" {
		t.Fatalf("Terminate not called on an error exit: %v", f.calls)
	}
}

// A killed process runs no code: not even Terminate.
func TestKillRunsNoCode(t *testing.T) {
	f := &full{}
	h := runtimetest.New(t, native.New(f, msg.Int(1)))
	h.Start()
	h.Kill(proc.ErrTerminated)
	if _, done := h.Done(); !done {
		t.Fatal("not done after kill")
	}
	for _, c := range f.calls {
		if c == "terminate" {
			t.Fatal("Terminate ran after a kill")
		}
	}
}

// Without HandleEvent a CANCEL ends the process normally.
func TestDefaultCancel(t *testing.T) {
	h := runtimetest.New(t, native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil })))
	h.Start()
	h.Cancel(client, "stop")
	if res, done := h.Done(); !done || res.Err != nil {
		t.Fatalf("result %+v done %v", res, done)
	}
}

func TestCatalog(t *testing.T) {
	cat := native.Catalog{"app:echo": func(args []msg.Value) (native.Process, error) {
		return native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }), nil
	}}
	if b, err := cat.Behavior("app:echo", nil); err != nil || b == nil {
		t.Fatalf("known entry: %v", err)
	}
	if _, err := cat.Behavior("app:nope", nil); proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("unknown entry: %v", err)
	}
}
