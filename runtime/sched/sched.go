package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("sched: invalid config")

// Runner is what the scheduler runs: a process's turn.
type Runner interface {
	Run(w *Worker)
}

// Task is the scheduler's handle on a Runner. Embed it in the runnable type
// and call Init once; it must not be copied afterwards.
type Task struct {
	r    Runner
	next *Task // link in the global queue
}

// Init binds t to r.
func (t *Task) Init(r Runner) { t.r = r }

// Bounds of Config. Past a few times the CPU count more workers only add
// goroutines and memory (each slot holds a run queue); parking and
// stealing scan the slots, so their cost grows with the count. Measured:
// 16,384 workers start in 0.3 s, 65,536 in 33 s.
const (
	MaxWorkers        = 1024
	MaxLocalQueueSize = 4096
)

// Config configures a Scheduler.
type Config struct {
	// Workers is the number of worker slots, at most MaxWorkers; 0 means
	// GOMAXPROCS (capped at MaxWorkers).
	Workers int
	// LocalQueueSize is the capacity of each slot's run queue (default 256,
	// at most MaxLocalQueueSize);
	// overflow moves half of it to the global queue: a ready task is never dropped.
	LocalQueueSize int
	// Slice is how long one task may hold a worker before the slot is handed
	// to a new worker goroutine (default 10ms). Shorter: fairer, more hand-offs.
	Slice time.Duration
	// Logger receives scheduler diagnostics; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{LocalQueueSize: 256, Slice: 10 * time.Millisecond}
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Workers < 0 || c.LocalQueueSize < 0 || c.Slice < 0 {
		return ErrConfig
	}
	if c.Workers > MaxWorkers || c.LocalQueueSize > MaxLocalQueueSize {
		return fmt.Errorf("%w: at most %d workers and a local queue of %d", ErrConfig, MaxWorkers, MaxLocalQueueSize)
	}
	return nil
}

// Stats are the scheduler's counters.
type Stats struct {
	Steals    uint64 // tasks taken from another slot's queue
	HandOffs  uint64 // slots handed to a new worker goroutine
	RunQueue  int    // tasks waiting in all queues now
	Workers   int    // worker slots
	Idle      int    // slots parked now
	Executed  uint64 // tasks run
	TimersRun uint64 // timers fired
}

// Scheduler runs tasks on worker slots. Start it, Submit tasks, Stop it.
type Scheduler struct {
	cfg   Config
	epoch time.Time
	ps    []*P

	gmu   sync.Mutex
	ghead *Task
	gtail *Task
	glen  atomic.Int64

	idleMu    sync.Mutex
	idle      []*P
	nidle     atomic.Int32
	nspinning atomic.Int32

	stopping atomic.Bool
	stopOnce sync.Once
	started  atomic.Bool
	wg       sync.WaitGroup
	sysmonCh chan struct{}
	stopCh   chan struct{}
	joined   chan struct{} // closed when every goroutine has exited after Stop
	live     atomic.Int32  // worker goroutines started and not yet exited

	steals   atomic.Uint64
	handoffs atomic.Uint64
	executed atomic.Uint64
	timers   atomic.Uint64
}

// New returns a stopped scheduler.
func New(cfg Config) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := DefaultConfig()
	if cfg.Workers == 0 {
		cfg.Workers = min(runtime.GOMAXPROCS(0), MaxWorkers)
	}
	if cfg.LocalQueueSize == 0 {
		cfg.LocalQueueSize = d.LocalQueueSize
	}
	if cfg.Slice == 0 {
		cfg.Slice = d.Slice
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{cfg: cfg, epoch: time.Now(), sysmonCh: make(chan struct{}, 1), stopCh: make(chan struct{}),
		joined: make(chan struct{})}
	s.ps = make([]*P, cfg.Workers)
	for i := range s.ps {
		s.ps[i] = &P{id: i, s: s, q: make([]*Task, cfg.LocalQueueSize), wake: make(chan struct{}, 1)}
	}
	return s, nil
}

// Workers returns the number of worker slots.
func (s *Scheduler) Workers() int { return len(s.ps) }

// Now returns the scheduler's monotonic clock in nanoseconds since New.
func (s *Scheduler) Now() int64 { return int64(time.Since(s.epoch)) }

// Start starts one worker goroutine per slot and the monitor.
func (s *Scheduler) Start() {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	for _, p := range s.ps {
		s.startM(p)
	}
	s.wg.Add(1)
	go s.sysmon()
}

// Stop stops every worker after its current task and joins all goroutines.
// Tasks still queued are not run. Stop is idempotent.
func (s *Scheduler) Stop() { s.StopWithin(context.Background()) }

