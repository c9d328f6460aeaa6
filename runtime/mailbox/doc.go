// Package mailbox is a process's queue of incoming deliveries: producers
// append to a ring under a mutex, and the one goroutine that runs the
// process drains it in batches. A drain copies a few queued items under the
// lock, or takes over the producers' whole ring in O(1) when many are
// queued and hands them out without the lock, so a push never waits behind
// a long copy (a receiver with many senders).
//
// Two lanes: the system lane (cancel requests, timers, wake-ups) is always
// read before the ordinary lane (messages and link/monitor notifications,
// kept in arrival order, which is per-sender order). Only the ordinary lane
// can be bounded; a full mailbox refuses with ErrFull, which the runtime
// turns into a retryable UNAVAILABLE.
//
// Storage is allocated on first use; a large ring is halved once drains
// that used under a quarter of it have carried several times its size, so
// a process whose traffic has calmed down holds no buffer beyond small
// ones, and one that gets a burst now and then keeps its rings.
// The runtime passes each worker goroutine's Rings: a drain that empties a
// large ring filled by workers gives it there, and the next push from that
// goroutine that needs room takes it, so messages moving in convoys from
// process to process fill rings still in the cache, and only the processes
// holding messages hold large rings.
//
// A producer that builds its item field by field fills the slot Reserve
// returns and queues it with Commit, instead of building the item and
// copying it in (see docs/ARCHITECTURE.md, "Mailbox").
//
// Any number of goroutines may Push; Drain and Close must be called by one
// consumer at a time (the runtime's one-runner invariant guarantees it).
package mailbox
