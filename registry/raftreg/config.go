package raftreg

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/wippyd/wippyd/registry"
)

// MaxAppendEntriesLimit is the largest MaxAppendEntries: Raft refuses a
// configuration above it.
const MaxAppendEntriesLimit = 1024

// Config configures a Registry. Start from DefaultConfig, set Node and
// DataDir (or InMemory); New validates a copy.
type Config struct {
	// Node is this node's name: its Raft server id and address (the
	// internode transport routes by name) and the node of the PIDs it
	// revokes. Required.
	Node string
	// DataDir is cluster.raft.data_dir. The log and stable store
	// (raft-wal, in wal/) and the snapshots live in DataDir/<Node>/
	// (layout.go), so several nodes may share a directory. A node restarted
	// on the same directory keeps its log and never bootstraps again; one
	// that finds the raft.db of an earlier version migrates it. Each node
	// takes at least one 8 MiB segment file (preallocated) from its first
	// start. Required unless InMemory.
	DataDir string
	// InMemory keeps the log, stable store and snapshots in memory (tests):
	// nothing survives Close. Default false.
	InMemory bool
	// Voter: this node may be a Raft voter and counts for BootstrapExpect
	// (cluster.raft.eligible). False for nodes that only replicate the
	// table (non-voters) and never bootstrap. Default true.
	Voter bool
	// Client: this node stays outside the Raft configuration and runs no
	// Raft (`run -x` nodes). It keeps a copy of the table that a member
	// feeds it over the registry stream (client.go), resolves names from
	// it, and forwards every change and linearizable read to the leader.
	// It needs no DataDir and is never a voter. Default false.
	Client bool
	// FeedRenew is how often a client renews its subscription to the
	// member feeding its copy (and how soon it notices that member gone
	// and picks another); a member drops a subscription not renewed for
	// three times this. Default 500ms.
	FeedRenew time.Duration
	// BootstrapExpect is cluster.raft.bootstrap_expect: the number of
	// voter-eligible members that must be seen, stably for
	// BootstrapStable, none with Raft state or a leader, before the
	// BootstrapExpect lowest-named of them bootstrap together. 1
	// bootstraps the lowest-named fresh node alone; 0 never bootstraps
	// (the node only joins a cluster that exists). Default 3; at most
	// MaxVoters.
	BootstrapExpect int
	// BootstrapStable is the stability window: the set of alive
	// voter-eligible members must stay the same this long before a node
	// bootstraps, so that a partial view while nodes are still joining
	// does not bootstrap early (or alone, with BootstrapExpect 1).
	// Longer is safer against slow joins and delays the first leader.
	// Default 1s.
	BootstrapStable time.Duration
	// MaxVoters is cluster.raft.max_voters: the leader keeps this many
	// voters (odd), or fewer when fewer voter-eligible members are alive
	// (odd when it adds voters; it never demotes a healthy voter only to
	// make the count odd). More voters survive more failures but make
	// every write wait for more disks. Default 5.
	MaxVoters int
	// MaxStandbys is cluster.raft.max_standbys: the leader keeps up to
	// this many other members in the configuration as non-voters
	// (standbys: replicated, promoted when a voter goes), voter-eligible
	// ones first. Every other node stays outside the configuration,
	// costs the leader nothing, and keeps a copy of the table a member
	// feeds (roles.go). Default 4.
	MaxStandbys int
	// Priority is cluster.raft.priority: this node's rank when voter slots
	// are filled, lower preferred, ties broken by name. Default 100.
	Priority int
	// FailureDomain is cluster.failure_domain: this node's zone or rack;
	// voters are spread over distinct domains first. Default "".
	FailureDomain string
	// ReconcileDebounce is cluster.raft.reconcile_debounce: the leader
	// reconsiders the roles this long after the first membership change
	// of a burst (coalescing it), and removes a member only once it has
	// been dead in gossip AND silent to the leader's RPCs for this long,
	// so that stale gossip (a healed partition reporting a healthy voter
	// failed) never costs a voter. A dead voter is replaced about this
	// much after gossip declares it dead. Default 2s.
	ReconcileDebounce time.Duration
	// ReconcileTimeout is cluster.raft.reconcile_timeout: the bound of one
	// reconcile pass (how long a configuration change it makes may wait to
	// be taken by Raft). Default 2s.
	ReconcileTimeout time.Duration
	// SnapshotRetain is cluster.raft.snapshot_retain: snapshots kept.
	// Default 3.
	SnapshotRetain int
	// MaxAppendEntries is cluster.raft.max_append_entries: the entries of
	// one AppendEntries RPC at most, up to MaxAppendEntriesLimit. Default 16.
	MaxAppendEntries int
	// LeaderProbeInterval and LeaderProbeGrace are
	// cluster.raft.leader_probe_interval and leader_probe_grace: how often
	// a node checks that it reaches the leader, and how many failed checks
	// in a row declare the leader unreachable. Defaults 3s and 3.
	LeaderProbeInterval time.Duration
	LeaderProbeGrace    int
	// ApplyTimeout is cluster.raft.apply_timeout: the longest a change or a
	// linearizable read waits (a caller's context may shorten it). Without
	// quorum, calls fail with UNAVAILABLE after it. Default 5s.
	ApplyTimeout time.Duration

	// Raft timing. Heartbeat and election timeouts decide how fast a dead
	// leader is replaced (failover ~2x HeartbeatTimeout) against how often
	// a slow node causes a needless election. LeaderLeaseTimeout bounds how
	// long a leader cut off from its quorum keeps believing it leads (and
	// so how long its proposals wait before failing). Defaults
	// 200ms/200ms/100ms; CommitTimeout (the idle interval after which the
	// leader tells followers the commit index) 50ms.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// RPCTimeout bounds one Raft RPC to a peer (snapshots get more in
	// proportion to their size). A peer that does not answer in time
	// counts as a failed RPC and raft backs off. Default 1s.
	RPCTimeout time.Duration
	// SnapshotThreshold and SnapshotInterval decide when the table is
	// snapshotted and the log truncated; TrailingLogs entries stay after a
	// snapshot so that a briefly absent follower catches up from the log.
	// Both count log entries, and under load one entry is a batch of up to
	// 16 KiB of commands (batch.go). Defaults 8192, 2m, 10240 (raft's).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// SnapshotChunk is the size of the pieces a snapshot is sent in, each
	// acknowledged before the next. Default 1 MiB; at most the transport's
	// max frame minus a few bytes.
	SnapshotChunk int
	// MaxSnapshot bounds a snapshot received from a leader. Default 1 GiB.
	MaxSnapshot int64

	// ReleaseBackoffMin and ReleaseBackoffMax bound the wait between two
	// attempts of a release that did not commit (process ended, node died,
	// conditional unregister). Defaults 50ms and 5s.
	ReleaseBackoffMin time.Duration
	ReleaseBackoffMax time.Duration
	// ReleaseParallel bounds the releases proposed at once. Default 32.
	ReleaseParallel int
	// ReconcileInterval is how often the leader compares voters and names
	// with membership, besides every membership change. Default 2s.
	ReconcileInterval time.Duration
	// UnknownGrace: names of a node that membership does not know at all
	// (neither alive nor dead) are released once the leader has not seen
	// it for this long; a node membership declared dead or left is
	// released at once. Covers nodes that died while the cluster was down.
	// Default 1m.
	UnknownGrace time.Duration
	// LockFence: a node that has not heard from a Raft leader for this long
	// (or was the leader and lost its quorum) terminates its processes that
	// hold a lock (system.lock), since the cluster may give the lock to
	// another. Longer than a leader election, so that a failover alone
	// fences nobody. Default 1s.
	LockFence time.Duration
	// LockGrace: the locks of a node declared dead are released this long
	// after, once the node has surely fenced its holders. More than
	// LockFence plus the time a returning node takes to apply the log.
	// Default 3s.
	LockGrace time.Duration
	// MaxForwarded bounds the requests from other nodes served at once;
	// more are answered "busy" (UNAVAILABLE, retryable). Default 4096.
	MaxForwarded int
	// WatchBuffer is the number of events a watcher may fall behind by
	// before it is stopped with registry.ErrWatchLagged. Default 4096.
	WatchBuffer int

	// Logger receives Raft's log (as slog records) and the registry's own.
	// Default: discard.
	Logger *slog.Logger

	// segmentSize overrides the size of the log's segment files
	// (segmentSize) for tests that need several. 0: the default.
	segmentSize int
}