// StopWithin is Stop that waits for the worker goroutines only until ctx
// ends. A goroutine still inside a task then (a task that never returns)
// is left behind: StopWithin returns how many there are, 0 when every
// goroutine was joined. A later call waits again.
func (s *Scheduler) StopWithin(ctx context.Context) (stuck int) {
	s.stopOnce.Do(func() {
		s.stopping.Store(true)
		close(s.stopCh)
		for _, p := range s.ps {
			p.signal()
		}
		go func() {
			s.wg.Wait()
			close(s.joined)
		}()
	})
	select {
	case <-s.joined:
		return 0
	case <-ctx.Done():
		return int(s.live.Load())
	}
}

// Submit makes t runnable from outside any worker (or from a worker that
// wants it queued globally).
func (s *Scheduler) Submit(t *Task) {
	s.globalPush(t)
	s.wakeOne()
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	st := Stats{
		Steals: s.steals.Load(), HandOffs: s.handoffs.Load(), Workers: len(s.ps),
		Idle: int(s.nidle.Load()), Executed: s.executed.Load(), TimersRun: s.timers.Load(),
		RunQueue: int(s.glen.Load()),
	}
	for _, p := range s.ps {
		st.RunQueue += int(p.qlen.Load())
		if p.hasNext.Load() {
			st.RunQueue++
		}
	}
	return st
}

func (s *Scheduler) globalPush(t *Task) {
	s.gmu.Lock()
	t.next = nil
	if s.gtail == nil {
		s.ghead = t
	} else {
		s.gtail.next = t
	}
	s.gtail = t
	s.glen.Add(1)
	s.gmu.Unlock()
}

// globalPushList appends a chain built by the caller.
func (s *Scheduler) globalPushList(head, tail *Task, n int) {
	s.gmu.Lock()
	if s.gtail == nil {
		s.ghead = head
	} else {
		s.gtail.next = head
	}
	s.gtail = tail
	s.glen.Add(int64(n))
	s.gmu.Unlock()
}

// globalGet takes one task and moves up to a fair share more into p's queue.
func (s *Scheduler) globalGet(p *P) *Task {
	if s.glen.Load() == 0 {
		return nil
	}
	s.gmu.Lock()
	n := int(s.glen.Load())
	if n == 0 {
		s.gmu.Unlock()
		return nil
	}
	take := n/len(s.ps) + 1
	if take > n {
		take = n
	}
	if half := len(p.q) / 2; take > half {
		take = half
	}
	if take < 1 {
		take = 1
	}
	first := s.ghead
	s.ghead = first.next
	batch := make([]*Task, 0, 16)
	for i := 1; i < take; i++ {
		t := s.ghead
		s.ghead = t.next
		t.next = nil
		batch = append(batch, t)
	}
	if s.ghead == nil {
		s.gtail = nil
	}
	s.glen.Add(-int64(take))
	s.gmu.Unlock()
	first.next = nil
	for _, t := range batch {
		p.push(t, false)
	}
	return first
}

// wakeOne unparks an idle slot when there is one and nobody is already
// looking for work.
func (s *Scheduler) wakeOne() {
	if s.nidle.Load() == 0 || s.nspinning.Load() != 0 {
		return
	}
	s.idleMu.Lock()
	n := len(s.idle)
	if n == 0 {
		s.idleMu.Unlock()
		return
	}
	p := s.idle[n-1]
	s.idle = s.idle[:n-1]
	s.nidle.Add(-1)
	if p.spinning.CompareAndSwap(false, true) {
		s.nspinning.Add(1)
	}
	s.idleMu.Unlock()
	p.signal()
	select {
	case s.sysmonCh <- struct{}{}:
	default:
	}
}

// removeIdle takes p off the idle list if it is still there.
func (s *Scheduler) removeIdle(p *P) bool {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for i, q := range s.idle {
		if q == p {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			s.nidle.Add(-1)
			return true
		}
	}
	return false
}

func (s *Scheduler) anyWork() bool {
	if s.glen.Load() > 0 {
		return true
	}
	for _, p := range s.ps {
		if p.qlen.Load() > 0 || p.hasNext.Load() && p.nextStealable() {
			return true
		}
	}
	return false
}

// steal takes half of another slot's queue into p and returns one task.
func (s *Scheduler) steal(p *P, rnd *rand.Rand) *Task {
	n := len(s.ps)
	if n == 1 {
		return nil
	}
	start := rnd.IntN(n)
	for i := 0; i < n; i++ {
		v := s.ps[(start+i)%n]
		if v == p || v.qlen.Load() == 0 && !v.hasNext.Load() {
			continue
		}
		if t, k := v.stealHalf(p); t != nil {
			s.steals.Add(uint64(k))
			return t
		}
	}
	return nil
}

func (s *Scheduler) newM(p *P) *M {
	return &M{p: p, s: s, rnd: rand.New(rand.NewPCG(rand.Uint64(), uint64(p.id))), gone: make(chan struct{})}
}

