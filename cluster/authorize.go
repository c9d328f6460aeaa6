package cluster

import (
	"sync"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/host"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Actions checked on inbound traffic (SPEC section 8).
const (
	ActionSend           = "process.send"
	ActionTerminate      = "process.terminate"
	ActionCancel         = "process.cancel"
	ActionLink           = "process.link"
	ActionUnlink         = "process.unlink"
	ActionMonitor        = "process.monitor"
	ActionUnmonitor      = "process.unmonitor"
	ActionSpawn          = "process.spawn"
	ActionSpawnLinked    = "process.spawn.linked"
	ActionSpawnMonitored = "process.spawn.monitored"
	ActionExec           = "process.exec"
	ActionHost           = "process.host"
)

// Sender is who sent inbound traffic, as the sending node stated it. The
// node is the authenticated transport peer; the rest is trusted because
// the peer passed the handshake.
type Sender struct {
	// Node is the peer the traffic came from.
	Node string
	// PID is the sending process; the zero PID for traffic from outside
	// any process.
	PID pid.PID
	// Host is the sender's host id ("" from outside any process).
	Host string
	// Actor is the sender's actor; nil when it has none.
	Actor *host.Actor
	// Scope lists the policy ids of the sender's scope.
	Scope []string
}

// Request is one action traffic from another node asks of this node.
type Request struct {
	// Action is one of the Action constants.
	Action string
	Sender Sender
	// Target is the local process acted on; the zero PID for spawns.
	Target pid.PID
	// Resource is, for spawn actions, the entry id (process.spawn*) or the
	// host id (process.host); "" for actions aimed at Target, which the
	// evaluator matches by PID and host.
	Resource string
}

// Authorizer is an extra check of inbound traffic, before the runtime's
// own: runtime.Deliver checks every signal, and the cluster calls
// runtime.AuthorizeRemoteSpawn for every spawn request, against this
// node's policies (SPEC section 8), so a node needs no Authorizer for
// that. Use one for rules about peers that policies cannot express. It is
// called on the transport's delivery goroutine of the sending peer, once
// per inbound envelope or spawn check, so it must be fast and must not
// block.
type Authorizer interface {
	// Authorize returns nil to allow r, an error to deny it.
	Authorize(r *Request) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *Request) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *Request) error { return f(r) }

// actionOf returns the action an inbound signal needs; "" for signals
// that are consequences of an allowed relation (EXIT, link failure).
func actionOf(k runtime.SignalKind) string {
	switch k {
	case runtime.SigMessage:
		return ActionSend
	case runtime.SigLink:
		return ActionLink
	case runtime.SigUnlink:
		return ActionUnlink
	case runtime.SigMonitor:
		return ActionMonitor
	case runtime.SigDemonitor:
		return ActionUnmonitor
	case runtime.SigCancel:
		return ActionCancel
	case runtime.SigTerminate:
		return ActionTerminate
	}
	return ""
}

// senderOf builds the policy view of a sender from wire fields.
func senderOf(node string, from pid.PID, fromHost string, a *host.Actor, scope []string) Sender {
	if fromHost == "" {
		fromHost = from.Host
	}
	return Sender{Node: node, PID: from, Host: fromHost, Actor: a, Scope: scope}
}

// throttle lets one log line through per key per interval.
type throttle struct {
	mu       sync.Mutex
	interval time.Duration
	now      func() time.Time
	last     map[[2]string]time.Time
}

func (t *throttle) allow(a, b string) bool {
	now := t.now()
	k := [2]string{a, b}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[k]; ok && now.Sub(last) < t.interval {
		return false
	}
	if len(t.last) >= 4096 {
		// Bounded: forget entries older than the interval.
		for k, at := range t.last {
			if now.Sub(at) >= t.interval {
				delete(t.last, k)
			}
		}
		if len(t.last) >= 4096 {
			clear(t.last)
		}
	}
	t.last[k] = now
	return true
}
