package proc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
)

func TestTransitions(t *testing.T) {
	all := []State{Ready, Running, Blocked, Idle, Complete}
	legal := map[[2]State]bool{
		{Ready, Running}: true, {Running, Ready}: true, {Running, Blocked}: true,
		{Running, Idle}: true, {Running, Complete}: true, {Blocked, Ready}: true, {Idle, Ready}: true,
	}
	for _, from := range all {
		for _, to := range all {
			want := legal[[2]State{from, to}]
			if got := Legal(from, to); got != want {
				t.Errorf("Legal(%s, %s) = %v, want %v", from, to, got, want)
			}
			func() {
				defer func() {
					if r := recover(); (r != nil) == want {
						t.Errorf("Transition(%s, %s): panic=%v, legal=%v", from, to, r, want)
					}
				}()
				Transition(from, to)
			}()
		}
	}
}

func TestExitReasons(t *testing.T) {
	p := pid.PID{Node: "n", Host: "h", Seq: 7}
	cases := []struct {
		err       error
		kind      string
		retryable msg.Tri
		msg       string
		reason    string
	}{
		{ErrTerminated, KindCanceled, msg.False, "terminated", "terminated"},
		{LinkDown(p), KindCanceled, msg.Unknown, "link down: {n@h|0x00007}", "link_down"},
		{ErrNoConnection, KindUnavailable, msg.True, "noconnection", "noconnection"},
		{ErrNoProcess, KindNotFound, msg.False, "no process", "no_process"},
		{Panic("boom"), KindInternal, msg.Unknown, "panic: boom", "panic"},
		{errors.New("plain"), KindUnknown, msg.Unknown, "plain", "error"},
	}
	for _, c := range cases {
		e := AsError(c.err)
		if e.Kind != c.kind || e.Retryable != c.retryable || e.Message != c.msg {
			t.Errorf("%v: got kind=%s retryable=%v msg=%q", c.err, e.Kind, e.Retryable, e.Message)
		}
		if got := ExitReason(c.err); got != c.reason {
			t.Errorf("ExitReason(%v) = %q, want %q", c.err, got, c.reason)
		}
		back := ErrorFromValue(func() msg.ErrorValue { v, _ := e.Value().AsError(); return v }())
		if !errors.Is(back, e) || back.Retryable != e.Retryable {
			t.Errorf("value round trip of %v lost it: %#v", c.err, back)
		}
	}
	if ExitReason(nil) != "normal" {
		t.Error("nil error must be a normal exit")
	}
	wrapped := fmt.Errorf("ctx: %w", ErrTerminated)
	if !errors.Is(wrapped, ErrTerminated) || AsError(wrapped) != ErrTerminated {
		t.Error("wrapped exit reason not found")
	}
	if !IsLinkDown(LinkDown(p)) || IsLinkDown(ErrTerminated) {
		t.Error("IsLinkDown wrong")
	}
}