func (s *Scheduler) startM(p *P) *M {
	m := s.newM(p)
	p.m.Store(m)
	s.wg.Add(1)
	s.live.Add(1)
	go m.loop()
	return m
}

// handedOff marks M.since when the slot was claimed during a task.
const handedOff = -1

// claim hands p to a new goroutine if m is still running the task that
// started at since (see M.since): a worker between tasks is never replaced.
func (s *Scheduler) claim(p *P, m *M, since int64) bool {
	if since <= 0 || s.stopping.Load() || !m.since.CompareAndSwap(since, handedOff) {
		return false
	}
	if !s.handOff(p, m) {
		// Not handed off after all (stopping, or m no longer owns p): the
		// task's end must still find its start value.
		m.since.Store(since)
		return false
	}
	return true
}

// handOff gives p to a new worker goroutine if m still owns it.
func (s *Scheduler) handOff(p *P, m *M) bool {
	if s.stopping.Load() {
		return false
	}
	nm := s.newM(p)
	if !p.m.CompareAndSwap(m, nm) {
		return false
	}
	s.handoffs.Add(1)
	s.wg.Add(1)
	s.live.Add(1)
	go nm.loop()
	return true
}

// sysmon hands off slots whose task has run past the slice.
func (s *Scheduler) sysmon() {
	defer s.wg.Done()
	tick := s.cfg.Slice / 2
	if tick < 100*time.Microsecond {
		tick = 100 * time.Microsecond
	}
	t := time.NewTimer(tick)
	defer t.Stop()
	for {
		if int(s.nidle.Load()) == len(s.ps) {
			// Everything parked: sleep until a worker is woken.
			select {
			case <-s.stopCh:
				return
			case <-s.sysmonCh:
			}
		}
		select {
		case <-s.stopCh:
			return
		case <-t.C:
		}
		t.Reset(tick)
		now := s.Now()
		for _, p := range s.ps {
			m := p.m.Load()
			since := m.since.Load()
			if since > 0 && now-since > int64(s.cfg.Slice) {
				if s.claim(p, m, since) {
					s.cfg.Logger.Debug("sched: hand-off of a slot held past its slice", "slot", p.id, "held", time.Duration(now-since))
				}
			}
		}
	}
}

// RunHere runs t on the calling goroutine, a guest from outside the
// scheduler, as the worker of a parked slot: it reports false, without
// running t, when no slot is parked or tasks are already waiting (the
// caller then queues t, with Submit). A reader of the network that has
// just readied the task saves the wake-up of a worker goroutine, which
// is most of the latency of a short request and its reply.
//
// The task runs as it would on that slot's worker: its sends are readied
// into the slot, which is woken for them when the guest gives it back,
// and a task that runs past the slice or blocks hands the slot to a new
// worker goroutine. onBlock (if not nil) is called on the guest's
// goroutine before a Worker.Blocking call of the task blocks it: the
// guest hands its own work to another goroutine there.
//
// The monitor that hands off a slot held past the slice is not woken by a
// guest, which runs only when every other slot may be parked: a guest's
// task past the slice is handed off once other work wakes the monitor.
func (s *Scheduler) RunHere(t *Task, onBlock func()) bool {
	if s.nidle.Load() == 0 || s.glen.Load() > 0 || s.stopping.Load() {
		return false
	}
	s.idleMu.Lock()
	n := len(s.idle)
	if n == 0 {
		s.idleMu.Unlock()
		return false
	}
	p := s.idle[n-1]
	m := p.m.Load()
	// The slot's goroutine holds run unless it is asleep in park.
	if !m.run.TryLock() {
		s.idleMu.Unlock()
		return false
	}
	s.idle = s.idle[:n-1]
	s.nidle.Add(-1)
	s.idleMu.Unlock()
	start := s.Now() | 1
	m.since.Store(start)
	m.onBlock = onBlock
	t.r.Run(m)
	m.onBlock = nil
	s.executed.Add(1)
	if !m.since.CompareAndSwap(start, 0) {
		// The slot went to a new goroutine during the task: the parked
		// one exits.
		close(m.gone)
		m.run.Unlock()
		return true
	}
	// Parked again, as park leaves it, then woken if work came meanwhile
	// (a task this one readied into the slot, or anything queued while
	// the slot was off the idle list).
	if l, ok := m.Local.(Parker); ok {
		l.Parked()
	}
	s.idleMu.Lock()
	s.idle = append(s.idle, p)
	s.nidle.Add(1)
	s.idleMu.Unlock()
	m.run.Unlock()
	if (s.anyWork() || s.stopping.Load()) && s.removeIdle(p) {
		p.signal()
	}
	return true
}
