package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wippyd/wippyd/runtime/pid"
)

// Processes runs service processes for a Manager. Watcher implements it
// over the runtime; tests use a fake.
//
// The Manager calls it from its own goroutine, one call at a time. A call
// may block briefly but must never wait for the Manager: what happens to a
// process afterwards is reported through the Manager's Events methods,
// which only queue.
type Processes interface {
	// Start spawns a new process for svc and returns its PID. Its end must
	// later be reported with Events.Exited, and its first completed turn
	// with Events.Running. An error is a start that failed at once; it is
	// decided like an exit with that error (its retryable flag counts).
	Start(svc ServiceSpec) (pid.PID, error)
	// Cancel asks p to finish (a CANCEL with reason).
	Cancel(p pid.PID, reason string) error
	// Terminate ends p at once.
	Terminate(p pid.PID) error
}

// Events is how the process side reports to a Manager; *Manager implements
// it. Both methods only queue the event and return at once, so they may be
// called from anywhere, a scheduler worker included.
type Events interface {
	// Running reports that process p finished its first turn alive: main
	// was entered and has not returned.
	Running(p pid.PID)
	// Exited reports that process p ended; err is nil for a normal return.
	Exited(p pid.PID, err error)
}

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Services are the services to supervise. IDs must be unique, every
	// required id must be in the set, and requirements must not form a
	// cycle.
	Services []ServiceSpec
	// Processes starts and stops the services' processes. Required.
	Processes Processes
	// Clock reads the time and arms timers; nil = SystemClock().
	Clock Clock
	// Rand returns random numbers in [0, 1) for the back-off jitter; nil =
	// math/rand/v2's Float64. Called only from the manager's goroutine.
	Rand func() float64
	// Logger receives one line per life-cycle event; nil discards them.
	Logger *slog.Logger
}

// ServiceStatus is a snapshot of one service.
type ServiceStatus struct {
	ID    string
	State State
	// PID is the service's current process; zero when it has none.
	PID pid.PID
	// Attempts is the number of restarts since the budget was last reset.
	Attempts int
	// Restarts counts every automatic restart the manager made since it
	// was created (wippy_service_restarts_total{service}).
	Restarts uint64
	// LastError is the error of the last run that crashed or failed; nil
	// after an operator restart and for a stop.
	LastError error
	// Since is when the service entered State.
	Since time.Time
	// Waiting lists the requirements that are not running, for a service
	// that should start but cannot yet.
	Waiting []string
}

// Manager is the supervision shell: one goroutine that owns a Tracker per
// service, starts services in dependency order, restarts them by their
// policy, and stops them in reverse order. See the package documentation.
type Manager struct {
	procs Processes
	clock Clock
	rnd   func() float64
	log   *slog.Logger

	byID  map[string]*service
	order []*service // start order

	reqs chan func()
	quit chan struct{}
	done chan struct{}

	evMu     sync.Mutex
	evq      []event // mu
	evClosed bool    // mu
	wake     chan struct{}

	// Owned by the loop goroutine.
	spare        []event
	byPID        map[pid.PID]*service
	started      bool
	stopping     bool
	startWaiters []chan error
	stopWaiters  []chan struct{}

	stopOnce sync.Once
	stopErr  error
	final    []ServiceStatus // written before done is closed
}

var _ Events = (*Manager)(nil)

// NewManager checks cfg and starts the manager's goroutine; nothing runs
// until Start (or Restart of one service). Stop the manager to release the
// goroutine.
//
// Errors wrap ErrInvalidConfig, ErrInvalidPolicy (naming the service),
// ErrUnknownService for a requirement that is not in the set, and ErrCycle
// naming the cycle ("a -> b -> a").
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Processes == nil {
		return nil, fmt.Errorf("%w: no Processes", ErrInvalidConfig)
	}
	requires := make(map[string][]string, len(cfg.Services))
	specs := make(map[string]ServiceSpec, len(cfg.Services))
	for _, s := range cfg.Services {
		if s.ID == "" {
			return nil, fmt.Errorf("%w: service with an empty id", ErrInvalidConfig)
		}
		if _, dup := specs[s.ID]; dup {
			return nil, fmt.Errorf("%w: service %s given twice", ErrInvalidConfig, s.ID)
		}
		if err := s.Policy.Validate(); err != nil {
			return nil, fmt.Errorf("service %s: %w", s.ID, err)
		}
		specs[s.ID] = s
		requires[s.ID] = s.Requires
	}
	order, err := Order(requires)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		procs: cfg.Processes, clock: cfg.Clock, rnd: cfg.Rand, log: cfg.Logger,
		byID:  make(map[string]*service, len(order)),
		reqs:  make(chan func()),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
		byPID: make(map[pid.PID]*service, len(order)),
	}
	if m.clock == nil {
		m.clock = SystemClock()
	}
	if m.rnd == nil {
		m.rnd = rand.Float64
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for _, id := range order {
		spec := specs[id]
		spec.Requires = slices.Clone(spec.Requires)
		t, _ := New(spec.Policy) // validated above
		s := &service{spec: spec, t: t}
		m.byID[id] = s
		m.order = append(m.order, s)
	}
	for _, s := range m.order {
		for _, r := range slices.Compact(slices.Sorted(slices.Values(s.spec.Requires))) {
			req := m.byID[r]
			s.requires = append(s.requires, req)
			req.dependents = append(req.dependents, s)
		}
	}
	go m.loop()
	return m, nil
}

