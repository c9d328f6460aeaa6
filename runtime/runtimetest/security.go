package runtimetest

import (
	"maps"
	"slices"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Security: the harness checks the process's calls as a node does (SPEC
// section 8), with the identity and host policies the options give. With
// none (the default) every call is allowed, as on a node with no policies.

// WithActor makes the process run as a. Default: no actor.
func WithActor(a *security.Actor) Option {
	return func(h *Harness) { h.chain = setLayer(h.chain, a, nil, true, false) }
}

// WithScope gives the process its own policies (its scope). Default: none.
func WithScope(policies ...*security.Policy) Option {
	return func(h *Harness) { h.chain = setLayer(h.chain, nil, policies, false, true) }
}

// WithChain gives the process a narrowed security context: the layers of
// the spawners that narrowed it, outermost first (see security.Chain). It
// replaces WithActor and WithScope.
func WithChain(c security.Chain) Option {
	return func(h *Harness) { h.chain = c }
}

// WithHostPolicies sets the policies of host id: the process's own host
// (WithHost) or a host its calls aim at.
func WithHostPolicies(id string, policies ...*security.Policy) Option {
	return func(h *Harness) {
		if h.hostPolicies == nil {
			h.hostPolicies = map[string][]*security.Policy{}
		}
		h.hostPolicies[id] = policies
	}
}

// WithStrictMode denies what no policy decides (security.strict_mode).
func WithStrictMode() Option {
	return func(h *Harness) { h.strict = true }
}

// setLayer sets the actor or the scope of a single-layer chain.
func setLayer(c security.Chain, a *security.Actor, s []*security.Policy, setActor, setScope bool) security.Chain {
	if len(c) == 0 {
		c = security.Chain{{}}
	}
	l := c[len(c)-1]
	if setActor {
		l.Actor = a
	}
	if setScope {
		l.Scope = s
	}
	out := append(security.Chain(nil), c...)
	out[len(out)-1] = l
	return out
}

// WithPolicies gives the node's policy table, by id: the policies that
// SpawnRequest.ScopeIDs may name. Default: none (an id refuses the spawn,
// as on a node that does not know it).
func WithPolicies(policies ...*security.Policy) Option {
	return func(h *Harness) {
		h.table = map[string]*security.Policy{}
		for _, p := range policies {
			h.table[p.ID()] = p
		}
	}
}

// initGuard makes the checks of the harness's node from the options: the
// same security.Guard a runtime asks.
func (h *Harness) initGuard() {
	hosts := []security.HostPolicies{{ID: h.host, Policies: h.hostPolicies[h.host]}}
	for _, id := range slices.Sorted(maps.Keys(h.hostPolicies)) {
		if id != h.host {
			hosts = append(hosts, security.HostPolicies{ID: id, Policies: h.hostPolicies[id]})
		}
	}
	h.guard = security.NewGuard(security.GuardConfig{Node: h.self.Node, StrictMode: h.strict, Policies: h.table, Hosts: hosts})
	h.caller = security.Caller{Identity: security.NewIdentity(h.chain), Host: h.guard.Host(h.host)}
}

// decide checks an action that is not aimed at a process.
func (h *Harness) decide(action security.Action, resource string) error {
	return proc.Refusal(h.guard.Authorize(h.caller, action, resource))
}

// decideTarget checks an action aimed at process p reached by name.
func (h *Harness) decideTarget(action security.Action, p pid.PID, name string) error {
	return proc.Refusal(h.guard.AuthorizeTarget(h.caller, action, p, name))
}

// decideSpawn checks a spawn as the runtime does: the identity the child
// would get, then the spawn itself on the host it names (the process's
// own when none).
func (h *Harness) decideSpawn(req proc.SpawnRequest) error {
	s := req.Security()
	if _, err := h.guard.Child(&h.caller, &s); err != nil {
		return proc.Refusal(err)
	}
	_, hostID := pid.SplitHost(req.Host)
	if hostID == "" {
		hostID = h.host
	}
	return proc.Refusal(h.guard.AuthorizeSpawn(h.caller, &s, hostID))
}

func (e *env) Context() msg.Value {
	if !e.live("Context") {
		return msg.Nil
	}
	return e.h.context
}

func (e *env) Actor() *security.Actor {
	if !e.live("Actor") {
		return nil
	}
	return e.h.chain.Actor()
}

func (e *env) Scope() []*security.Policy {
	if !e.live("Scope") {
		return nil
	}
	if len(e.h.chain) == 0 {
		return nil
	}
	return e.h.chain[len(e.h.chain)-1].Scope
}

func (e *env) Policy(id string) *security.Policy {
	if !e.live("Policy") {
		return nil
	}
	return e.h.guard.Policy(id)
}

func (e *env) PolicyGroup(name string) []*security.Policy {
	if !e.live("PolicyGroup") {
		return nil
	}
	return e.h.guard.Group(name)
}

func (e *env) Can(action security.Action, resource string, meta map[string]any) bool {
	if !e.live("Can") {
		return false
	}
	return e.h.guard.Can(e.h.caller, action, resource, meta)
}

func (e *env) Authorize(action security.Action, resource string) error {
	if !e.live("Authorize") {
		return ErrEnvExpired
	}
	return e.h.decide(action, resource)
}

func (e *env) AuthorizeTarget(action security.Action, target pid.PID, name string) error {
	if !e.live("AuthorizeTarget") {
		return ErrEnvExpired
	}
	return e.h.decideTarget(action, target, name)
}
