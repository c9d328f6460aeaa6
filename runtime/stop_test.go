package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

// deaf is a process that ignores CANCEL, as a Lua worker blocked on its
// inbox does.
func deaf() proc.Behavior {
	return native.New(&fn{ev: func(*native.Ctx, native.Event) error { return nil }})
}

// stopWithin runs rt.Stop with a generous context and fails the test if it
// takes longer than limit.
func stopWithin(t *testing.T, rt *runtime.Runtime, limit time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	err := rt.Stop(ctx)
	if el := time.Since(begin); el > limit {
		t.Fatalf("Stop took %v, want at most %v", el, limit)
	}
	return err
}

// A process that ignores CANCEL is terminated StopGrace after it, not when
// Stop's context ends, and that is a normal stop: no error.
func TestStopTerminatesAfterGrace(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) { c.StopGrace = 100 * time.Millisecond })
	for range 3 {
		if _, err := rt.Spawn(proc.SpawnRequest{Behavior: deaf()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stopWithin(t, rt, 3*time.Second); err != nil {
		t.Fatalf("Stop: %v, want nil", err)
	}
	if n := rt.ProcessCount(); n != 0 {
		t.Fatalf("%d processes left", n)
	}
	if got := rt.Counters().CancelTerminated; got != 3 {
		t.Fatalf("CancelTerminated %d, want 3", got)
	}
}

// A host's cancel_timeout is the grace of its processes at stop: one that
// takes 200ms to clean up ends normally on a host with 2s, while a deaf
// one on a host without is terminated after StopGrace.
func TestStopGivesHostsTheirCancelTimeout(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) {
		c.StopGrace = 50 * time.Millisecond
		c.Hosts = append(c.Hosts, runtime.HostConfig{ID: "app:slow", CancelTimeout: 2 * time.Second})
	})
	ended := make(chan proc.Result, 1)
	slow := &fn{
		ev: func(c *native.Ctx, e native.Event) error {
			if e.Kind == proc.DeliveryCancel {
				c.After(200 * time.Millisecond)
			}
			return nil
		},
	}
	watch := make(chan any, 4)
	p, err := rt.Spawn(proc.SpawnRequest{Host: "app:slow", Behavior: native.New(&timedStop{fn: slow})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Spawn(proc.SpawnRequest{Behavior: deaf()}); err != nil {
		t.Fatal(err)
	}
	// The node's own watcher sees the slow process end: it is stopped
	// only after every other process.
	_, err = rt.Spawn(proc.SpawnRequest{System: true, Behavior: native.New(&fn{
		init: func(c *native.Ctx, _ []msg.Value) error { return c.Monitor(p) },
		ev: func(c *native.Ctx, e native.Event) error {
			watch <- e.Kind
			if e.Kind == proc.DeliveryExit {
				ended <- proc.Result{Value: e.Value, Err: e.Err}
				c.Stop(msg.Nil)
			}
			return nil
		},
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := stopWithin(t, rt, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case r := <-ended:
		if s, _ := r.Value.AsString(); r.Err != nil || s != "cleaned up" {
			t.Fatalf("slow process ended with %v / %v, want a normal exit after its cleanup", r.Value, r.Err)
		}
	default:
		t.Fatalf("the system watcher never saw the EXIT (saw %d events)", len(watch))
	}
	if got := rt.Counters().CancelTerminated; got != 1 {
		t.Fatalf("CancelTerminated %d, want 1 (the deaf process only)", got)
	}
}

// timedStop ends with "cleaned up" on its first timer.
type timedStop struct{ *fn }

func (p *timedStop) HandleTimer(c *native.Ctx, _ proc.TimerID) error {
	c.Stop(msg.String("cleaned up"))
	return nil
}

// A Go-native callback that never returns cannot be terminated; Stop gives
// up on it after its grace and a short wait instead of hanging the node.
func TestStopGivesUpOnAStuckProcess(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) { c.StopGrace = 50 * time.Millisecond })
	release, entered := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	p, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{msg: func(*native.Ctx, native.Message) error {
		close(entered)
		<-release
		return nil
	}})})
	if err != nil {
		t.Fatal(err)
	}
	rt.Send(p, p, "go", msg.Nil)
	<-entered
	err = stopWithin(t, rt, 8*time.Second)
	if !errors.Is(err, runtime.ErrStuck) {
		t.Fatalf("Stop: %v, want ErrStuck", err)
	}
}

// The node's own processes never count against a host's limits: with
// max_processes 1 and a system process on the host, the app still gets its
// one process, and a full mailbox bound does not refuse the node's sends.
func TestSystemProcessesAreNotCountedOnTheirHost(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) {
		c.Hosts = append(c.Hosts, runtime.HostConfig{ID: "app:one", MaxProcesses: 1, MaxMailbox: 1, QueueSize: 1})
	})
	sys, err := rt.Spawn(proc.SpawnRequest{Host: "app:one", System: true, Behavior: deaf()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Spawn(proc.SpawnRequest{Host: "app:one", Behavior: deaf()}); err != nil {
		t.Fatalf("the app's one process was refused: %v", err)
	}
	_, err = rt.Spawn(proc.SpawnRequest{Host: "app:one", Behavior: deaf()})
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable {
		t.Fatalf("a second app process: %v, want host full", err)
	}
	for i := range 3 {
		if err := rt.Send(sys, sys, "t", msg.Int(int64(i))); err != nil {
			t.Fatalf("send %d to the system process: %v", i, err)
		}
	}
	if got := rt.Counters().ProcessesByHost["app:one"]; got != 1 {
		t.Fatalf("app:one counts %d processes, want 1", got)
	}
}

// The pools' workers together are bounded: many hosts of their own pools
// must not start a goroutine army (each pool alone is bounded by sched).
func TestTotalWorkersBounded(t *testing.T) {
	cfg := runtime.DefaultConfig()
	cfg.Workers = 1
	for i := range 5 {
		cfg.Hosts = append(cfg.Hosts, runtime.HostConfig{ID: fmt.Sprintf("app:h%d", i), Workers: 1000})
	}
	if _, err := runtime.New(cfg); !errors.Is(err, runtime.ErrConfig) || !strings.Contains(err.Error(), "5001 workers") {
		t.Fatalf("New: %v, want ErrConfig naming 5001 workers", err)
	}
	cfg.Hosts = cfg.Hosts[:4]
	if err := cfg.Validate(); err != nil {
		t.Fatalf("4001 workers: %v", err)
	}
}

// terminator is a native process with a Terminate callback and no
// HandleEvent.
type terminator struct{ ended chan error }

func (x *terminator) HandleMessage(*native.Ctx, native.Message) error { return nil }
func (x *terminator) Terminate(_ *native.Ctx, reason error)           { x.ended <- reason }

// Cancel lets a Go-native process clean up: its Terminate callback runs.
// Terminate kills it: the callback does not run, and a monitor sees
// "terminated".
func TestCancelRunsTerminateCallbackTerminateDoesNot(t *testing.T) {
	rt := newRuntime(t, nil)
	for _, kill := range []bool{false, true} {
		x := &terminator{ended: make(chan error, 1)}
		id, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(x)})
		if err != nil {
			t.Fatal(err)
		}
		m := monitorOf(t, rt, id)
		if kill {
			err = rt.Terminate(id)
		} else {
			err = rt.Cancel(id, "asked")
		}
		if err != nil {
			t.Fatal(err)
		}
		// The callback runs before the exit is delivered.
		e := recv[native.Event](t, m.ch)
		select {
		case reason := <-x.ended:
			if kill {
				t.Fatalf("Terminate callback ran after Runtime.Terminate (reason %v)", reason)
			}
			if reason != nil || e.Err != nil {
				t.Fatalf("after Cancel: callback reason %v, exit %v; want a normal exit", reason, e.Err)
			}
		default:
			if !kill {
				t.Fatal("Terminate callback not called after Cancel")
			}
			if !errors.Is(e.Err, proc.ErrTerminated) {
				t.Fatalf("terminated process exited with %v, want terminated", e.Err)
			}
		}
	}
}
