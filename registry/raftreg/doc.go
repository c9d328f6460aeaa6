// Package raftreg replicates the cluster-wide name table (registry/fsm,
// the CONSISTENT and STRONG scopes of SPEC section 9) with hashicorp/raft,
// and serves it as a registry.Registry and, through package node, as the
// runtime's Raft name planes. The same table holds the cluster-wide locks
// of system.lock (AcquireLock, ReleaseLock; locks.go says how a lock
// never has two holders, through partitions and a leader's death).
//
// # Use
//
// node builds one Registry per node, before starting the internode
// endpoint (New registers the handlers of the raft and registry streams),
// and starts it after:
//
//	cfg := raftreg.DefaultConfig()
//	cfg.Node, cfg.DataDir = "n1", "./data/raft" // cluster.raft.*
//	cfg.BootstrapExpect, cfg.MaxVoters, cfg.ApplyTimeout = 3, 5, 5*time.Second
//	cfg.Voter = !clientMode                     // run -x: never a voter
//	cfg.MaxStandbys, cfg.Priority, cfg.FailureDomain = 4, 100, "zone-a"
//	reg, err := raftreg.New(cfg, endpoint, members) // before endpoint.Start
//	endpoint.Start()
//	err = reg.Start()
//	rt, err := runtime.New(runtime.Config{..., Names: reg})
//	...
//	reg.Close()
//
// endpoint is the *transport.Endpoint (Streams); members is a PeerSource
// over cluster/membership. Raft server ids and addresses are node names:
// the endpoint must be connected to the members it learns of, which the
// cluster layer does anyway. A node without a cluster, or with
// cluster.raft.enabled: false, uses no Registry (runtime.Config.Names nil)
// or Disabled.
//
// # What it guarantees
//
//   - Register, Unregister, Lookup and List return within the caller's
//     deadline and at most Config.ApplyTimeout. Without a leader and a
//     quorum they fail with UNAVAILABLE (registry.ErrUnavailable,
//     retryable); they never hang.
//   - A change that was proposed but not confirmed in time fails with
//     registry.ErrUnknownOutcome (also UNAVAILABLE). After such a Register
//     the registry proposes UnregisterIfOwned(name, pid), retried until it
//     commits, so the name ends up with its first writer or free; a new
//     Register of the same name and PID cancels that follow-up first. A
//     forwarded proposal carries its sender's deadline and the leader
//     refuses it once the deadline passed, so a request delayed in a
//     partition cannot commit after the conditional unregister (this
//     assumes clocks agree to well within ApplyTimeout).
//   - Register and the releases are idempotent, so when the leader they
//     went to is lost they are sent again to the next one: a register
//     during a failover usually gets a definite answer once a new leader
//     is elected. Unregister is not resent: it reports an unknown outcome.
//   - Lookup and List are linearizable. The leader reads its own table
//     once it has applied a no-op entry of its term (so it holds every
//     committed entry) and after a quorum confirmed its leadership
//     (raft.VerifyLeader; concurrent reads share one round). A follower
//     forwards a lookup to the leader; List asks the leader for its
//     applied index and reads the local replica once it caught up.
//   - Resolve reads the local replica: fast, possibly stale, and working
//     in a minority partition (send by name keeps working). A node's reads
//     are monotonic: its replica only moves forward in the log.
//   - RegisterStrong (strong.go) commits a reservation, asks every member
//     up to acknowledge it once its replica applied it (opAck on the
//     registry stream; a node whose other planes bind the name elsewhere
//     refuses), then commits the activation: when it returns, every live
//     node resolves the name. It fails naming the conflict, or the nodes
//     that did not answer in time, and aborts the reservation; the leader
//     aborts reservations left behind past their deadline. Once a batch
//     that reserved (or released a STRONG name) is applied, the leader
//     tells the other servers that it is committed with an AppendEntries
//     of its own, without entries (batch.go), so followers apply it at
//     once instead of after CommitTimeout; a follower that does not hold
//     the entry yet refuses it, and an empty entry then follows the batch
//     when nothing else is queued.
//   - ReleasePID is asynchronous and retried with backoff until it
//     commits, deduplicated per PID. It is skipped for processes that
//     never held a name, so it is cheap to call on every exit.
//   - Only the leader releases the names of a node (ReleaseNode) that
//     membership declared dead or left. Every new leader, once ready, and
//     then every ReconcileInterval and membership change, releases the
//     names of nodes membership reports dead or left, or has not known for
//     UnknownGrace: a release lost in a leader change still happens.
//   - When an applied entry takes a name from a process of this node that
//     did not ask for it (a node-down release, or a snapshot without it),
//     the OnRevoke callback runs; the runtime sends CANCEL
//     "name revoked: <name>" to the process if it still lives.
//   - When an applied entry gives a name to a process of this node, the
//     OnClaim callback runs; the runtime releases the names of a process it
//     no longer runs. This covers a registration committed after its
//     process ended (one made through another node, which this node's
//     ReleasePID could not see yet, or one that named a dead PID).
//   - Roles are bounded (roles.go): the leader keeps up to MaxVoters
//     voters, spread over failure domains and ranked by priority, up to
//     MaxStandbys non-voters, and leaves every other node outside the
//     configuration, where it keeps a fed copy as a client does. Changes
//     go adds and promotions, then demotions, then removals, so no step
//     leaves fewer live voters than a majority. A member is removed only
//     once it has been dead in gossip AND silent to the leader's RPCs for
//     ReconcileDebounce: stale gossip never costs a voter. Clients are
//     removed; members membership does not know, or suspects, keep their
//     role.
//   - A client (Config.Client, `run -x` nodes) runs no Raft and is never in
//     the configuration, so the leader sends it nothing. It subscribes to
//     one member up (client.go), which sends it a snapshot of its table
//     and then pushes every command entry it applies (feed.go); the client
//     applies them to a table of its own, so it resolves, acknowledges
//     STRONG reservations and revokes exactly as a member's replica does,
//     lagging it by one hop. Its changes and linearizable reads go to the
//     leader its feeder names. It re-subscribes, to another member if
//     need be, on a gap, a reset, a lost feeder or a copy left behind, and
//     never installs a snapshot older than its copy.
//   - Bootstrap happens once per cluster: a voter-eligible node without
//     Raft state, with BootstrapExpect above 0, bootstraps when the alive
//     voter-eligible members it sees have not changed for
//     BootstrapStable, at least BootstrapExpect of them, it is one of the
//     BootstrapExpect lowest names, it has not lately told a member
//     outside that set that it is fresh, and every other such member
//     answers (on the registry stream) that it has no Raft state and no
//     leader. All of them bootstrap the same configuration, so no start
//     order splits the cluster. A node with state on disk never
//     bootstraps again.
//
// # Raft
//
// hashicorp/raft v1.8.0; log and stable store in hashicorp/raft-wal
// v0.4.0 (DataDir/<Node>/wal: segment files, and wal-meta.db, a bbolt
// v1.5.0 file holding raft's stable keys and the list of segments) behind
// a 512-entry log cache; SnapshotRetain file snapshots in
// DataDir/<Node>/snapshots; layout.go has the directory. raft-wal writes
// an append (one StoreLogs: a batch of entries) to the open segment and
// syncs it once, where raft-boltdb's bbolt commit synced twice (pages,
// then meta) on every replica; with three replicas on one disk that
// measured 1.3–1.45x the durable registers per second and half the
// register latency (BENCHMARKS.md, 2026-12-07). v0.4.0 is the release
// this module resolves, and three of its bugs are worked around: Close
// leaves wal-meta.db open (walStore closes it); a tail truncation (a
// leader cut off from its quorum makes one once back) seals the open
// segment without writing its index, so that it is unreadable after a
// restart and raft.NewRaft panics (raft-wal issue 31); a crash or stop
// between the append that seals a segment and the rotation that records
// it, or a torn sealing append, leaves a segment raft-wal reopens and
// cannot append to. The check at open repairs the last two (walcheck.go),
// and newRaft turns raft's panic over an unreadable entry into
// ErrStoreDamaged.
//
// raft-wal trusts its files, so before it opens them inspectWAL checks
// them all: wal-meta.db with checkBolt (plain reads of every page, the
// invariants of bbolt's consistency check: bbolt panics, faults or starts
// afresh on a damaged file), the segment list, and every segment read in
// full: each batch against the checksum of its commit frame, each entry
// decoded with its index, each seal's index (segcheck.go). After the last
// complete batch of the open segment may lie the remains of an
// interrupted append, which are zeroed (that append was never
// acknowledged); anything else is damage. A damaged store is
// ErrStoreDamaged naming the file. The member marker (DataDir/<Node>/
// raft-member, written before the first Raft write) makes lost state on a
// node that has been part of a cluster an error too (ErrStateLost), and
// writtenKey the loss of an open segment that entries were written to,
// which raft-wal cannot tell from a crash before its first append. A
// raft.db of an earlier version is checked with checkBolt and migrated
// at start (layout.go). The directory is locked while a process uses it
// (lock_unix.go).
//
// Segments are 8 MiB (segmentSize), not raft-wal's default of 64 MiB.
// raft-wal preallocates each segment in full, so every node holds one
// segment's worth of disk from its first start whatever it writes: at
// 64 MiB, the three nodes of a docker-compose setup on a laptop take
// 192 MiB, and each test that starts a durable node 64 MiB of the
// temporary directory. The check at start reads the open segment in full
// too. The size does not show in the registry's throughput (4, 8 and 64
// MiB measured alike, BENCHMARKS.md): a segment holds thousands of
// batches, and a rotation costs one bbolt commit. A smaller segment also
// lets head truncation after a snapshot (whole segments only) free the
// log sooner. 4 MiB would halve the footprint again; 8 MiB keeps the
// rotations to about one every 13 s per node at the throughput target
// (60,000 registers by 64 clients wrote 1.98 MB of log on each node).
//
// Heartbeat, election and leader lease 200/200/100 ms, BatchApplyCh,
// prevote, ShutdownOnRemove off (a node removed while wrongly declared
// dead stays a quiet follower until the leader adds it back).
//
// Raft's RPCs travel on the raft stream of the internode transport, one
// message per request and one per response (raftTransport), not raft's
// NetworkTransport over tunnelled byte streams: the transport already
// frames, authenticates, orders and retransmits. There is no
// AppendEntries pipelining (MaxRPCsInFlight = 1 in raft's terms). Besides
// raft's own RPCs, the leader sends the commit notices of STRONG batches
// (notifyCommit): the empty AppendEntries raft sends after CommitTimeout,
// sooner. A follower accepts one only if its log holds the given entry
// with the leader's term, so its log up to there is the leader's (log
// matching), and it applies up to that committed index; no log changes.
// Snapshots go in acknowledged chunks of SnapshotChunk bytes.
//
// Log entries hold a batch of fsm commands, a single command (entries
// written before batching), or nothing (the leader's no-op). The leader
// proposes commands, its own and those forwarded to it, in batches: one
// batch entry in flight at a time, holding what queued while the previous
// one was written, replicated and applied (group commit: a lone command
// goes at once, many share one disk write on every replica). The entry's
// Extensions carry the proposing node's proposal ids: the proposer's
// state machine hands each result to its waiting caller when it applies
// the entry. The registry never waits on apply, barrier or
// configuration futures: raft leaves a future unresolved forever when it
// shuts down with the future still in one of its buffered queues (apply,
// FSM), and a goroutine waiting on it would leak. The one future waited on,
// VerifyLeader's, is drained before raft shuts down (its queue is buffered
// too).
//
// # Limits
//
//   - Pending releases live in memory: a node that restarts before its
//     releases commit forgets them. The names then stay until the owner's
//     node is declared dead (or restarts: the runtime reports a new boot
//     id as node-down and node-up, and the leader releases the node's
//     names; a process of the new life that registered before that release
//     commits loses its name and is revoked).
//   - Reads from a follower cost a round trip to the leader plus a
//     leadership check; Resolve is the fast, local, possibly stale path.
//   - A node restarted on its data dir serves its old table only after a
//     leader tells it the commit index (raft-wal v0.4.0 does not track
//     it).
//   - What the check at open cannot catch: damage confined to the last
//     batch of the open segment, which looks like an interrupted append
//     and is dropped (the node gets the entries from the leader again, as
//     after a crash); a changed value in wal-meta.db that leaves it a
//     consistent bbolt file (bbolt keeps no checksums; raft.db had the
//     same limit); an open segment lost between its first synced append
//     and the record of it (writtenKey).
//
// # Concurrency
//
// Every method is safe for concurrent use. The OnRevoke callback runs on
// the goroutine that applies Raft entries and must not block. Close joins
// every goroutine the registry started.
package raftreg
