package proc

import (
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/security"
)

// Status is what a Step returns: how the process goes on.
type Status uint8

const (
	// StatusYield: the process can run again at once; it goes to the back of the
	// run queue so others get their turn.
	StatusYield Status = iota
	// StatusBlock: the process waits on something besides its mailbox (a timer,
	// a channel fed by a timer); any delivery wakes it.
	StatusBlock
	// StatusIdle: the process waits only for its mailbox.
	StatusIdle
	// StatusDone: the process has finished with the Result returned alongside.
	StatusDone
)

// Result is how a process ended: a value for a normal exit, or an error.
type Result struct {
	Value msg.Value
	Err   error
}

// Behavior is a kind of process: a state machine the runtime steps.
type Behavior interface {
	// Step handles batch (possibly empty: the first Step of a process has
	// none) and runs until the process yields, waits or finishes. Every
	// delivery in batch is the behaviour's from then on: one it does not
	// consume before returning StatusDone is lost with the process.
	Step(env Env, batch []Delivery) (Status, Result)
	// Kill is called instead of Step when the runtime ends the process from
	// outside (terminate, a linked failure). The behaviour's code must run no
	// further; it releases what it holds.
	Kill(reason error)
}

// Interrupter is implemented by a behaviour that can be told, from another
// goroutine, to stop a Step in progress (a Lua state spinning in a loop).
// The runtime calls Interrupt after a kill is requested while it runs.
type Interrupter interface {
	Interrupt()
}

// Holder is implemented by a behaviour that keeps messages it has taken
// from its mailbox without consuming them (a Lua process queues them in its
// inbox and listen channels until its code receives them). The runtime
// counts them against the host's max_mailbox, so the bound holds whatever
// a behaviour does with its batches. Held is called from any goroutine.
type Holder interface {
	Held() int
}

// DeliveryKind tells what a Delivery carries.
type DeliveryKind uint8

// Delivery kinds.
const (
	// DeliveryMessage: From sent Topic with Payload.
	DeliveryMessage DeliveryKind = iota
	// DeliveryExit: a monitored process From ended; Payload is its value, Err its error.
	DeliveryExit
	// DeliveryLinkDown: a linked process From failed with Err and this process traps links.
	DeliveryLinkDown
	// DeliveryCancel: From asks this process to finish; Payload is the reason (a string).
	DeliveryCancel
	// DeliveryTimer: the timer whose id is Payload (an int) fired.
	DeliveryTimer
	// DeliveryWake: runtime-internal wake-up with no content (an I/O completion).
	DeliveryWake
)

var deliveryNames = [...]string{"message", "exit", "link_down", "cancel", "timer", "wake"}

func (k DeliveryKind) String() string {
	if int(k) < len(deliveryNames) {
		return deliveryNames[k]
	}
	return "delivery(?)"
}

// Delivery is one thing a process receives. From, Topic and Payload come
// first and in this order: a Go-native process's Message is laid out the
// same, so it is copied to the callback straight from the delivery, with
// the copy's 16-byte loads aligned to the 16-byte stores that filled the
// batch (see runtime/native's messageOf).
type Delivery struct {
	From    pid.PID
	Topic   string
	Payload msg.Value
	Err     error
	Kind    DeliveryKind
}

// SpawnRequest asks the runtime for a new process.
type SpawnRequest struct {
	Entry    string      // entry id, resolved by the runtime's catalog; or
	Behavior Behavior    // a behaviour to run directly (Entry then only names it)
	Host     string      // host id ("node@host" for another node); "" = the caller's host
	Args     []msg.Value // arguments to the process's main
	Link     bool        // link caller and child
	Monitor  bool        // caller monitors child
	Name     string      // register the child under this local name
	Message  *Delivery   // delivered to the child before anything else (Kind DeliveryMessage)
	// Exec marks the spawn of process.exec: it is checked as process.exec
	// (and process.host) instead of process.spawn*.
	Exec bool
	// Context is what the spawner adds to the child's context values
	// (process.with_context, read with the ctx module): a map with string
	// keys, laid over the parent's values; nil or empty gives the child
	// the parent's. From outside any process (and from another node) it
	// is the child's context as given.
	Context msg.Value

	// Actor, Scope and ScopeIDs set the child's security identity. A
	// process that sets any of them narrows: the child runs as Actor (the
	// parent's when nil) with Scope plus the policies ScopeIDs name (the
	// parent's scope when both are empty), and may do an action only when
	// its spawner's context allows it too. Narrowing needs the
	// process.security permission. From outside any process
	// (Runtime.Spawn) they are the child's identity as given; all empty is
	// a child with no actor and no policies. ScopeIDs are resolved against
	// the runtime's policy table (an unknown id refuses the spawn with
	// PERMISSION_DENIED).
	Actor    *security.Actor
	Scope    []*security.Policy
	ScopeIDs []string
	// Parent is the parent of a spawn that crosses nodes, as it travels:
	// its node, host and chain. The runtime sets it on what it asks
	// another node (Router.Spawn), the cluster on what another node asks
	// (Runtime.SpawnFor), which gives the child the identity it would
	// give a child of that parent: its chain, plus Actor and ScopeIDs as a
	// narrowing. Nil: a spawn from outside any process or by a system
	// process, whose Actor and ScopeIDs are the child's identity as given.
	Parent *security.RemoteCaller
	// System starts a process that acts for the node itself (a supervisor
	// watcher, the -x watcher): its calls are not checked, and the
	// children it spawns get the identity their request gives, as if
	// spawned from outside, instead of a narrowing of its own. Only a
	// spawn from outside any process may set it; a process that does is
	// refused with PERMISSION_DENIED.
	System bool
}

