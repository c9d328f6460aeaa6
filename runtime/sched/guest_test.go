package sched

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
)

// allParked waits until every slot of s is parked.
func allParked(t *testing.T, s *Scheduler) {
	t.Helper()
	await.Within(t, 5*time.Second, "every slot parked", func() bool { return s.Stats().Idle == s.Workers() })
}

func TestRunHereRunsOnTheCaller(t *testing.T) {
	s := start(t, Config{Workers: 2})
	allParked(t, s)
	ran := false
	var slot int
	if !s.RunHere(&newTask(func(w *Worker) { ran, slot = true, w.Slot() }).Task, nil) {
		t.Fatal("RunHere refused with every slot parked")
	}
	if !ran {
		t.Fatal("RunHere returned before the task ran")
	}
	if slot < 0 || slot >= 2 {
		t.Fatalf("task ran for slot %d", slot)
	}
	// The slot is parked again, and the scheduler still runs work.
	allParked(t, s)
	done := make(chan struct{})
	s.Submit(&newTask(func(*Worker) { close(done) }).Task)
	<-done
}

func TestRunHereRefusesWithoutParkedSlot(t *testing.T) {
	s := start(t, Config{Workers: 1})
	release := make(chan struct{})
	running := make(chan struct{})
	s.Submit(&newTask(func(*Worker) { close(running); <-release }).Task)
	<-running
	if s.RunHere(&newTask(func(*Worker) { t.Error("ran without a parked slot") }).Task, nil) {
		t.Fatal("RunHere took a busy slot")
	}
	close(release)
}

func TestRunHereWakesTheSlotForWhatTheTaskReadied(t *testing.T) {
	s := start(t, Config{Workers: 1})
	allParked(t, s)
	done := make(chan struct{})
	next := newTask(func(*Worker) { close(done) })
	if !s.RunHere(&newTask(func(w *Worker) { w.Ready(&next.Task) }).Task, nil) {
		t.Fatal("RunHere refused")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a task readied by a guest's task never ran")
	}
}

func TestRunHereBlockingHandsTheSlotOff(t *testing.T) {
	s := start(t, Config{Workers: 1})
	allParked(t, s)
	release := make(chan struct{})
	hooked := make(chan struct{})
	returned := make(chan bool)
	go func() {
		returned <- s.RunHere(&newTask(func(w *Worker) {
			w.Blocking(func() { <-release })
		}).Task, func() { close(hooked) })
	}()
	select {
	case <-hooked:
	case <-time.After(10 * time.Second):
		t.Fatal("onBlock was not called before the task blocked")
	}
	// With the guest blocked, the slot's new worker runs other work.
	done := make(chan struct{})
	s.Submit(&newTask(func(*Worker) { close(done) }).Task)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a guest blocked in its task kept the slot")
	}
	close(release)
	if !<-returned {
		t.Fatal("RunHere reported the task not run")
	}
	if s.Stats().HandOffs != 1 {
		t.Fatalf("%d hand-offs, want 1", s.Stats().HandOffs)
	}
	// The parked goroutine that lost the slot has exited: one per slot.
	await.Within(t, 5*time.Second, "one worker goroutine", func() bool { return s.live.Load() == 1 })
	more := make(chan struct{})
	s.Submit(&newTask(func(*Worker) { close(more) }).Task)
	<-more
}

// Guests and workers together run every task exactly once, and Stop joins
// them all (the race detector checks the borrowed workers' state).
func TestRunHereWithWorkers(t *testing.T) {
	s := start(t, Config{Workers: 2, LocalQueueSize: 8})
	const guests, each = 4, 2000
	counts := make([]atomic.Int32, guests*each*2)
	var done sync.WaitGroup
	done.Add(len(counts))
	var wg sync.WaitGroup
	for g := 0; g < guests; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := (g*each + i) * 2
				// A guest's task readies another, as a delivered
				// message's receiver sends one.
				second := newTask(func(*Worker) { counts[k+1].Add(1); done.Done() })
				first := newTask(func(w *Worker) {
					counts[k].Add(1)
					done.Done()
					w.Ready(&second.Task)
				})
				if !s.RunHere(&first.Task, nil) {
					s.Submit(&first.Task)
				}
			}
		}()
	}
	wg.Wait()
	done.Wait()
	for i := range counts {
		if c := counts[i].Load(); c != 1 {
			t.Fatalf("task %d ran %d times", i, c)
		}
	}
}
