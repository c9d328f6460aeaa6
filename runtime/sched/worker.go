package sched

import (
	"container/heap"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// P is a worker slot: a local run queue, a run-next slot and timers.
type P struct {
	id int
	s  *Scheduler
	m  atomic.Pointer[M] // the worker goroutine that owns the slot

	mu       sync.Mutex
	runnext  *Task
	q        []*Task // ring
	head     int
	n        int
	qlen     atomic.Int32 // n; read without the lock
	hasNext  atomic.Bool  // runnext != nil; read without the lock
	streak   int          // consecutive runnext picks, for fairness
	tick     uint32
	timers   timerHeap
	spinning atomic.Bool // woken to look for work; counted in s.nspinning while set
	wake     chan struct{}
}

// push adds t. next: into the run-next slot, kicking its old occupant to
// the queue tail. A full queue sends half of itself to the global queue.
func (p *P) push(t *Task, next bool) {
	p.mu.Lock()
	if next {
		t, p.runnext = p.runnext, t
		p.hasNext.Store(true)
		if t == nil {
			p.mu.Unlock()
			return
		}
	}
	if p.n == len(p.q) {
		// Move the older half plus nothing else to the global queue.
		k := p.n / 2
		var head, tail *Task
		for i := 0; i < k; i++ {
			x := p.q[p.head]
			p.q[p.head] = nil
			p.head = (p.head + 1) % len(p.q)
			x.next = nil
			if tail == nil {
				head = x
			} else {
				tail.next = x
			}
			tail = x
		}
		p.n -= k
		p.qlen.Add(-int32(k))
		p.s.globalPushList(head, tail, k)
	}
	p.q[(p.head+p.n)%len(p.q)] = t
	p.n++
	p.qlen.Add(1)
	p.mu.Unlock()
}

// signal wakes p's parked worker, or leaves the wake-up for its next park.
func (p *P) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// get takes the next local task: run-next first, but not more than 32 times
// in a row while the queue has others waiting.
func (p *P) get() *Task {
	if p.qlen.Load() == 0 && !p.hasNext.Load() {
		return nil
	}
	p.mu.Lock()
	var t *Task
	if p.runnext != nil && (p.streak < 32 || p.n == 0) {
		t, p.runnext = p.runnext, nil
		p.hasNext.Store(false)
		p.streak++
	} else if p.n > 0 {
		t = p.q[p.head]
		p.q[p.head] = nil
		p.head = (p.head + 1) % len(p.q)
		p.n--
		p.qlen.Add(-1)
		p.streak = 0
	}
	p.mu.Unlock()
	return t
}

// stealHalf moves half of p's queue into thief and returns one of them.
// With an empty queue it takes the run-next task, but only from a slot whose
// worker is between tasks or has run its current one for a while: a busy
// worker will run its run-next itself in a moment, on a warm cache.
func (p *P) stealHalf(thief *P) (*Task, int) {
	p.mu.Lock()
	k := p.n - p.n/2
	if k == 0 {
		if p.runnext != nil && p.nextStealable() {
			t := p.runnext
			p.runnext = nil
			p.hasNext.Store(false)
			p.mu.Unlock()
			return t, 1
		}
		p.mu.Unlock()
		return nil, 0
	}
	got := make([]*Task, k)
	for i := 0; i < k; i++ {
		got[i] = p.q[p.head]
		p.q[p.head] = nil
		p.head = (p.head + 1) % len(p.q)
	}
	p.n -= k
	p.qlen.Add(-int32(k))
	p.mu.Unlock()
	for _, t := range got[1:] {
		thief.push(t, false)
	}
	return got[0], k
}

// nextStealable reports whether another slot may take p's run-next task.
func (p *P) nextStealable() bool {
	m := p.m.Load()
	if m == nil {
		return true
	}
	since := m.since.Load()
	return since <= 0 || p.s.Now()-since > int64(p.s.cfg.Slice/10)
}

// M is a worker goroutine. It runs tasks for its slot until it loses the
// slot (hand-off) or the scheduler stops.
type M struct {
	p *P
	s *Scheduler
	// since is when the current task started; 0 between tasks; handedOff
	// once the slot was claimed for a new goroutine during the task. The
	// task's end (CAS start -> 0) and a hand-off (CAS start -> handedOff)
	// race on it, so exactly one wins: a worker that finished its task can
	// never lose its slot afterwards (it might be parked by then), and one
	// whose slot was claimed exits right after its task.
	since atomic.Int64
	rnd   *rand.Rand
	timer *time.Timer
	// run is held by the goroutine running tasks as this M: its own
	// while it is awake, a guest's (Scheduler.RunHere) while it is parked.
	run sync.Mutex
	// gone is closed by a guest that lost the slot to a hand-off while it
	// ran as this parked M: the goroutine wakes and exits.
	gone chan struct{}
	// onBlock is the guest's hook for Blocking (nil outside RunHere).
	onBlock func()
	// Local is free for the tasks run on this goroutine (a reusable batch
	// buffer): only one task runs on a goroutine at a time.
	Local any
}

// Parker is implemented by a Worker.Local that holds memory worth giving
// back while its worker has nothing to do: Parked is called on the
// worker's goroutine as it parks.
type Parker interface{ Parked() }

// Worker is what a running task sees of the worker running it.
type Worker = M

// Slot returns the index of the slot this worker runs for, for striping
// counters. It stays valid after a hand-off.
func (m *M) Slot() int { return m.p.id }

// Scheduler returns the scheduler.
func (m *M) Scheduler() *Scheduler { return m.s }

// Ready makes t runnable next on this worker: used when the running task
// wakes another (a message send), so the hand-off stays on a warm worker.
func (m *M) Ready(t *Task) {
	if m.p.m.Load() != m {
		m.s.Submit(t) // this goroutine lost its slot: don't crowd the new owner
		return
	}
	m.p.push(t, true)
	m.s.wakeOne()
}

// Yield queues t at the back of this worker's queue (budget spent).
func (m *M) Yield(t *Task) {
	if m.p.m.Load() != m {
		m.s.Submit(t)
		return
	}
	m.p.push(t, false)
	m.s.wakeOne()
}

// Blocking runs f, which blocks this goroutine, after handing the slot to a
// new worker goroutine so the rest of the queue keeps moving. The task goes
// on, without a slot, when f returns; its worker goroutine exits after it.
//
// In a task run by a guest (Scheduler.RunHere), Blocking first calls the
// guest's onBlock: the goroutine is the guest's, which must find someone
// else for its own work before it blocks.
func (m *M) Blocking(f func()) {
	if g := m.onBlock; g != nil {
		m.onBlock = nil
		g()
	}
	m.s.claim(m.p, m, m.since.Load())
	f()
}

func (m *M) loop() {
	defer m.s.wg.Done()
	defer m.s.live.Add(-1)
	m.run.Lock()
	defer m.run.Unlock()
	p := m.p
	for {
		if p.m.Load() != m || m.s.stopping.Load() {
			return
		}
		t := m.findWork()
		if t == nil {
			if m.s.stopping.Load() || p.m.Load() != m {
				return
			}
			continue
		}
		start := m.s.Now() | 1
		m.since.Store(start)
		t.r.Run(m)
		m.s.executed.Add(1)
		if !m.since.CompareAndSwap(start, 0) {
			return // the slot went to a new goroutine during the task
		}
	}
}

// findWork returns a task, or nil after a park (the caller re-checks its
// ownership and the stop flag, then calls again).
func (m *M) findWork() *Task {
	p, s := m.p, m.s
	m.runTimers()
	p.tick++
	if p.tick%61 == 0 {
		if t := s.globalGet(p); t != nil {
			m.stopSpinning()
			return t
		}
	}
	if t := p.get(); t != nil {
		m.stopSpinning()
		return t
	}
	if t := s.globalGet(p); t != nil {
		m.stopSpinning()
		return t
	}
	if t := s.steal(p, m.rnd); t != nil {
		m.stopSpinning()
		return t
	}
	m.park()
	return nil
}

func (m *M) stopSpinning() {
	if !m.p.spinning.CompareAndSwap(true, false) {
		return
	}
	if m.s.nspinning.Add(-1) == 0 {
		// We found work; there may be more for another idle slot.
		m.s.wakeOne()
	}
}

// park registers p as idle, looks once more, then sleeps until woken or
// until its earliest timer is due.
func (m *M) park() {
	p, s := m.p, m.s
	s.idleMu.Lock()
	s.idle = append(s.idle, p)
	s.nidle.Add(1)
	s.idleMu.Unlock()
	if p.spinning.CompareAndSwap(true, false) {
		s.nspinning.Add(-1)
	}
	if s.anyWork() || s.stopping.Load() || p.m.Load() != m {
		s.removeIdle(p)
		return
	}
	if l, ok := m.Local.(Parker); ok {
		l.Parked()
	}
	// A guest may run as m while it sleeps (Scheduler.RunHere).
	m.run.Unlock()
	defer m.wakeUp()
	deadline := p.nextTimer()
	if deadline < 0 {
		select {
		case <-p.wake:
		case <-s.stopCh:
		case <-m.gone:
		}
	} else {
		d := time.Duration(deadline - s.Now())
		if d <= 0 {
			return // wakeUp takes the slot off the idle list
		}
		if m.timer == nil {
			m.timer = time.NewTimer(d)
		} else {
			m.timer.Reset(d)
		}
		select {
		case <-p.wake:
		case <-s.stopCh:
		case <-m.timer.C:
		case <-m.gone:
		}
		m.timer.Stop()
	}
}

// wakeUp ends a park: it waits for a guest running as m to finish, then
// takes the slot off the idle list (a no-op when a waker already did). If
// the slot went to a new goroutine (a hand-off during a guest's task), m
// leaves the list alone and passes on the wake-up it may have taken from
// the new goroutine, before it waits: its loop then exits.
func (m *M) wakeUp() {
	lost := m.p.m.Load() != m
	if lost {
		m.p.signal()
	}
	m.run.Lock()
	if m.p.m.Load() != m {
		if !lost {
			m.p.signal()
		}
		return
	}
	m.s.removeIdle(m.p)
}

// Timer is a one-shot timer on a slot's heap. Fire runs on a worker.
type Timer struct {
	when   int64
	target TimerTarget
	arg    uint64
	p      *P
	idx    int // index in the heap; -1 when not queued
}

// TimerTarget receives timer expiries.
type TimerTarget interface {
	Fire(w *Worker, arg uint64)
}

// AddTimer arranges target.Fire(arg) after d on this worker's slot.
func (m *M) AddTimer(d time.Duration, target TimerTarget, arg uint64) *Timer {
	return m.s.addTimer(m.p, d, target, arg)
}

// AddTimer arranges target.Fire(arg) after d from outside any worker.
func (s *Scheduler) AddTimer(d time.Duration, target TimerTarget, arg uint64) *Timer {
	return s.addTimer(s.ps[0], d, target, arg)
}

func (s *Scheduler) addTimer(p *P, d time.Duration, target TimerTarget, arg uint64) *Timer {
	if d < 0 {
		d = 0
	}
	t := &Timer{when: s.Now() + int64(d), target: target, arg: arg, p: p}
	p.mu.Lock()
	heap.Push(&p.timers, t)
	first := p.timers[0] == t
	p.mu.Unlock()
	if first {
		// A parked owner must recompute its sleep.
		p.signal()
	}
	return t
}

// Stop removes t if it has not fired; it reports whether it removed it.
func (t *Timer) Stop() bool {
	p := t.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.idx < 0 {
		return false
	}
	heap.Remove(&p.timers, t.idx)
	return true
}

func (p *P) nextTimer() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.timers) == 0 {
		return -1
	}
	return p.timers[0].when
}

func (m *M) runTimers() {
	p := m.p
	now := m.s.Now()
	for {
		p.mu.Lock()
		if len(p.timers) == 0 || p.timers[0].when > now {
			p.mu.Unlock()
			return
		}
		t := heap.Pop(&p.timers).(*Timer)
		p.mu.Unlock()
		m.s.timers.Add(1)
		t.target.Fire(m, t.arg)
	}
}

type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.idx = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.idx = -1
	*h = old[:n-1]
	return t
}
