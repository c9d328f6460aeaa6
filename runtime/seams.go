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

	// The sender's security identity, which the receiving node checks
	// the signal against (SPEC section 8). The runtime fills them in on
	// every envelope a process sends; they are nil/empty for signals from
	// outside any process. A cluster carries them only between peers that
	// passed the authenticated handshake. Read-only: the slice and the
	// actor are shared with the sending process.
	//
	// Actor is the actor the sender runs as; nil for none.
	Actor *security.Actor
	// ScopeIDs are the ids of the sender's policies (of every layer of a
	// narrowed context), resolved by the receiving node against its own
	// policy table.
	ScopeIDs []string
	// FromHost is the sender's host id ("" from outside any process;
	// From.Host is used then).
	FromHost string
}

// Router carries envelopes to processes of other nodes. node implements it
// with the cluster; the standalone router has no routes.
type Router interface {
	// Route sends e towards e.To's node, keeping order per (From, To).
	// ErrNoRoute (or an error wrapping it) when the node is unreachable;
	// ErrUnknownNode when the node was never seen.
	Route(e *Envelope) error
	// Spawn starts a process on another node; req.Host is the host id
	// there. The runtime has checked the spawn against this node's
	// policies; req.Actor and req.ScopeIDs are the child's identity
	// (the actor it runs as and the ids of its policies), for the target
	// node to check the spawn again and give the child (req.Scope is nil).
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

// NameService is the cluster-wide (CONSISTENT) name table. registry/raftreg
// implements it; it is nil on a standalone node.
type NameService interface {
	// Register claims name for p. It returns within ctx's deadline: nil, an
	// ALREADY_EXISTS error, UNAVAILABLE without quorum, or an error for an
	// unknown outcome (timed out after proposing), after which the caller
	// should not assume either way (the service follows it with an
	// unregister conditional on p).
	Register(ctx context.Context, name string, p pid.PID) error
	// Unregister releases name if owner holds it (PERMISSION_DENIED if
	// another process does).
	Unregister(ctx context.Context, name string, owner pid.PID) error
	// Lookup resolves name linearizably.
	Lookup(ctx context.Context, name string) (pid.PID, error)
	// Resolve resolves name from the local replica: fast, possibly stale.
	Resolve(name string) (pid.PID, bool)
	// ReleasePID releases every name of p; it returns at once and retries
	// until the release is committed.
	ReleasePID(p pid.PID)
	// ReleaseNode releases every name held by processes of node.
	ReleaseNode(node string)
	// OnRevoke sets the callback for a name of a live local process that
	// the cluster released (its node was wrongly declared dead).
	OnRevoke(func(name string, p pid.PID))
	// OnClaim sets the callback for a name this node's replica has just
	// given to a process of this node (a committed registration, possibly
	// made from another node). The runtime releases the names of a process
	// that no longer exists: it ended before the registration committed,
	// when ReleasePID found nothing to release yet.
	OnClaim(func(name string, p pid.PID))
}
