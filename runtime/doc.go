// Package runtime is wippyd's single-node actor runtime: processes with
// mailboxes, a work-stealing scheduler, links and monitors, a local name
// registry and the seams the cluster plugs into.
//
// A Runtime owns a process table and a scheduler. Spawn allocates a process,
// registers it in the table and enqueues it — nothing more, so spawning is
// cheap. A process runs in turns: a worker takes it from a run queue, drains
// up to Config.Budget deliveries from its mailbox and calls its
// proc.Behavior's Step; the behaviour returns whether it yields, waits or is
// done. A waiting process holds no goroutine and no worker.
//
// Signals follow Erlang's model. Everything one process does to another —
// a message, an EXIT to a monitor, a link failure, a cancel — is applied by
// the sender's goroutine directly into the target's mailbox or state, so
// order per (sender, receiver) is kept, and an EXIT is always enqueued after
// every message the exiting process sent to that receiver. Messages and
// EXIT/LINK_DOWN notifications share the ordered lane of the mailbox;
// CANCEL, timers and wake-ups use the system lane, read first. Terminate and
// a linked failure of a process that does not trap links do not queue at
// all: they mark the process killed and wake it, and its next turn ends it.
//
// Seams (DESIGN.md section 1): a Router carries envelopes for PIDs of other
// nodes (the standalone router answers ErrNoRoute, which links and monitors
// see as noconnection); Deliver and NodeDown hand the cluster's inbound
// traffic and failures in; a NameService keeps cluster-wide names. The
// runtime never imports the cluster.
//
// Security (SPEC section 8, docs/security.md): every process runs with an
// identity (a security.Identity: an actor and a scope of policies, plus
// the layers of any spawner that narrowed it) set at spawn: given by the
// caller from outside, inherited from the parent, or narrowed by the
// parent (SpawnRequest.Actor/Scope, which needs process.security). Every
// call a process makes through its Env is checked before it has any
// effect by the runtime's security.Guard (Runtime.Guard), with the
// policies of its scope, its host and, for a call aimed at a process, the
// target's host; a refusal is a PERMISSION_DENIED error and the target
// sees nothing. Envelopes to other nodes carry the sender's identity, and
// Deliver runs the same check on arrival, dropping and counting what is
// denied. Calls from outside any process (Runtime.Send, Spawn, ...) are the
// node's own and are not checked. When no host has policies and strict
// mode is off, a process with no policies skips the checks entirely.
//
// Invariants: a process is enqueued only by whoever moved its state from
// idle or blocked to ready (a CAS), so exactly one worker runs it at a time
// and its Behavior needs no locks. Relations (links, monitors, names) of a
// process are guarded by its mutex and are torn down once, when it ends.
//
// # Lock order
//
// Most of a process's state needs no lock: only the goroutine running its
// turn touches it. The locks there are, and every way two of them nest
// ("a → b": b is taken while a is held):
//
//   - names.mu → process.mu: registering a local name records it in the
//     process's relations under the registry's lock, so a name and its
//     owner's record change together and a process that has ended (dead,
//     under process.mu) cannot gain one. Unregistering releases names.mu
//     before it takes process.mu.
//   - process.mu → process.mu: only a local link holds two processes'
//     locks, taken in the order of their PID sequence numbers, lowest
//     first (addLink). Nothing else holds two.
//   - Leaves, held only for a few map or slice operations and never while
//     taking another lock: remoteMu (the index of relations with other
//     nodes; NodeDown reads it, releases it, then locks each process), the
//     process table's shard locks, each mailbox's lock, the deny-log
//     throttle and the guard's caches.
//   - In runtime/sched, a worker slot's lock is held while taking the
//     global queue's lock (a full ring spills half of itself there); the
//     idle list's lock is a leaf. Processes run and timers fire with no
//     scheduler lock held.
//   - Observers (observe.go: ProcessPage, Process, LocalNames) take
//     names.mu, each table shard's read lock and each listed process's mu
//     one at a time, never two at once, and hold a shard's lock only to
//     copy its pointers.
//
// No runtime lock is held while the runtime calls out: the scheduler
// (waking or queueing a process), the Router (Route, Spawn), the
// NameService, the Catalog, a behaviour, or SpawnFor's created callback.
// So those may call back into the runtime (Deliver, NodeDown,
// RelateRemote, a spawn) without deadlock, and a lock of theirs is never
// ordered against one of the runtime's.
package runtime
