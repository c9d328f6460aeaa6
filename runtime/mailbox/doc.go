// Package mailbox is a process's queue of incoming deliveries: a mutex and a
// slice, drained in batches by the one goroutine that runs the process.
//
// Two lanes: the system lane (cancel requests, timers, wake-ups) is always
// read before the ordinary lane (messages and link/monitor notifications,
// kept in arrival order, which is per-sender order). Only the ordinary lane
// can be bounded; a full mailbox refuses with ErrFull, which the runtime
// turns into a retryable UNAVAILABLE.
//
// Storage is allocated on first use and dropped again when a large batch has
// been drained, so an idle process holds no buffer beyond a small one.
//
// Any number of goroutines may Push; Drain must be called by one consumer at
// a time (the runtime's one-runner invariant guarantees it).
package mailbox
