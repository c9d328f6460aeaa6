package supervisor

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Runtime is what a Watcher needs from the node's runtime;
// *runtime.Runtime has these methods.
type Runtime interface {
	Spawn(req proc.SpawnRequest) (pid.PID, error)
	Send(from, to pid.PID, topic string, payload msg.Value) error
	Cancel(p pid.PID, reason string) error
	Terminate(p pid.PID) error
}

// Catalog makes the behaviour of an entry; the node's runtime catalog
// (Lua entries, Go-native ones) has this method.
type Catalog interface {
	Behavior(entry string, args []msg.Value) (proc.Behavior, error)
}

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Runtime runs the watcher process and the services. Required.
	Runtime Runtime
	// Catalog makes the services' behaviours. Required.
	Catalog Catalog
	// Host is the host of the watcher process; "" = the runtime's first.
	Host string
	// Self, when set, completes the watcher process's own spawn request
	// (its security identity: it spawns and monitors every service).
	Self func(req *proc.SpawnRequest)
	// Prepare, when set, completes the spawn request of each service run
	// (the service's actor and security scope, from svc.Entry). An error
	// fails that start.
	Prepare func(svc ServiceSpec, req *proc.SpawnRequest) error
	// SpawnTimeout bounds how long Start waits for the watcher process to
	// take a spawn; 0 = 5s. A start that times out fails with
	// ErrWatcherTimeout (restarted with back-off).
	SpawnTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Watcher is the Processes of a Manager over the runtime. It runs one
// Go-native process, the watcher, that spawns every service process with
// a monitor (set up with the spawn, before the child runs, so no exit can
// be missed) and forwards each EXIT to the Manager. Each service process
// runs inside a thin behaviour that reports its first turn: the service is
// running once its first turn ended with the process still alive (for
// Lua: the chunk loaded and main entered and reached its first wait or
// yield). A process that ends in its first turn never was running.
//
// The watcher process ends on CANCEL (Close, or the runtime stopping);
// after that Start fails with ErrStopped. Stop the Manager before.
type Watcher struct {
	cfg WatcherConfig
	log *slog.Logger

	mu     sync.Mutex
	self   pid.PID       // mu
	events Events        // mu; set by Run
	queue  []*spawnReq   // mu
	ended  chan struct{} // closed when the watcher process ends normally
}

var _ Processes = (*Watcher)(nil)

// spawnTopic wakes the watcher process to take queued spawns.
const spawnTopic = "supervisor.spawn"

type spawnReq struct {
	svc   ServiceSpec
	taken bool // mu: the watcher process has it; an answer will come
	reply chan spawnResult
}

type spawnResult struct {
	pid pid.PID
	err error
}

// NewWatcher checks cfg; Run starts the watcher process.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.Runtime == nil || cfg.Catalog == nil {
		return nil, fmt.Errorf("%w: a watcher needs a Runtime and a Catalog", ErrInvalidConfig)
	}
	if cfg.SpawnTimeout < 0 {
		return nil, fmt.Errorf("%w: negative spawn timeout", ErrInvalidConfig)
	}
	if cfg.SpawnTimeout == 0 {
		cfg.SpawnTimeout = 5 * time.Second
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger, ended: make(chan struct{})}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w, nil
}

// Run spawns the watcher process, which reports to ev (the Manager). Call
// it once, before the Manager starts anything.
func (w *Watcher) Run(ev Events) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.self.IsZero() || w.events != nil {
		return fmt.Errorf("%w: watcher already running", ErrInvalidConfig)
	}
	req := proc.SpawnRequest{Entry: "supervisor:watcher", Behavior: native.New(&watcherProc{w: w}), Host: w.cfg.Host}
	if w.cfg.Self != nil {
		w.cfg.Self(&req)
	}
	w.events = ev
	p, err := w.cfg.Runtime.Spawn(req)
	if err != nil {
		w.events = nil
		return fmt.Errorf("supervisor: start the watcher: %w", err)
	}
	w.self = p
	return nil
}

// PID returns the watcher process's PID; zero before Run.
func (w *Watcher) PID() pid.PID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.self
}

// Close asks the watcher process to end (CANCEL). Processes spawned
// afterwards are not watched: stop the Manager first.
func (w *Watcher) Close() error {
	p := w.PID()
	if p.IsZero() {
		return nil
	}
	return w.cfg.Runtime.Cancel(p, "watcher closing")
}

// Start implements Processes: the watcher process spawns the service and
// monitors it, and Start waits (at most SpawnTimeout) for its PID.
func (w *Watcher) Start(svc ServiceSpec) (pid.PID, error) {
	req := &spawnReq{svc: svc, reply: make(chan spawnResult, 1)}
	w.mu.Lock()
	self := w.self
	if self.IsZero() {
		w.mu.Unlock()
		return pid.PID{}, fmt.Errorf("%w: the watcher is not running", ErrStopped)
	}
	w.queue = append(w.queue, req)
	w.mu.Unlock()
	if err := w.cfg.Runtime.Send(pid.PID{}, self, spawnTopic, msg.Nil); err != nil {
		if w.withdraw(req) {
			return pid.PID{}, fmt.Errorf("supervisor: wake the watcher: %w", err)
		}
		r := <-req.reply
		return r.pid, r.err
	}
	timer := time.NewTimer(w.cfg.SpawnTimeout)
	defer timer.Stop()
	var why error
	select {
	case r := <-req.reply:
		return r.pid, r.err
	case <-w.ended:
		why = fmt.Errorf("%w: the watcher ended", ErrStopped)
	case <-timer.C:
		why = fmt.Errorf("%w within %s", ErrWatcherTimeout, w.cfg.SpawnTimeout)
	}
	if w.withdraw(req) {
		return pid.PID{}, why
	}
	// Taken: the watcher is spawning it in its current turn and answers.
	r := <-req.reply
	return r.pid, r.err
}

