package supervisor_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// luaCatalog serves fixed Lua sources to the engine.
type luaCatalog map[string]string

func (c luaCatalog) Source(id string) (*lua.Source, error) {
	code, ok := c[id]
	if !ok {
		return nil, lua.ErrEntry
	}
	return &lua.Source{ID: id, Path: id + ".lua", Code: []byte(code), Method: "main"}, nil
}

func (c luaCatalog) Reload(id string) (*lua.Source, error) { return c.Source(id) }

const (
	// Waits for CANCEL, then returns normally.
	luaWaiter = `return {main = function()
  local ev = process.events()
  while true do
    local e = ev:receive()
    if e.kind == process.event.CANCEL then return end
  end
end}`
	// Raises in main: the first turn ends the process.
	luaCrash = `return {main = function() error("lua boom") end}`
	// Returns at once: exited, not restarted.
	luaDone = `return {main = function() return 0 end}`
)

// TestLuaServices runs Lua services on a real runtime through the Watcher.
func TestLuaServices(t *testing.T) {
	eng, err := lua.New(lua.Config{
		Catalog: luaCatalog{"app:waiter": luaWaiter, "app:crash": luaCrash, "app:done": luaDone},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := runtime.DefaultConfig()
	cfg.Workers = 2
	cfg.Slice = slice
	cfg.Catalog = eng
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	w, err := supervisor.NewWatcher(supervisor.WatcherConfig{Runtime: rt, Catalog: eng})
	if err != nil {
		t.Fatal(err)
	}
	crash := spec("app:crash-svc", "app:crash")
	crash.Policy.MaxAttempts = 2
	crash.Policy.InitialDelay = time.Millisecond
	waiter := spec("app:waiter-svc", "app:waiter")
	waiter.Requires = []string{"app:done-svc"}
	m, err := supervisor.NewManager(supervisor.ManagerConfig{
		Processes: w,
		Services:  []supervisor.ServiceSpec{spec("app:svc", "app:waiter"), crash, spec("app:done-svc", "app:done"), waiter},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(m); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Cleanup(func() {
		_ = m.Stop(ctx)
		_ = w.Close()
		_ = rt.Stop(ctx)
	})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc := waitState(t, m, "app:svc", supervisor.Running)
	c := waitState(t, m, "app:crash-svc", supervisor.Failed)
	if c.Restarts != 2 || c.LastError == nil || !strings.Contains(c.LastError.Error(), "lua boom") {
		t.Fatalf("crash service: %+v", c)
	}
	waitState(t, m, "app:done-svc", supervisor.Exited)
	// Its requirement exited before it ran: it waits.
	if st := statusOf(t, m, "app:waiter-svc"); st.State != supervisor.Stopped || len(st.Waiting) != 1 {
		t.Fatalf("waiter: %+v", st)
	}

	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st := statusOf(t, m, "app:svc")
	if st.State != supervisor.Stopped || rt.Alive(svc.PID) {
		t.Fatalf("after Stop: %+v", st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "the watcher ended on Close", func() bool { return w.PID().IsZero() })
	if _, err := w.Start(spec("x", "app:waiter")); !errors.Is(err, supervisor.ErrStopped) {
		t.Fatalf("Start after Close = %v", err)
	}
}