// Start starts every service with AutoStart, and every service they
// require, in dependency order: a service starts once everything it
// requires is running. It returns when each of them has settled: running,
// exited, failed, crashed at least once (it goes on restarting by its
// policy), or unable to start because a requirement is down. Services keep
// going in the background after Start returns. It returns ctx's error if
// ctx ends first (the services still keep going), ErrStarted when called
// again, and ErrStopped once Stop was called.
func (m *Manager) Start(ctx context.Context) error {
	ch := make(chan error, 1)
	err := m.call(func() {
		switch {
		case m.stopping:
			ch <- ErrStopped
		case m.started:
			ch <- ErrStarted
		default:
			m.started = true
			for _, s := range m.order {
				if s.spec.AutoStart {
					m.want(s, true)
				}
			}
			m.startWaiters = append(m.startWaiters, ch)
		}
	})
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops every service in reverse dependency order: a service is sent
// CANCEL once every service that requires it has stopped, and is
// terminated if it has not ended stop_timeout later. Pending restarts are
// dropped. Stop returns when no service has a process left; if ctx ends
// first, every remaining process is terminated and the error wraps
// ErrStopTimeout and ctx's error. Stop then ends the manager's goroutine;
// later calls return the first call's result, Status returns the final
// snapshot, and other methods return ErrStopped.
func (m *Manager) Stop(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.stopErr = m.stopAll(ctx)
		close(m.quit)
		<-m.done
	})
	return m.stopErr
}

func (m *Manager) stopAll(ctx context.Context) error {
	ch := make(chan struct{})
	err := m.call(func() {
		m.stopping = true
		for _, w := range m.startWaiters {
			w <- ErrStopped
		}
		m.startWaiters = nil
		m.stopWaiters = append(m.stopWaiters, ch)
	})
	if err != nil {
		return nil // the loop is gone: nothing runs
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	var left []string
	_ = m.call(func() { left = m.terminateAll() })
	if len(left) == 0 {
		return nil // everything ended just as ctx did
	}
	return fmt.Errorf("%w: %w (terminated: %s)", ErrStopTimeout, ctx.Err(), strings.Join(left, ", "))
}

// Restart is the operator restart of one service (POST
// /v1/services/{id}/restart). A stopped, exited or failed service starts
// again with a fresh restart budget and no last error, once everything it
// requires is running (required services that were never started are
// started too; failed ones are not). A service waiting out a back-off
// starts at once with a fresh budget; a live one is stopped (CANCEL, then
// terminate after stop_timeout) and started again. Restart returns once
// the request is accepted, not when the service runs. Errors wrap
// ErrUnknownService or ErrStopped.
func (m *Manager) Restart(id string) error {
	var res error
	err := m.call(func() {
		s, ok := m.byID[id]
		switch {
		case !ok:
			res = fmt.Errorf("%w: %s", ErrUnknownService, id)
		case m.stopping:
			res = ErrStopped
		default:
			m.restart(s)
		}
	})
	if err != nil {
		return err
	}
	return res
}

// Status returns a snapshot of every service, in start order. After Stop
// it returns the final snapshot.
func (m *Manager) Status() []ServiceStatus {
	var st []ServiceStatus
	if m.call(func() { st = m.snapshot() }) != nil {
		return slices.Clone(m.final)
	}
	return st
}

// Running implements Events.
func (m *Manager) Running(p pid.PID) { m.post(event{kind: evRunning, pid: p}) }

// Exited implements Events.
func (m *Manager) Exited(p pid.PID, err error) { m.post(event{kind: evExited, pid: p, err: err}) }

// call runs f on the manager's goroutine and waits for it; ErrStopped when
// the goroutine has ended.
func (m *Manager) call(f func()) error {
	ran := make(chan struct{})
	select {
	case m.reqs <- func() { f(); close(ran) }:
	case <-m.done:
		return ErrStopped
	}
	<-ran
	return nil
}

type eventKind uint8

const (
	evRunning eventKind = iota // a process's first turn ran
	evExited                   // a process ended
	evTimer                    // a service timer fired (or a zero delay elapsed)
)

type event struct {
	kind eventKind
	pid  pid.PID
	err  error
	svc  *service
	gen  uint64
}

// post queues an event for the loop. It never blocks: the queue is bounded
// by the live processes (one Running and one Exited per run, a service
// having at most one run) and the timers (at most one armed per service,
// plus fired ones it disarmed), so it stays within a few entries per
// service whatever the restart rate.
func (m *Manager) post(e event) {
	m.evMu.Lock()
	if m.evClosed {
		m.evMu.Unlock()
		return
	}
	m.evq = append(m.evq, e)
	m.evMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Manager) loop() {
	defer close(m.done)
	for {
		select {
		case f := <-m.reqs:
			f()
		case <-m.wake:
			m.drain()
		case <-m.quit:
			m.evMu.Lock()
			m.evClosed, m.evq = true, nil
			m.evMu.Unlock()
			for _, s := range m.order {
				m.disarm(s)
			}
			m.final = m.snapshot()
			return
		}
		m.progress()
	}
}

// drain handles the queued events. Events queued meanwhile (a zero
// back-off delay) wait for the next round, so requests are served in
// between even in a tight crash loop.
func (m *Manager) drain() {
	m.evMu.Lock()
	batch := m.evq
	m.evq = m.spare[:0]
	m.evMu.Unlock()
	for i := range batch {
		m.handle(&batch[i])
	}
	clear(batch)
	m.spare = batch[:0]
}

func (m *Manager) snapshot() []ServiceStatus {
	out := make([]ServiceStatus, 0, len(m.order))
	for _, s := range m.order {
		st := ServiceStatus{
			ID: s.spec.ID, State: s.t.State(), PID: s.pid, Attempts: s.t.Attempts(),
			Restarts: s.restarts, LastError: s.t.LastErr(), Since: s.since,
		}
		if s.wanted && st.State.Terminal() {
			st.Waiting = m.notRunning(s)
		}
		out = append(out, st)
	}
	return out
}