// withdraw removes req from the queue unless the watcher took it already.
func (w *Watcher) withdraw(req *spawnReq) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if req.taken {
		return false
	}
	for i, q := range w.queue {
		if q == req {
			w.queue = append(w.queue[:i], w.queue[i+1:]...)
			break
		}
	}
	return true
}

// Cancel implements Processes.
func (w *Watcher) Cancel(p pid.PID, reason string) error { return w.cfg.Runtime.Cancel(p, reason) }

// Terminate implements Processes.
func (w *Watcher) Terminate(p pid.PID) error { return w.cfg.Runtime.Terminate(p) }

// take hands the queued requests to the watcher process.
func (w *Watcher) take() ([]*spawnReq, Events) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	for _, r := range q {
		r.taken = true
	}
	return q, w.events
}

// watcherProc is the watcher process.
type watcherProc struct{ w *Watcher }

func (wp *watcherProc) HandleMessage(c *native.Ctx, m native.Message) error {
	if m.Topic != spawnTopic || !m.From.IsZero() {
		return nil // only the Watcher's own wake-ups
	}
	reqs, ev := wp.w.take()
	for _, r := range reqs {
		p, err := wp.spawn(c, r.svc, ev)
		r.reply <- spawnResult{pid: p, err: err}
	}
	return nil
}

// spawn starts one service run with a monitor; a panic in the catalog is
// an error of that start, not the end of the watcher.
func (wp *watcherProc) spawn(c *native.Ctx, svc ServiceSpec, ev Events) (p pid.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = pid.PID{}, proc.Panic(r)
		}
	}()
	b, err := wp.w.cfg.Catalog.Behavior(svc.Process, svc.Input)
	if err != nil {
		return pid.PID{}, err
	}
	req := proc.SpawnRequest{
		Entry: svc.Process, Behavior: reporter(b, ev), Host: svc.Host,
		Args: svc.Input, Monitor: true,
	}
	if wp.w.cfg.Prepare != nil {
		if err := wp.w.cfg.Prepare(svc, &req); err != nil {
			b.Kill(err)
			return pid.PID{}, err
		}
	}
	return c.Spawn(req)
}

func (wp *watcherProc) HandleEvent(c *native.Ctx, e native.Event) error {
	switch e.Kind {
	case proc.DeliveryExit:
		wp.w.mu.Lock()
		ev := wp.w.events
		wp.w.mu.Unlock()
		ev.Exited(e.From, e.Err)
	case proc.DeliveryCancel:
		wp.w.log.Info("supervisor watcher stopping", "reason", e.Reason)
		c.Stop(msg.Nil)
	}
	return nil
}

// Terminate runs when the watcher ends normally (not when killed): later
// starts fail at once.
func (wp *watcherProc) Terminate(*native.Ctx, error) {
	w := wp.w
	w.mu.Lock()
	w.self = pid.PID{}
	q := w.queue
	w.queue = nil
	w.mu.Unlock()
	close(w.ended)
	for _, r := range q {
		r.reply <- spawnResult{err: fmt.Errorf("%w: the watcher ended", ErrStopped)}
	}
}

// reporter wraps a service's behaviour to report its first turn.
func reporter(b proc.Behavior, ev Events) proc.Behavior {
	return &firstTurn{inner: b, ev: ev}
}

// firstTurn reports Running after the first Step that leaves the process
// alive, then gets out of the way.
type firstTurn struct {
	inner proc.Behavior
	ev    Events // nil once reported
}

func (f *firstTurn) Step(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
	st, res := f.inner.Step(env, batch)
	if f.ev != nil {
		if st != proc.StatusDone {
			f.ev.Running(env.Self())
		}
		f.ev = nil
	}
	return st, res
}

func (f *firstTurn) Kill(reason error) { f.inner.Kill(reason) }

// Interrupt passes the runtime's interrupt on to a behaviour that has one.
func (f *firstTurn) Interrupt() {
	if i, ok := f.inner.(proc.Interrupter); ok {
		i.Interrupt()
	}
}

// Held passes on what the behaviour holds of its mailbox.
func (f *firstTurn) Held() int {
	if h, ok := f.inner.(proc.Holder); ok {
		return h.Held()
	}
	return 0
}

// Topics passes on the topics the behaviour listens to, for observers
// (runtime.TopicLister).
func (f *firstTurn) Topics() []string {
	if t, ok := f.inner.(interface{ Topics() []string }); ok {
		return t.Topics()
	}
	return nil
}

var (
	_ proc.Behavior    = (*firstTurn)(nil)
	_ proc.Interrupter = (*firstTurn)(nil)
	_ proc.Holder      = (*firstTurn)(nil)
)