// TimerID names a timer of one process.
type TimerID uint64

// Env is what a running process can do. The runtime hands one to each Step;
// it is valid only during that Step and on its goroutine.
type Env interface {
	// Self is this process's PID.
	Self() pid.PID
	// Now is the runtime's clock.
	Now() time.Time
	// Send sends topic and payload to a PID. Sending to a dead PID is not an
	// error (the message is dropped and counted).
	Send(to pid.PID, topic string, payload msg.Value) error
	// SendName sends to a registered name; an unknown name is NOT_FOUND.
	SendName(name, topic string, payload msg.Value) error
	// Spawn starts a process.
	Spawn(req SpawnRequest) (pid.PID, error)
	// Link, Unlink, Monitor and Unmonitor manage links and monitors.
	Link(p pid.PID) error
	Unlink(p pid.PID) error
	Monitor(p pid.PID) error
	Unmonitor(p pid.PID) error
	// Terminate ends p at once with ErrTerminated.
	Terminate(p pid.PID) error
	// Cancel asks p to finish (a Cancel delivery with reason); the target
	// host's cancel timeout terminates it if it has not ended by then.
	Cancel(p pid.PID, reason string) error
	// TrapLinks sets whether a linked failure arrives as a LinkDown delivery
	// (true) or kills this process (false, the default).
	TrapLinks(on bool)
	// Register gives this process (or another one, which needs
	// process.registry.foreign on it) name in scope; Unregister releases
	// a name of scope (the holder's, or with its host's explicit leave).
	// Both are checked by the runtime with the scope's action. A cluster
	// scope on a node without a cluster answers UNAVAILABLE, not
	// retryable; CONSISTENT and STRONG may wait for Raft (up to the
	// registry's apply timeout). Lookup resolves a name on this node with
	// no network round trip, the most authoritative plane first
	// (CONSISTENT and STRONG, then EVENTUAL, then LOCAL).
	Register(name string, p pid.PID, scope Scope) error
	Unregister(name string, scope Scope) error
	Lookup(name string) (pid.PID, error)
	// StartTimer arranges a Timer delivery after d; StopTimer cancels one
	// that has not fired and reports whether it did.
	StartTimer(d time.Duration) TimerID
	StopTimer(id TimerID) bool
	// Blocking runs f, a call that blocks its goroutine (terminal I/O, a
	// wait that cannot yield), after telling the scheduler, which starts a
	// replacement worker so the rest of the run queue keeps moving.
	Blocking(f func())
	// Killed reports whether the process has been told to end; a behaviour
	// handling a long batch checks it between deliveries.
	Killed() bool

	// Security (SPEC section 8). Every call above that acts on the node is
	// checked by the runtime itself and returns a PERMISSION_DENIED *Error
	// when denied. The methods below serve the checks the runtime cannot
	// see (terminal I/O, env variables) and the security module.

	// Context is this process's context values (a map, see
	// SpawnRequest.Context); nil when it has none.
	Context() msg.Value

	// Actor is the actor this process runs as; nil when it has none.
	Actor() *security.Actor
	// Scope is the policies of the layer this process runs as (the last
	// of its chain, see security.Chain); nil when it has none.
	Scope() []*security.Policy
	// Policy is the node's policy of that id, nil when there is none;
	// PolicyGroup the node's policies of a group (security.Guard.Group).
	// Neither checks a permission: the caller asks Authorize first.
	Policy(id string) *security.Policy
	PolicyGroup(name string) []*security.Policy
	// Can reports whether this process may do action on resource, by its
	// own policies (its scope, its spawner chain, its host's policies);
	// meta adds request facts for meta.* conditions (meta.host and
	// meta.node are always the caller's own). It does not apply a target
	// host's policies.
	Can(action security.Action, resource string, meta map[string]any) bool
	// Authorize checks an action that is not aimed at a process (io,
	// env.get, env.set, process.context, ...): nil when allowed, a
	// PERMISSION_DENIED *Error otherwise.
	Authorize(action security.Action, resource string) error
	// AuthorizeTarget checks an action aimed at process target, reached
	// by name ("" when addressed by PID), as the runtime checks it: the
	// target PID, the name and the target's host id are matched, and the
	// target host's policies apply. A behaviour that resolves a name
	// itself before Link, Monitor, Terminate, ... calls it so that a
	// policy on the name is honoured.
	AuthorizeTarget(action security.Action, target pid.PID, name string) error
}