// DefaultConfig returns the defaults; Node and DataDir are empty.
func DefaultConfig() Config {
	return Config{
		Voter:               true,
		BootstrapExpect:     3,
		BootstrapStable:     time.Second,
		MaxVoters:           5,
		MaxStandbys:         4,
		Priority:            100,
		ReconcileDebounce:   2 * time.Second,
		ReconcileTimeout:    2 * time.Second,
		SnapshotRetain:      3,
		MaxAppendEntries:    16,
		LeaderProbeInterval: 3 * time.Second,
		LeaderProbeGrace:    3,
		ApplyTimeout:        5 * time.Second,
		HeartbeatTimeout:    200 * time.Millisecond,
		ElectionTimeout:     200 * time.Millisecond,
		LeaderLeaseTimeout:  100 * time.Millisecond,
		CommitTimeout:       50 * time.Millisecond,
		RPCTimeout:          time.Second,
		SnapshotThreshold:   8192,
		SnapshotInterval:    2 * time.Minute,
		TrailingLogs:        10240,
		SnapshotChunk:       1 << 20,
		MaxSnapshot:         1 << 30,
		ReleaseBackoffMin:   50 * time.Millisecond,
		ReleaseBackoffMax:   5 * time.Second,
		ReleaseParallel:     32,
		ReconcileInterval:   2 * time.Second,
		UnknownGrace:        time.Minute,
		LockFence:           time.Second,
		LockGrace:           3 * time.Second,
		MaxForwarded:        4096,
		WatchBuffer:         4096,
		FeedRenew:           500 * time.Millisecond,
	}
}

