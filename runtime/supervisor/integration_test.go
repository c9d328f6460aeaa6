package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

// Entries of the Go-native catalog the tests run services from.
const (
	entryIdle    = "test:idle"    // runs until CANCEL, then returns normally
	entryCrasher = "test:crasher" // enters main, then fails in its second turn
	entryDies    = "test:dies"    // fails in its first turn: never running
	entryTicker  = "test:ticker"  // counts turns forever, messaging itself
	entryBadArgs = "test:badargs" // the catalog refuses it (not retryable)
)

var errCrash = errors.New("crashed on purpose")

// slice is the runtimes' time slice in these tests. A long one keeps the
// scheduler's hand-off (a turn outlasting its slice on a loaded machine)
// out of tests that are about the supervisor: under -race that path
// reports a data race inside runtime/sched (M.stopSpinning reads
// p.spinning without idleMu, which wakeOne writes under it).
const slice = time.Second

// crasher sends itself a message in its first turn and fails on it.
type crasher struct{}

func (crasher) Init(c *native.Ctx, _ []msg.Value) error {
	return c.Send(c.Self(), "boom", msg.Nil)
}

func (crasher) HandleMessage(*native.Ctx, native.Message) error { return errCrash }

type dies struct{}

func (dies) Init(*native.Ctx, []msg.Value) error             { return errCrash }
func (dies) HandleMessage(*native.Ctx, native.Message) error { return nil }

// tickerCtl counts the turns of ticker processes and can park them.
type tickerCtl struct {
	n      atomic.Int64
	paused atomic.Bool
	parked chan struct{} // signalled when a ticker saw paused and went idle
}

// ticker counts its turns, sending itself the next tick each time, until
// paused.
type ticker struct{ ctl *tickerCtl }

func (t ticker) Init(c *native.Ctx, _ []msg.Value) error { return c.Send(c.Self(), "tick", msg.Nil) }

func (t ticker) HandleMessage(c *native.Ctx, _ native.Message) error {
	t.ctl.n.Add(1)
	if t.ctl.paused.Load() {
		select {
		case t.ctl.parked <- struct{}{}:
		default:
		}
		return nil
	}
	return c.Send(c.Self(), "tick", msg.Nil)
}

func catalog(ticks *tickerCtl) native.Catalog {
	return native.Catalog{
		entryIdle: func([]msg.Value) (native.Process, error) {
			return native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }), nil
		},
		entryCrasher: func([]msg.Value) (native.Process, error) { return crasher{}, nil },
		entryDies:    func([]msg.Value) (native.Process, error) { return dies{}, nil },
		entryTicker:  func([]msg.Value) (native.Process, error) { return ticker{ctl: ticks}, nil },
		entryBadArgs: func([]msg.Value) (native.Process, error) {
			return nil, proc.NewError(proc.KindInvalid, "bad arguments", msg.False)
		},
	}
}

// system is a real runtime with a Watcher and a Manager over it.
type system struct {
	ticks *tickerCtl // the ticker processes
	rt    *runtime.Runtime
	w     *supervisor.Watcher
	m     *supervisor.Manager
}

func newSystem(t *testing.T, log *slog.Logger, specs ...supervisor.ServiceSpec) *system {
	t.Helper()
	ticks := &tickerCtl{parked: make(chan struct{}, 1)}
	cfg := runtime.DefaultConfig()
	cfg.Workers = 2
	cfg.Slice = slice
	cfg.Catalog = catalog(ticks)
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	w, err := supervisor.NewWatcher(supervisor.WatcherConfig{Runtime: rt, Catalog: cfg.Catalog})
	if err != nil {
		t.Fatal(err)
	}
	m, err := supervisor.NewManager(supervisor.ManagerConfig{Services: specs, Processes: w, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Stop(ctx); err != nil {
			t.Errorf("manager stop: %v", err)
		}
		_ = w.Close()
		if err := rt.Stop(ctx); err != nil {
			t.Errorf("runtime stop: %v", err)
		}
	})
	return &system{ticks: ticks, rt: rt, w: w, m: m}
}

func spec(id, entry string) supervisor.ServiceSpec {
	return supervisor.ServiceSpec{ID: id, Process: entry, Host: "app:processes", AutoStart: true, Policy: supervisor.DefaultPolicy()}
}

func statusOf(t *testing.T, m *supervisor.Manager, id string) supervisor.ServiceStatus {
	t.Helper()
	for _, s := range m.Status() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no service %s", id)
	return supervisor.ServiceStatus{}
}

// waitState polls the manager until id is in state want.
func waitState(t *testing.T, m *supervisor.Manager, id string, want supervisor.State) supervisor.ServiceStatus {
	t.Helper()
	var st supervisor.ServiceStatus
	await.NoError(t, fmt.Sprintf("%s %s", id, want), func() error {
		if st = statusOf(t, m, id); st.State != want {
			return fmt.Errorf("%s (last error %v)", st.State, st.LastError)
		}
		return nil
	})
	return st
}

