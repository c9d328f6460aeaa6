// Package sched multiplexes runnable tasks (processes) over a fixed number of
// worker slots.
//
// Each slot (P) has a bounded local run queue, a one-task "run next" slot for
// the task its worker just woke (so a message hand-off between two processes
// stays on one warm worker), and a heap of timers. A global queue takes what
// overflows and what is readied from outside any worker. An idle worker
// takes from its own queue, then the global queue, then steals half of
// another slot's queue; when nothing is found it parks, and a worker that
// readies a task wakes a parked one only when nobody is already looking for
// work, so a busy scheduler pays nothing for wake-ups. The parking protocol
// registers a worker as idle before its last look at the queues, and a
// readier publishes its task before it checks for idle workers, so no wake-up
// is lost (both sides use sequentially consistent atomics).
//
// A worker goroutine (M) owns its slot while it runs tasks. When a task runs
// past the time slice, or calls Worker.Blocking around a call that blocks
// its goroutine, the slot is handed to a fresh worker goroutine so the rest
// of the queue keeps moving (a hand-off, counted); the old goroutine finishes
// its task and exits. Because of hand-offs more than one goroutine may push
// into a slot's queue, which is why the local queues are mutex-protected.
//
// A goroutine outside the scheduler that has just readied a task (the
// reader of a network connection) may run it itself, as a guest
// (RunHere): it borrows the worker of a parked slot, whose goroutine
// stays asleep until the guest gives the slot back. The task sees the
// same worker, queue and timers as on that goroutine; a hand-off during
// it passes the slot to a fresh goroutine and the parked one exits. This
// saves the wake-up of a parked worker, the largest part of a remote
// request's latency on an idle node.
//
// Invariant the callers rely on: the scheduler runs a Task exactly once per
// enqueue and never enqueues anything by itself. A task must be enqueued by
// exactly one party at a time; the runtime guarantees that with its
// per-process state CAS (idle -> ready), which is what makes "one runner per
// process" hold and keeps a process's Lua state single-threaded.
package sched
