package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// fakeClock is a Clock whose time moves only in Advance. Timers fire in
// due order, each at its own time, and Advance lets the manager handle
// each fire (synctest.Wait) before the next, so cascades are exact.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c   *fakeClock
	at  time.Time
	seq int
	f   func()
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	tm := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, tm)
	return tm
}

func (tm *fakeTimer) Stop() bool {
	c := tm.c
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, tm)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	return true
}

// armed returns how many timers are pending.
func (c *fakeClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Advance moves the clock by d, firing due timers in order. Call it inside
// a synctest bubble.
func (c *fakeClock) Advance(d time.Duration) {
	synctest.Wait()
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, tm := range c.timers {
			if !tm.at.After(end) && (next == nil || tm.at.Before(next.at) || (tm.at.Equal(next.at) && tm.seq < next.seq)) {
				next = tm
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			synctest.Wait()
			return
		}
		c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == next })
		c.now = next.at
		c.mu.Unlock()
		next.f()
		synctest.Wait()
	}
}

// call is one call the manager made on the fake Processes.
type call struct {
	op  string // "start", "cancel", "terminate"
	id  string // service id
	pid pid.PID
	at  time.Duration // since t0
}

// fakeProcs is a Processes that records calls. A Cancel ends the process
// normally unless its service is in stubborn; a Terminate always ends it
// with "terminated" (unless holdTerminate); a start fails with startErr[id] when set.
type fakeProcs struct {
	clock *fakeClock
	ev    Events // set after NewManager

	mu       sync.Mutex
	seq      uint64
	calls    []call
	live     map[pid.PID]string
	last     map[string]pid.PID
	startErr map[string]error
	stubborn map[string]bool
	// holdTerminate keeps a terminated process's exit for the test to report.
	holdTerminate bool
}

func newFakeProcs(c *fakeClock) *fakeProcs {
	return &fakeProcs{clock: c, live: map[pid.PID]string{}, last: map[string]pid.PID{},
		startErr: map[string]error{}, stubborn: map[string]bool{}}
}

func (f *fakeProcs) record(op, id string, p pid.PID) {
	f.calls = append(f.calls, call{op: op, id: id, pid: p, at: f.clock.Now().Sub(t0)})
}

func (f *fakeProcs) Start(svc ServiceSpec) (pid.PID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.startErr[svc.ID]; err != nil {
		f.record("start", svc.ID, pid.PID{})
		return pid.PID{}, err
	}
	f.seq++
	p := pid.PID{Node: "n1", Host: "app:processes", Seq: f.seq}
	f.live[p] = svc.ID
	f.last[svc.ID] = p
	f.record("start", svc.ID, p)
	return p, nil
}

func (f *fakeProcs) Cancel(p pid.PID, _ string) error {
	f.mu.Lock()
	id := f.live[p]
	f.record("cancel", id, p)
	stubborn := f.stubborn[id]
	f.mu.Unlock()
	if !stubborn {
		f.end(p, nil)
	}
	return nil
}

func (f *fakeProcs) Terminate(p pid.PID) error {
	f.mu.Lock()
	f.record("terminate", f.live[p], p)
	hold := f.holdTerminate
	f.mu.Unlock()
	if !hold {
		f.end(p, proc.ErrTerminated)
	}
	return nil
}

// end reports p's exit once, as a monitor would.
func (f *fakeProcs) end(p pid.PID, err error) {
	f.mu.Lock()
	_, ok := f.live[p]
	delete(f.live, p)
	f.mu.Unlock()
	if ok {
		f.ev.Exited(p, err)
	}
}

// set changes the fake's behaviour under its lock.
func (f *fakeProcs) set(change func(f *fakeProcs)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeProcs) pidOf(id string) pid.PID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last[id]
}

// ops returns the recorded calls as "op id @at", optionally only of op.
func (f *fakeProcs) ops(only string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if only == "" || c.op == only {
			out = append(out, fmt.Sprintf("%s %s @%s", c.op, c.id, c.at))
		}
	}
	return out
}

var _ Processes = (*fakeProcs)(nil)

// logRec is one captured log line.
type logRec struct {
	level slog.Level
	msg   string
	attrs map[string]any
}

// logSink is a slog.Handler that keeps every record.
type logSink struct {
	mu   sync.Mutex
	recs []logRec
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logSink) WithGroup(string) slog.Handler            { return l }

func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Any()
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, rec)
	l.mu.Unlock()
	return nil
}

// find returns the records with message msg about service id.
func (l *logSink) find(msg, id string) []logRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRec
	for _, r := range l.recs {
		if r.msg == msg && r.attrs["service"] == id {
			out = append(out, r)
		}
	}
	return out
}

// harness runs a Manager over a fake clock and fake processes. Create it
// inside synctest.Test; it stops the manager when the test ends.
type harness struct {
	t     *testing.T
	clock *fakeClock
	procs *fakeProcs
	logs  *logSink
	m     *Manager
}

func newHarness(t *testing.T, specs ...ServiceSpec) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(), logs: &logSink{}}
	h.procs = newFakeProcs(h.clock)
	m, err := NewManager(ManagerConfig{
		Services: specs, Processes: h.procs, Clock: h.clock,
		Rand: func() float64 { return 0.5 }, Logger: slog.New(h.logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	h.procs.ev = m
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		_ = m.Stop(ctx)
	})
	return h
}

// start calls Manager.Start on a goroutine; the result comes on the channel.
func (h *harness) start() <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- h.m.Start(context.Background()) }()
	synctest.Wait()
	return ch
}

// stop calls Manager.Stop on a goroutine; the result comes on the channel.
func (h *harness) stop(ctx context.Context) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- h.m.Stop(ctx) }()
	synctest.Wait()
	return ch
}

func (h *harness) running(id string) {
	h.t.Helper()
	h.m.Running(h.procs.pidOf(id))
	synctest.Wait()
}

func (h *harness) exit(id string, err error) {
	h.t.Helper()
	h.procs.end(h.procs.pidOf(id), err)
	synctest.Wait()
}

func (h *harness) status(id string) ServiceStatus {
	h.t.Helper()
	for _, s := range h.m.Status() {
		if s.ID == id {
			return s
		}
	}
	h.t.Fatalf("no status for %s", id)
	return ServiceStatus{}
}

func (h *harness) wantState(id string, want State) {
	h.t.Helper()
	if got := h.status(id).State; got != want {
		h.t.Fatalf("%s is %s, want %s\ncalls: %v", id, got, want, h.procs.ops(""))
	}
}

func (h *harness) wantOps(only string, want ...string) {
	h.t.Helper()
	if got := h.procs.ops(only); !slices.Equal(got, want) {
		h.t.Fatalf("%s calls:\n got %q\nwant %q", only, got, want)
	}
}

// done reports whether ch has a value, and the value.
func done(ch <-chan error) (error, bool) {
	select {
	case err := <-ch:
		return err, true
	default:
		return nil, false
	}
}

func svc(id string, requires ...string) ServiceSpec {
	return ServiceSpec{ID: id, Process: id + ".proc", AutoStart: true, Requires: requires, Policy: DefaultPolicy()}
}
