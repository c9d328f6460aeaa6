package runtime

import (
	"time"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// The runtime's side of security (SPEC section 8, docs/security.md): the
// decisions are the Guard's (runtime/security); here a process is turned
// into the guard's Caller, a refusal into a PERMISSION_DENIED error, and a
// process's identity is written on what it sends to other nodes.

// caller is p as the guard sees it.
func (p *process) caller() security.Caller {
	return security.Caller{Identity: p.sec, Host: p.host.sec}
}

// authorize checks an action of p that is not aimed at a process.
func (p *process) authorize(action security.Action, resource string) error {
	if p.rt.guard.Exempt(p.sec) {
		return nil
	}
	return proc.Refusal(p.rt.guard.Authorize(p.caller(), action, resource))
}

// authorizeTarget checks an action of p aimed at process target, reached
// by name ("" for a PID).
func (p *process) authorizeTarget(action security.Action, target pid.PID, name string) error {
	if p.rt.guard.Exempt(p.sec) {
		return nil
	}
	return proc.Refusal(p.rt.guard.AuthorizeTarget(p.caller(), action, target, name))
}

// stamp writes the sender's identity into an envelope bound for another
// node (p nil: from outside any process). The slices are shared, never
// copied: Envelopes are read-only to whoever receives them.
func stamp(e *Envelope, p *process) *Envelope {
	if p != nil {
		e.FromHost = p.host.cfg.ID
		e.Chain = p.sec.Remote()
	}
	return e
}

// remoteAction is the action an inbound signal needs; "" for signals that
// are not checked on arrival: EXIT and link failures are consequences of
// a relation that was allowed, and unlink and demonitor only remove a
// relation the sender holds (refusing them would leave it dangling; the
// sending node checks the calls).
func remoteAction(k SignalKind) security.Action {
	switch k {
	case SigMessage:
		return security.ActionSend
	case SigLink:
		return security.ActionLink
	case SigMonitor:
		return security.ActionMonitor
	case SigCancel:
		return security.ActionCancel
	case SigTerminate:
		return security.ActionTerminate
	}
	return ""
}

// callerOf returns the sender of an inbound envelope.
func callerOf(e *Envelope) security.RemoteCaller {
	h := e.FromHost
	if h == "" {
		h = e.From.Host
	}
	return security.RemoteCaller{Node: e.From.Node, Host: h, Chain: e.Chain}
}

// dropDenied counts a denied inbound signal and logs it, throttled.
func (rt *Runtime) dropDenied(e *Envelope, err error) {
	rt.counters.drop(0, DropPolicy, 1)
	c := callerOf(e)
	every := rt.cfg.DenyLogInterval
	if every == 0 {
		every = time.Minute
	}
	if rt.denyLog.Allow(c.Node+"@"+c.Host, e.To.Host, time.Now(), every) {
		rt.log.Warn("runtime: denied traffic dropped (logged once a minute per host pair)",
			"from", e.From.String(), "from_host", c.Host, "to", e.To.String(), "kind", int(e.Kind), "err", err)
	}
}
