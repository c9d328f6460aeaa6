package proc

// Cluster is a node's view of its cluster, as the system module reads it
// (system.node, system.cluster, system.raft): local reads of what the node
// knows now, none waiting on the network. node implements it over
// membership and Raft; a standalone node has none.
type Cluster interface {
	// Addr is this node's advertised membership (gossip) address; ok is
	// false when the node has no membership.
	Addr() (addr string, ok bool)
	// Members lists the members this node sees up (alive or suspect),
	// itself first, then by name; ok is false without membership.
	Members() (members []ClusterMember, ok bool)
	// Raft is this node's Raft state; ok is false when Raft does not run
	// on this node.
	Raft() (raft RaftState, ok bool)
	// RaftStats is Raft's raw statistics; ok is false without Raft.
	RaftStats() (stats map[string]string, ok bool)
}

// ClusterMember is one member of the cluster as this node sees it.
type ClusterMember struct {
	ID    string
	Local bool
	Addr  string            // advertised membership address; "" when unknown
	Meta  map[string]string // gossip metadata; nil when none
}

// Raft roles, as system.raft.role() names them.
const (
	RoleLeader    = "leader"
	RoleVoter     = "voter"
	RoleStandby   = "standby"
	RoleNonMember = "non-member"
)

// RaftState is a node's Raft state.
type RaftState struct {
	// Role is RoleLeader, RoleVoter (a voter of the committed
	// configuration), RoleStandby (a non-voting member) or RoleNonMember.
	Role string
	// Leader is the leader's node name, "" when unknown.
	Leader      string
	Term        uint64
	CommitIndex uint64
}

// MaxLockName is the longest lock name, in bytes.
const MaxLockName = 1024

// Locks is implemented by an Env whose node has cluster-wide locks
// (system.lock). Both calls are checked with system.lock on the name and
// may wait for a Raft commit.
type Locks interface {
	// AcquireLock takes the lock name for this process, failing fast:
	// nil when acquired (or already held by this process), an
	// ALREADY_EXISTS error when another process holds it, another error
	// (UNAVAILABLE without a quorum, ...) when the outcome is not that.
	AcquireLock(name string) error
	// ReleaseLock releases the lock name if this process holds it and
	// reports whether it did.
	ReleaseLock(name string) (bool, error)
}