// Validate reports the first invalid field, wrapped in ErrInvalidConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case registry.ValidateNode(c.Node) != nil:
		return bad("node name %q", c.Node)
	case c.DataDir == "" && !c.InMemory && !c.Client:
		return bad("data_dir is required")
	case c.Client && c.Voter:
		return bad("a client is never a voter")
	case c.FeedRenew < time.Millisecond:
		return bad("feed renew %v", c.FeedRenew)
	case c.BootstrapExpect < 0:
		return bad("bootstrap_expect %d, want at least 0", c.BootstrapExpect)
	case c.BootstrapStable < 0:
		return bad("bootstrap stability window %v", c.BootstrapStable)
	case c.MaxVoters < 1 || c.MaxVoters%2 == 0:
		return bad("max_voters %d, want an odd number", c.MaxVoters)
	case c.MaxStandbys < 0:
		return bad("max_standbys %d", c.MaxStandbys)
	case c.ReconcileDebounce < 0:
		return bad("reconcile debounce %v", c.ReconcileDebounce)
	case c.ReconcileTimeout <= 0:
		return bad("reconcile_timeout %v", c.ReconcileTimeout)
	case c.SnapshotRetain < 1:
		return bad("snapshot_retain %d, want at least 1", c.SnapshotRetain)
	case c.MaxAppendEntries < 1 || c.MaxAppendEntries > MaxAppendEntriesLimit:
		return bad("max_append_entries %d, want 1 to %d", c.MaxAppendEntries, MaxAppendEntriesLimit)
	case c.BootstrapExpect > c.MaxVoters:
		return bad("bootstrap_expect %d above max_voters %d", c.BootstrapExpect, c.MaxVoters)
	case c.ApplyTimeout <= 0:
		return bad("apply_timeout %v", c.ApplyTimeout)
	case c.HeartbeatTimeout < 5*time.Millisecond || c.ElectionTimeout < c.HeartbeatTimeout:
		return bad("heartbeat timeout %v, election timeout %v", c.HeartbeatTimeout, c.ElectionTimeout)
	case c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return bad("leader lease timeout %v", c.LeaderLeaseTimeout)
	case c.CommitTimeout < time.Millisecond:
		return bad("commit timeout %v", c.CommitTimeout)
	case c.RPCTimeout <= 0:
		return bad("rpc timeout %v", c.RPCTimeout)
	case c.SnapshotInterval < 5*time.Millisecond || c.SnapshotThreshold == 0:
		return bad("snapshot interval %v, threshold %d", c.SnapshotInterval, c.SnapshotThreshold)
	case c.SnapshotChunk < 1<<10:
		return bad("snapshot chunk %d", c.SnapshotChunk)
	case c.MaxSnapshot < int64(c.SnapshotChunk):
		return bad("max snapshot %d", c.MaxSnapshot)
	case c.ReleaseBackoffMin <= 0 || c.ReleaseBackoffMax < c.ReleaseBackoffMin:
		return bad("release backoff %v..%v", c.ReleaseBackoffMin, c.ReleaseBackoffMax)
	case c.ReleaseParallel < 1:
		return bad("release parallel %d", c.ReleaseParallel)
	case c.ReconcileInterval <= 0:
		return bad("reconcile interval %v", c.ReconcileInterval)
	case c.UnknownGrace <= 0:
		return bad("unknown grace %v", c.UnknownGrace)
	case c.LockFence < 4*time.Millisecond || c.LockGrace < 2*c.LockFence:
		return bad("lock fence %v, lock grace %v: the grace must be at least twice the fence", c.LockFence, c.LockGrace)
	case c.MaxForwarded < 1:
		return bad("max forwarded %d", c.MaxForwarded)
	case c.WatchBuffer < 1:
		return bad("watch buffer %d", c.WatchBuffer)
	}
	return nil
}
