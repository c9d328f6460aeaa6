package runtimetest_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/runtimetest"
)

// fakeTB records failures instead of failing, so a test can show that the
// harness fails a test it should. Its Fatalf returns, so these tests also
// check that the harness does nothing after a fatal failure.
type fakeTB struct {
	mu    sync.Mutex
	fatal []string
	error []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.error = append(f.error, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fatal = append(f.fatal, fmt.Sprintf(format, args...))
}

// wantFatal checks that exactly one fatal failure mentioning each of subs
// was reported.
func (f *fakeTB) wantFatal(t *testing.T, subs ...string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.fatal) != 1 || len(f.error) != 0 {
		t.Fatalf("fatal %q, errors %q; want one fatal failure", f.fatal, f.error)
	}
	for _, s := range subs {
		if !strings.Contains(f.fatal[0], s) {
			t.Errorf("failure %q does not mention %q", f.fatal[0], s)
		}
	}
}

func TestStepAfterDoneFails(t *testing.T) {
	drive := map[string]func(h *runtimetest.Harness){
		"Send":     func(h *runtimetest.Harness) { h.Send(client, "inc", msg.Nil) },
		"Deliver":  func(h *runtimetest.Harness) { h.Deliver() },
		"Cancel":   func(h *runtimetest.Harness) { h.Cancel(client, "again") },
		"Advance":  func(h *runtimetest.Harness) { h.Advance(0) },
		"Kill":     func(h *runtimetest.Harness) { h.Kill(nil) },
		"Start":    func(h *runtimetest.Harness) { h.Start() },
		"Exit":     func(h *runtimetest.Harness) { h.Exit(client, msg.Nil, nil) },
		"LinkDown": func(h *runtimetest.Harness) { h.LinkDown(client, proc.ErrNoConnection) },
	}
	for name, call := range drive {
		t.Run(name, func(t *testing.T) {
			f := &fakeTB{}
			h := runtimetest.New(f, native.New(&counter{}))
			h.Start()
			h.Cancel(client, "stop")
			if _, done := h.Done(); !done {
				t.Fatal("CANCEL did not end the counter")
			}
			steps := h.Steps()
			call(h)
			f.wantFatal(t, name, "after the process ended", "must not be stepped after Done")
			if h.Steps() != steps || h.Killed() {
				t.Fatalf("the harness stepped (%d -> %d) or killed (%v) a done process", steps, h.Steps(), h.Killed())
			}
		})
	}
}

func TestPanicInStepFails(t *testing.T) {
	f := &fakeTB{}
	h := runtimetest.New(f, native.New(native.MessageFunc(func(*native.Ctx, native.Message) error {
		var m map[string]int
		m["x"]++ // a nil map write: the bug under test
		return nil
	})))
	h.Start()
	h.Send(client, "x", msg.Nil)
	f.wantFatal(t, "Step panicked", "assignment to entry in nil map", "goroutine")
	res, done := h.Done()
	if !done || proc.ExitReason(res.Err) != "panic" {
		t.Fatalf("a panicking process: done=%v res=%+v", done, res)
	}
}

func TestEnvUsedAfterStepFails(t *testing.T) {
	f := &fakeTB{}
	var kept proc.Env
	h := runtimetest.New(f, native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		kept = c.Env() // a bug: an Env is valid only during its Step
		return nil
	})))
	h.Start()
	h.Send(client, "x", msg.Nil)
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { err = kept.Send(client, "late", msg.Nil) })
	wg.Wait()
	if !errors.Is(err, runtimetest.ErrEnvExpired) || len(h.Sent()) != 0 {
		t.Fatalf("expired Env sent: err=%v sent=%v", err, h.Sent())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.error) != 1 || !strings.Contains(f.error[0], "Env.Send called after its Step returned") || len(f.fatal) != 0 {
		t.Fatalf("errors %q fatal %q", f.error, f.fatal)
	}
}

