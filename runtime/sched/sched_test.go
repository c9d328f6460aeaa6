package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/internal/await"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fnTask struct {
	Task
	fn func(w *Worker)
}

func newTask(fn func(w *Worker)) *fnTask {
	t := &fnTask{fn: fn}
	t.Init(t)
	return t
}

func (t *fnTask) Run(w *Worker) { t.fn(w) }

func start(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func TestEveryTaskRunsOnce(t *testing.T) {
	s := start(t, Config{Workers: 4, LocalQueueSize: 8})
	const n = 20000
	counts := make([]atomic.Int32, n)
	var done sync.WaitGroup
	done.Add(n)
	for i := 0; i < n; i++ {
		i := i
		s.Submit(&newTask(func(*Worker) { counts[i].Add(1); done.Done() }).Task)
	}
	done.Wait()
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			t.Fatalf("task %d ran %d times", i, c)
		}
	}
}

// Tasks readied from inside a worker overflow the small local queue into the
// global queue and are stolen by the other workers; none is lost.
func TestLocalOverflowAndSteal(t *testing.T) {
	s := start(t, Config{Workers: 2, LocalQueueSize: 4})
	const n = 5000
	var ran atomic.Int32
	var done sync.WaitGroup
	done.Add(n + 1)
	s.Submit(&newTask(func(w *Worker) {
		for i := 0; i < n; i++ {
			w.Yield(&newTask(func(*Worker) {
				ran.Add(1)
				for j := 0; j < 2000; j++ { // a little work so the other worker steals
					_ = j * j
				}
				done.Done()
			}).Task)
		}
		done.Done()
	}).Task)
	done.Wait()
	if ran.Load() != n {
		t.Fatalf("ran %d of %d", ran.Load(), n)
	}
	// Executed is counted after a task returns: poll with a deadline.
	await.Until(t, fmt.Sprintf("%d tasks counted as executed", n+1), func() bool { return s.Stats().Executed == n+1 })
}

// A ping-pong through the run-next slot: each task readies the next.
func TestReadyChain(t *testing.T) {
	s := start(t, Config{Workers: 2})
	const n = 100000
	var left atomic.Int64
	left.Store(n)
	done := make(chan struct{})
	var step func(w *Worker)
	step = func(w *Worker) {
		if left.Add(-1) == 0 {
			close(done)
			return
		}
		w.Ready(&newTask(step).Task)
	}
	s.Submit(&newTask(step).Task)
	<-done
}

// One worker, one task that spins until the others have run: the monitor
// must hand the slot to a new goroutine.
func TestHandOffOfSpinningTask(t *testing.T) {
	s := start(t, Config{Workers: 1, Slice: 2 * time.Millisecond})
	var others atomic.Int32
	spun := make(chan struct{})
	s.Submit(&newTask(func(w *Worker) {
		for i := 0; i < 10; i++ {
			w.Yield(&newTask(func(*Worker) { others.Add(1) }).Task)
		}
		for others.Load() < 10 {
		}
		close(spun)
	}).Task)
	select {
	case <-spun:
	case <-time.After(10 * time.Second):
		t.Fatal("spinning task starved the queue")
	}
	if s.Stats().HandOffs == 0 {
		t.Fatal("no hand-off counted")
	}
}

func TestBlockingHandsOff(t *testing.T) {
	s := start(t, Config{Workers: 1})
	release := make(chan struct{})
	finished := make(chan struct{})
	s.Submit(&newTask(func(w *Worker) {
		w.Blocking(func() { <-release })
		close(finished)
	}).Task)
	s.Submit(&newTask(func(*Worker) { close(release) }).Task)
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("blocked task kept its slot")
	}
	if s.Stats().HandOffs == 0 {
		t.Fatal("no hand-off counted")
	}
}

type timerRec struct {
	mu    sync.Mutex
	fired []uint64
	ch    chan uint64
}

func (r *timerRec) Fire(_ *Worker, arg uint64) {
	r.mu.Lock()
	r.fired = append(r.fired, arg)
	r.mu.Unlock()
	r.ch <- arg
}

