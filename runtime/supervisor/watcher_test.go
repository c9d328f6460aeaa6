package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// deafRuntime accepts the watcher's spawn but never runs it.
type deafRuntime struct{}

func (deafRuntime) Spawn(proc.SpawnRequest) (pid.PID, error) {
	return pid.PID{Node: "n1", Host: "h", Seq: 1}, nil
}
func (deafRuntime) Send(pid.PID, pid.PID, string, msg.Value) error { return nil }
func (deafRuntime) Cancel(pid.PID, string) error                   { return nil }
func (deafRuntime) Terminate(pid.PID) error                        { return nil }

type nopEvents struct{}

func (nopEvents) Running(pid.PID)       {}
func (nopEvents) Exited(pid.PID, error) {}

func TestWatcherSpawnTimeout(t *testing.T) {
	w, err := supervisor.NewWatcher(supervisor.WatcherConfig{Runtime: deafRuntime{}, Catalog: catalog(nil), SpawnTimeout: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Start(spec("app:x", entryIdle)); !errors.Is(err, supervisor.ErrStopped) {
		t.Fatalf("Start before Run = %v", err)
	}
	if err := w.Run(nopEvents{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Run(nopEvents{}); !errors.Is(err, supervisor.ErrInvalidConfig) {
		t.Fatalf("second Run = %v", err)
	}
	_, err = w.Start(spec("app:x", entryIdle))
	if !errors.Is(err, supervisor.ErrWatcherTimeout) {
		t.Fatalf("Start = %v, want a watcher timeout", err)
	}
	// Its retryable flag is unknown: the manager restarts it.
	if e := proc.AsError(err); e.Retryable != msg.Unknown {
		t.Fatalf("retryable %v", e.Retryable)
	}
}

func TestNewWatcherErrors(t *testing.T) {
	for _, cfg := range []supervisor.WatcherConfig{
		{},
		{Runtime: deafRuntime{}},
		{Runtime: deafRuntime{}, Catalog: catalog(nil), SpawnTimeout: -1},
	} {
		if _, err := supervisor.NewWatcher(cfg); !errors.Is(err, supervisor.ErrInvalidConfig) {
			t.Fatalf("NewWatcher(%+v) = %v", cfg, err)
		}
	}
}

// panicCatalog panics for one entry.
type panicCatalog struct{ runtime.Catalog }

func (c panicCatalog) Behavior(entry string, args []msg.Value) (proc.Behavior, error) {
	if entry == "test:panic" {
		panic("catalog bug")
	}
	return c.Catalog.Behavior(entry, args)
}

// TestWatcherHooks: Self and Prepare complete the spawn requests; a
// Prepare error or a catalog panic fails that start only.
func TestWatcherHooks(t *testing.T) {
	cfg := runtime.DefaultConfig()
	cfg.Workers = 2
	cfg.Slice = slice
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	var selfSeen bool
	errNo := proc.NewError(proc.KindPermissionDenied, "no", msg.False)
	w, err := supervisor.NewWatcher(supervisor.WatcherConfig{
		Runtime: rt, Catalog: panicCatalog{catalog(nil)},
		Self: func(req *proc.SpawnRequest) { selfSeen = req.Entry == "supervisor:watcher" },
		Prepare: func(svc supervisor.ServiceSpec, req *proc.SpawnRequest) error {
			if svc.ID == "app:denied" {
				return errNo
			}
			req.Name = svc.ID // visible effect: the run is registered
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(nopEvents{}); err != nil {
		t.Fatal(err)
	}
	if !selfSeen || !rt.Alive(w.PID()) {
		t.Fatalf("watcher: self hook %v, alive %v", selfSeen, rt.Alive(w.PID()))
	}
	if _, err := w.Start(spec("app:denied", entryIdle)); !errors.Is(err, errNo) {
		t.Fatalf("Start(denied) = %v", err)
	}
	if _, err := w.Start(spec("app:panics", "test:panic")); proc.ExitReason(err) != "panic" {
		t.Fatalf("Start(panic) = %v", err)
	}
	p, err := w.Start(spec("app:ok", entryIdle))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rt.Lookup("app:ok"); err != nil || got != p {
		t.Fatalf("Lookup = %v, %v; want %v", got, err, p)
	}
	if !rt.Alive(w.PID()) {
		t.Fatal("the watcher died")
	}
	_ = w.Close()
}