func TestSignalsTheRuntimeWouldNotSendFail(t *testing.T) {
	stranger := pid.PID{Node: "test", Host: "app:x", Seq: 5}
	t.Run("Exit of an unmonitored PID", func(t *testing.T) {
		// The pool forgot nothing here, but a test (or a behaviour that
		// forgot Monitor) expecting this EXIT would pass for the wrong reason.
		f := &fakeTB{}
		h := runtimetest.New(f, native.New(&pool{}, msg.Int(1)))
		h.Start()
		h.Exit(stranger, msg.Nil, errors.New("x"))
		f.wantFatal(t, "neither monitors nor is linked", stranger.String())
		if h.Steps() != 1 {
			t.Fatalf("stepped %d times", h.Steps())
		}
	})
	t.Run("LinkDown without a link", func(t *testing.T) {
		f := &fakeTB{}
		h := runtimetest.New(f, native.New(&counter{}))
		h.Start()
		h.LinkDown(stranger, errors.New("x"))
		f.wantFatal(t, "not linked")
		if _, done := h.Done(); done {
			t.Fatal("killed over a link that does not exist")
		}
	})
	t.Run("LinkDown with no error", func(t *testing.T) {
		f := &fakeTB{}
		h := runtimetest.New(f, native.New(&watcher{owner: client}))
		h.Start()
		h.Send(client, "link", msg.PIDValue(stranger))
		h.LinkDown(stranger, nil)
		f.wantFatal(t, "nil error")
	})
}

func TestMisuseFails(t *testing.T) {
	idle := func() proc.Behavior {
		return &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
			return proc.StatusIdle, proc.Result{}
		}}
	}
	cases := []struct {
		name string
		run  func(f *fakeTB)
		want []string
	}{
		{"deliver before start", func(f *fakeTB) { runtimetest.New(f, idle()).Send(client, "x", msg.Nil) }, []string{"Send before Start"}},
		{"start twice", func(f *fakeTB) {
			h := runtimetest.New(f, idle())
			h.Start()
			h.Start()
		}, []string{"Start called twice"}},
		{"advance backwards", func(f *fakeTB) { runtimetest.New(f, idle()).Advance(-1) }, []string{"does not go back"}},
		{"nil behaviour", func(f *fakeTB) { runtimetest.New(f, nil) }, []string{"nil behavior"}},
		{"driving from a step", func(f *fakeTB) {
			var h *runtimetest.Harness
			h = runtimetest.New(f, &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
				h.Send(client, "reentrant", msg.Nil)
				return proc.StatusIdle, proc.Result{}
			}})
			h.Start()
		}, []string{"Send during a Step"}},
		{"never waits", func(f *fakeTB) {
			h := runtimetest.New(f, &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
				return proc.StatusYield, proc.Result{}
			}}, runtimetest.WithStepLimit(10))
			h.Start()
			if h.Steps() != 10 {
				f.Errorf("ran %d steps, want the limit 10", h.Steps())
			}
		}, []string{"10 Steps in a row", "yield"}},
		{"unknown status", func(f *fakeTB) {
			runtimetest.New(f, &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
				return proc.Status(42), proc.Result{}
			}}).Start()
		}, []string{"unknown status 42"}},
		{"panic in Kill", func(f *fakeTB) {
			h := runtimetest.New(f, killPanics{})
			h.Start()
			h.Kill(nil)
		}, []string{"Kill panicked", "release failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeTB{}
			c.run(f)
			f.wantFatal(t, c.want...)
		})
	}
}

type killPanics struct{}

func (killPanics) Step(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
	return proc.StatusIdle, proc.Result{}
}
func (killPanics) Kill(error) { panic("release failed") }

// TestErrorsMatchTheRuntime checks that a behaviour sees the runtime's own
// errors from the harness.
func TestErrorsMatchTheRuntime(t *testing.T) {
	gone := pid.PID{Node: "test", Host: "app:x", Seq: 9}
	remote := pid.PID{Node: "elsewhere", Host: "app:x", Seq: 9}
	got := map[string]error{}
	h := runtimetest.New(t, &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
		got["empty topic"] = env.Send(client, "", msg.Nil)
		got["@ topic"] = env.Send(client, "@x", msg.Nil)
		got["empty name"] = env.Register("", env.Self(), proc.ScopeLocal)
		got["remote name"] = env.Register("r", remote, proc.ScopeLocal)
		got["dead name"] = env.Register("d", gone, proc.ScopeLocal)
		got["empty lookup"] = env.SendName("", "t", msg.Nil)
		return proc.StatusIdle, proc.Result{}
	}}, runtimetest.WithDead(gone))
	h.Start()
	want := map[string]error{
		"empty topic": runtime.ErrBadTopic, "@ topic": runtime.ErrBadTopic,
		"empty name": runtime.ErrBadName, "remote name": runtime.ErrRemoteName,
		"dead name": runtime.ErrDeadProcess, "empty lookup": runtime.ErrBadName,
	}
	for k, w := range want {
		if !errors.Is(got[k], w) {
			t.Errorf("%s: got %v, want the runtime's %v", k, got[k], w)
		}
	}
}
