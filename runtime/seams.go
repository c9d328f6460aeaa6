package runtime

import (
	"context"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// SignalKind is what an Envelope carries between nodes.
type SignalKind uint8

// Signal kinds. The numbering is part of the internode protocol: never
// renumber, only append.
const (
	SigMessage   SignalKind = iota + 1 // From sent Topic/Payload to To
	SigExit                            // From, monitored by To, ended (Payload, Err)
	SigLinkExit                        // From, linked to To, ended with Err
	SigLink                            // From links to To
	SigUnlink                          // From unlinks from To
	SigMonitor                         // From monitors To
	SigDemonitor                       // From stops monitoring To
	SigCancel                          // From cancels To; Payload is the reason
	SigTerminate                       // From terminates To
)

// Envelope is a signal addressed to a process, as it crosses nodes.
type Envelope struct {
	Kind    SignalKind
	From    pid.PID
	To      pid.PID
	Topic   string
	Payload msg.Value
	Err     *proc.Error

	// Chain is the sender's security context, every layer (its actor
	// and the ids of its scope's policies), which the receiving node
	// resolves and checks layer by layer (SPEC section 8). The runtime
	// fills it in on every envelope a process sends; nil for signals from
	// outside any process. A cluster carries it only between peers that
	// passed the authenticated handshake. Read-only: it is shared with
	// the sending process.
	Chain security.RemoteChain
	// FromHost is the sender's host id ("" from outside any process;
	// From.Host is used then).
	FromHost string
	// Guest, if set, takes the process a delivered message readies,
	// instead of a worker being woken for it (see Guest). Deliver only.
	Guest *Guest
	// Memo, if set, is the delivering goroutine's: a run of signals from
	// one sender to one process is checked once (see security.Memo).
	// Deliver only.
	Memo *security.Memo
}

// Router carries envelopes to processes of other nodes. node implements it
// with the cluster; the standalone router has no routes.
type Router interface {
	// Route sends e towards e.To's node, keeping order per (From, To).
	// ErrNoRoute (or an error wrapping it) when the node is unreachable;
	// ErrUnknownNode when the node was never seen. Route must not keep e
	// (or a pointer into it) after it returns: the runtime reuses it.
	Route(e *Envelope) error
	// Spawn starts a process on another node; req.Host is the host id
	// there. The runtime has checked the spawn against this node's
	// policies; req.Parent is the parent's context as it travels and
	// req.Actor and req.ScopeIDs the narrowing the spawner asks for (or,
	// without a Parent, the child's identity as given), for the target
	// node to check the spawn again and derive the child's identity itself
	// (req.Scope is nil). req.Context is the child's context values.
	// With req.Link or req.Monitor, the target node relates the child to
	// from before it runs (Runtime.SpawnFor) and the router records the
	// relation on this side with Runtime.RelateRemote while handling the
	// answer, before any later signal from that node. It is called inside
	// the caller's Blocking: it may wait for the round trip.
	Spawn(node string, from pid.PID, req proc.SpawnRequest) (pid.PID, error)
}

// standaloneRouter is the Router of a node that is in no cluster.
type standaloneRouter struct{}

func (standaloneRouter) Route(*Envelope) error { return ErrUnknownNode }
func (standaloneRouter) Spawn(string, pid.PID, proc.SpawnRequest) (pid.PID, error) {
	return pid.PID{}, ErrUnknownNode
}

// NameService is the cluster-wide name planes (SPEC section 9): EVENTUAL,
// CONSISTENT and STRONG. node composes it from registry/eventual and
// registry/raftreg; it is nil on a standalone node. Scopes given to it are
// cluster scopes; LOCAL stays in the runtime.
type NameService interface {
	// Register gives name to p in scope. It returns within ctx's deadline:
	// nil, ALREADY_EXISTS (another process holds it), UNAVAILABLE
	// (CONSISTENT and STRONG without a quorum; STRONG when a live node did
	// not acknowledge, naming it; EVENTUAL past its bound), INVALID
	// (EVENTUAL for a process of another node), or an error for an
	// unknown outcome, after which the service releases the name again if
	// p holds it.
	Register(ctx context.Context, scope proc.Scope, name string, p pid.PID) error
	// Unregister releases name of scope if owner holds it: NOT_FOUND when
	// nobody holds it in that scope, PERMISSION_DENIED when another
	// process does.
	Unregister(ctx context.Context, scope proc.Scope, name string, owner pid.PID) error
	// Holder returns the holder of name in scope as this node's replica
	// has it, without waiting.
	Holder(scope proc.Scope, name string) (pid.PID, bool)
	// Resolve resolves name from this node's replicas, the most
	// authoritative plane first (CONSISTENT and STRONG, then EVENTUAL):
	// fast, possibly stale, never waiting for the network.
	Resolve(name string) (pid.PID, bool)
	// ReleasePID releases every name of p in every plane; it returns at
	// once and retries until the release is committed.
	ReleasePID(p pid.PID)
	// ReleaseNode releases every name held by processes of node.
	ReleaseNode(node string)
	// OnRevoke sets the callback for a name the cluster took from a live
	// local process (its node was wrongly declared dead, or it lost an
	// EVENTUAL conflict); the runtime sends it CANCEL "name revoked:
	// <name>".
	OnRevoke(func(name string, p pid.PID))
	// OnClaim sets the callback for a name this node's replica has just
	// given to a process of this node (a committed registration, possibly
	// made from another node). The runtime releases the names of a process
	// that no longer exists: it ended before the registration committed,
	// when ReleasePID found nothing to release yet.
	OnClaim(func(name string, p pid.PID))
}

// GroupService is the node's process groups: the members of every group
// of every pg.scope, cluster-wide and eventually consistent, read from
// this node's view without waiting for the network. cluster/groups
// implements it; nil = no process groups (pg.open fails). Errors are
// *proc.Error values of the pg page's kinds.
type GroupService interface {
	// HasScope reports whether scope is a pg.scope of this node.
	HasScope(scope string) bool
	// Join adds local process p once to each of groups (all or none).
	Join(scope string, groups []string, p pid.PID) error
	// Leave removes p once from each of groups it is in (an error when
	// it is in none).
	Leave(scope string, groups []string, p pid.PID) error
	// Members lists a group's members, a PID once per join; with local,
	// this node's only.
	Members(scope, group string, local bool) []pid.PID
	// Groups lists the groups with a member (with local, on this node).
	Groups(scope string, local bool) []string
	// Targets returns where a broadcast to the group goes: its distinct
	// local members and the other nodes with members. Both slices are
	// shared and read-only.
	Targets(scope, group string) (local []pid.PID, nodes []string)
	// Subscribe sends p the joins and leaves of group (of every group of
	// scope when group is "") as proc.TopicGroupEvent messages, through
	// the Notifier given to the service, and returns the members at that
	// moment, atomically with the subscription.
	Subscribe(scope, group string, p pid.PID) (id uint64, snapshot map[string][]pid.PID, err error)
	// Unsubscribe ends subscription id of p.
	Unsubscribe(id uint64, p pid.PID)
	// ReleasePID removes p, a local process that ended, from every group
	// and ends its subscriptions.
	ReleasePID(p pid.PID)
}

// GroupRouter is implemented by a Router that carries broadcasts to
// process groups: one frame per node with members, which that node's
// runtime fans out to its local members (Runtime.DeliverGroup), in the
// order of the sender's other traffic to that node.
type GroupRouter interface {
	RouteGroup(node, scope, group string, e *Envelope) error
}

// LockService is the cluster-wide lock table (system.lock):
// registry/raftreg implements it; nil on a node without Raft. A lock is
// released when its holder releases it, when the holder ends (with its
// names, through NameService.ReleasePID), and when its node is declared
// dead, after the node has stopped its holders (see raftreg's locks).
type LockService interface {
	// AcquireLock takes lock name for p, failing fast: nil, an
	// ALREADY_EXISTS error when another process holds it, UNAVAILABLE
	// without a quorum. It returns within ctx's deadline.
	AcquireLock(ctx context.Context, name string, p pid.PID) error
	// ReleaseLock releases name if owner holds it, reporting whether it
	// did.
	ReleaseLock(ctx context.Context, name string, owner pid.PID) (bool, error)
	// OnLockLost sets the callback for a live local process whose lock
	// the node gave up because it lost the cluster: the runtime ends it.
	OnLockLost(func(name string, p pid.PID))
}