func TestTimers(t *testing.T) {
	s := start(t, Config{Workers: 2})
	rec := &timerRec{ch: make(chan uint64, 10)}
	begin := time.Now()
	s.AddTimer(30*time.Millisecond, rec, 2)
	stopped := s.AddTimer(10*time.Millisecond, rec, 99)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer reported false")
	}
	s.Submit(&newTask(func(w *Worker) { w.AddTimer(5*time.Millisecond, rec, 1) }).Task)
	if got := <-rec.ch; got != 1 {
		t.Fatalf("first timer %d, want 1", got)
	}
	if got := <-rec.ch; got != 2 {
		t.Fatalf("second timer %d, want 2", got)
	}
	if el := time.Since(begin); el < 30*time.Millisecond {
		t.Fatalf("timer fired early: %v", el)
	}
	if stopped.Stop() {
		t.Fatal("second Stop reported true")
	}
	select {
	case v := <-rec.ch:
		t.Fatalf("stopped timer fired: %d", v)
	case <-time.After(30 * time.Millisecond):
	}
}

// Submissions from outside while workers keep parking: none may be stranded.
func TestNoLostWakeups(t *testing.T) {
	s := start(t, Config{Workers: 2})
	for round := 0; round < 2000; round++ {
		done := make(chan struct{})
		s.Submit(&newTask(func(w *Worker) {
			w.Ready(&newTask(func(*Worker) { close(done) }).Task)
		}).Task)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: task stranded", round)
		}
	}
}

func TestStopIdempotentAndConfig(t *testing.T) {
	if _, err := New(Config{Workers: -1}); err == nil {
		t.Fatal("negative workers accepted")
	}
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Workers() < 1 {
		t.Fatal("default workers < 1")
	}
	s.Start()
	s.Stop()
	s.Stop()
}

func BenchmarkReadyChain(b *testing.B) {
	s, _ := New(Config{Workers: 2})
	s.Start()
	defer s.Stop()
	var left atomic.Int64
	left.Store(int64(b.N))
	done := make(chan struct{})
	var step func(w *Worker)
	step = func(w *Worker) {
		if left.Add(-1) <= 0 {
			close(done)
			return
		}
		w.Ready(&newTask(step).Task)
	}
	b.ResetTimer()
	s.Submit(&newTask(step).Task)
	<-done
}

// Tasks that end around the time slice race the monitor's hand-off: a
// worker that has just finished (and may park) must never also lose its
// slot, or two goroutines serve it and wake-ups get lost. Every round must
// complete.
func TestHandOffRaceLosesNoWakeups(t *testing.T) {
	s := start(t, Config{Workers: 2, Slice: 200 * time.Microsecond})
	for round := 0; round < 1500; round++ {
		done := make(chan struct{})
		spin := time.Duration(50+round%300) * time.Microsecond
		s.Submit(&newTask(func(w *Worker) {
			for end := time.Now().Add(spin); time.Now().Before(end); {
			}
			w.Ready(&newTask(func(*Worker) { close(done) }).Task)
		}).Task)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a readied task was never run (hand-offs %d)", round, s.Stats().HandOffs)
		}
	}
	if s.Stats().HandOffs == 0 {
		t.Fatal("no hand-off happened: the test did not exercise the race")
	}
}

// A task that never returns must not hold Stop forever: StopWithin gives up
// when its context ends and says how many goroutines it left behind.
func TestStopWithinLeavesAStuckTask(t *testing.T) {
	s, err := New(Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	release, entered := make(chan struct{}), make(chan struct{})
	s.Submit(&newTask(func(*Worker) { close(entered); <-release }).Task)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if stuck := s.StopWithin(ctx); stuck != 1 {
		t.Fatalf("StopWithin reported %d stuck goroutines, want 1", stuck)
	}
	if el := time.Since(begin); el > 5*time.Second {
		t.Fatalf("StopWithin took %v", el)
	}
	close(release)
	if stuck := s.StopWithin(context.Background()); stuck != 0 {
		t.Fatalf("after the task returned: %d stuck", stuck)
	}
}

func TestWorkerBounds(t *testing.T) {
	for _, c := range []Config{{Workers: MaxWorkers + 1}, {LocalQueueSize: MaxLocalQueueSize + 1}} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", c, err)
		}
	}
	s, err := New(Config{Workers: MaxWorkers, LocalQueueSize: MaxLocalQueueSize})
	if err != nil || s.Workers() != MaxWorkers {
		t.Fatalf("at the bounds: %v, %d workers", err, s.Workers())
	}
}
