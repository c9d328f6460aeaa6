// Package fsm is the deterministic state machine behind the cluster-wide
// name table: a map from name to PID changed only by commands taken from a
// replicated log, with snapshots to compact that log.
//
// # Use
//
// The leader encodes a command with EncodeCommand and proposes the bytes,
// alone or with others in a batch (EncodeBatch); every replica decodes the
// committed entry with DecodeCommand (DecodeBatch) and applies it with
// Apply(index, cmd) (ApplyBatch(index, cmds)). Apply returns a Result: the error for the
// proposer (registry.ErrAlreadyExists, ErrNotFound, ErrNotOwner) and the
// changes, as registry.Events, which the caller forwards to its watchers.
// Snapshot and Restore save and load the whole table; Restore also returns
// the changes it made, so watchers never miss one.
//
//	f := fsm.New()
//	res := f.Apply(7, fsm.Register{Name: "cache", PID: p})
//	if errors.Is(res.Err, registry.ErrAlreadyExists) { ... res.Owner holds it ... }
//	holder, ok := f.Lookup("cache")
//
// Commands: Register (first write wins, idempotent for the same PID),
// Unregister (owner only), UnregisterIfOwned (silent no-op unless the PID
// holds the name; it follows a Register of unknown outcome), ReleasePID (a
// process ended) and ReleaseNode (a node died or left; its released names
// come back sorted so the leader can cancel holders that are still alive).
// The STRONG scope adds Reserve (first write wins against every name, as
// Register; the name is held, pending, with the proposer's deadline),
// Activate (the pending reservation of that PID becomes active), Abort
// (removes it if still pending) and UnregisterStrong. Unregister and
// UnregisterStrong release only names of their scope; the releases and
// UnregisterIfOwned any.
//
// Every claim of a name goes through one conditional write, set if absent
// (FSM.register, FSM.claim), and every release through one conditional
// delete, delete if held by a PID (FSM.unregister): the primitives a
// lock or a group entry kept in this table would use too.
//
// # Invariants
//
//   - Deterministic: Apply, Snapshot and Restore depend only on their
//     arguments and the table. No clock, no randomness; every list the
//     package returns (List, NamesOf, Nodes, Result.Changes, restore
//     events) is sorted, never in map order. Two tables fed the same
//     commands at the same indexes have equal snapshots, byte for byte.
//   - One name, one PID; a PID may hold many names. Every holder passes
//     registry.ValidatePID, every name registry.ValidateName; the same
//     checks run in DecodeCommand, EncodeCommand, Apply and Restore, so no
//     replica can hold what another would refuse.
//   - Releasing a PID or a node costs the number of its names (secondary
//     indexes by PID and by node), never a scan of the table.
//   - Index() only grows through Apply and ApplyBatch; an Apply at an
//     index not above it is refused with ErrStaleIndex. A Restore sets it
//     to the snapshot's.
//   - The decoders (DecodeCommand, Restore) are safe on hostile input: no
//     panic, no allocation beyond what the input's own length justifies,
//     and only the exact bytes the encoders write are accepted, so
//     decode-then-encode gives the input back.
//
// # Encoding
//
// Commands are one op byte followed by msgpack values in a fixed order (see
// EncodeCommand).
// A table with STRONG names snapshots as version 2 (record flags and
// deadlines); one without keeps version 1's bytes. A batch, several commands carried by one log entry, is
// the OpBatch byte, a count and the commands (see EncodeBatch); its
// commands apply with ApplyBatch, all at the entry's index. A snapshot is
// a magic and version followed by msgpack values (see Snapshot). All are
// written with msgpack.Encoder primitives,
// without reflection. Op numbers and the snapshot version are stored in
// Raft logs and snapshots: never renumber them; a changed command is a new
// Op, a changed snapshot layout a new version.
//
// # Concurrency
//
// An FSM is not safe for concurrent use, and has no lock of its own: the
// caller owns it. Apply and Restore need exclusive access (Raft applies one
// entry at a time). The read methods (Lookup, Get, List, NamesOf, Nodes,
// Len, Index, Snapshot) change nothing, not even a cache, so any number of
// them may run at once under a reader lock. The owner (registry/raftreg) is
// expected to guard the FSM with a sync.RWMutex, which it needs anyway for
// its own compound steps (apply, then publish to watchers in order;
// subscribe as list, index and add a watcher at once) that a lock inside
// the FSM could not cover.
package fsm