// TestRealRuntime runs services on a real runtime: dependency order,
// running after the first turn, a catalog refusal, a crash in the first
// turn, and a stop in reverse order.
func TestRealRuntime(t *testing.T) {
	dies := spec("app:dies", entryDies)
	dies.Policy.MaxAttempts = 2
	dies.Policy.InitialDelay = time.Millisecond
	sys := newSystem(t, nil,
		spec("app:db", entryIdle),
		func() supervisor.ServiceSpec {
			s := spec("app:api", entryIdle)
			s.Requires = []string{"app:db"}
			return s
		}(),
		spec("app:bad", entryBadArgs),
		dies,
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sys.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	db := waitState(t, sys.m, "app:db", supervisor.Running)
	api := waitState(t, sys.m, "app:api", supervisor.Running)
	if !sys.rt.Alive(db.PID) || !sys.rt.Alive(api.PID) {
		t.Fatalf("running services without a live process: %+v %+v", db, api)
	}
	if db.Since.After(api.Since) {
		t.Fatal("api ran before db")
	}
	bad := waitState(t, sys.m, "app:bad", supervisor.Failed)
	var perr *proc.Error
	if !errors.As(bad.LastError, &perr) || perr.Kind != proc.KindInvalid {
		t.Fatalf("bad failed with %v", bad.LastError)
	}
	d := waitState(t, sys.m, "app:dies", supervisor.Failed)
	if d.Restarts != 2 || !errors.Is(d.LastError, proc.AsError(errCrash)) {
		t.Fatalf("dies: %+v", d)
	}

	// A process killed from outside is an explicit termination: failed.
	if err := sys.rt.Terminate(api.PID); err != nil {
		t.Fatal(err)
	}
	api = waitState(t, sys.m, "app:api", supervisor.Failed)
	if !errors.Is(api.LastError, proc.ErrTerminated) {
		t.Fatalf("api: %+v", api)
	}
	if err := sys.m.Restart("app:api"); err != nil {
		t.Fatal(err)
	}
	api = waitState(t, sys.m, "app:api", supervisor.Running)

	if err := sys.m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range sys.m.Status() {
		if st.State == supervisor.Running || st.State == supervisor.Stopping || sys.rt.Alive(st.PID) {
			t.Fatalf("after Stop: %+v", st)
		}
	}
	if sys.rt.Alive(db.PID) || sys.rt.Alive(api.PID) {
		t.Fatal("a service process outlived Stop")
	}
}

// restartCounter is a slog.Handler counting "service restarting" lines.
// At each mark it holds the manager's goroutine (which logs the line) until
// the test lets it go, so the crash loop is paused while the test measures.
type restartCounter struct {
	n     atomic.Int64
	marks map[int64]*mark
}

type mark struct {
	reached chan struct{} // closed when the count reaches the mark
	resume  chan struct{} // closed by the test to let the manager go on
}

func newRestartCounter(at ...int64) *restartCounter {
	r := &restartCounter{marks: map[int64]*mark{}}
	for _, n := range at {
		r.marks[n] = &mark{reached: make(chan struct{}), resume: make(chan struct{})}
	}
	return r
}

func (r *restartCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *restartCounter) WithAttrs([]slog.Attr) slog.Handler           { return r }
func (r *restartCounter) WithGroup(string) slog.Handler                { return r }

func (r *restartCounter) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "service restarting" {
		if m, ok := r.marks[r.n.Add(1)]; ok {
			close(m.reached)
			<-m.resume
		}
	}
	return nil
}

// TestCrashLoopBounded: a service with initial_delay 0 and max_attempts 0
// that crashes at once, 10,000 times, does not stop another process from
// making progress, keeps the manager responsive, and does not grow the heap
// with the number of restarts.
func TestCrashLoopBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 restarts")
	}
	const early, late = 1000, 10000
	rc := newRestartCounter(early, late)
	loop := spec("app:loop", entryCrasher)
	loop.Policy.InitialDelay = 0
	loop.Policy.MaxAttempts = 0
	sys := newSystem(t, slog.New(rc), loop, spec("app:ticker", entryTicker))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := sys.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tick := waitState(t, sys.m, "app:ticker", supervisor.Running).PID

	// At each mark the manager is held in its restart log line, so no run
	// of the loop is alive; park the ticker too and measure a quiet heap.
	quiet := func(m *mark) (heapNow uint64, ticks int64) {
		<-m.reached
		ticks = sys.ticks.n.Load()
		sys.ticks.paused.Store(true)
		<-sys.ticks.parked
		heapNow = heap()
		sys.ticks.paused.Store(false)
		if err := sys.rt.Send(pid.PID{}, tick, "tick", msg.Nil); err != nil {
			t.Fatal(err)
		}
		close(m.resume)
		return heapNow, ticks
	}
	heapEarly, ticksEarly := quiet(rc.marks[early])
	at := time.Now()
	heapLate, ticksLate := quiet(rc.marks[late])
	took := time.Since(at)
	t.Logf("%d restarts in %s; the ticker made %d turns meanwhile", late-early, took, ticksLate-ticksEarly)
	t.Logf("heap after GC: %d B at %d restarts, %d B at %d", heapEarly, early, heapLate, late)
	if ticksLate-ticksEarly < late-early {
		t.Fatalf("the ticker made %d turns during %d restarts: starved", ticksLate-ticksEarly, late-early)
	}
	if heapLate > heapEarly+64<<10 {
		t.Fatalf("heap grew by %d B over %d restarts", heapLate-heapEarly, late-early)
	}

	q := time.Now()
	st := statusOf(t, sys.m, "app:loop")
	lat := time.Since(q)
	t.Logf("Status answered in %s during the loop: %+v", lat, st)
	if lat > time.Second || st.Restarts < late {
		t.Fatalf("manager slow or behind during the loop: Status took %s, %+v", lat, st)
	}
	if n := sys.rt.ProcessCount(); n > 3 { // watcher, ticker, the current run
		t.Fatalf("%d processes alive: old runs left behind", n)
	}
}

func heap() uint64 {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
