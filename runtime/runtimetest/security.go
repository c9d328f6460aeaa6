package runtimetest

import (
	"fmt"
	"strings"

	"github.com/wippyd/wippyd/runtime/host"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Security: the harness checks the process's calls as a node does (SPEC
// section 8), with the identity and host policies the options give. With
// none (the default) every call is allowed, as on a node with no policies.

// WithActor makes the process run as a. Default: no actor.
func WithActor(a *host.Actor) Option {
	return func(h *Harness) { h.chain = setLayer(h.chain, a, nil, true, false) }
}

// WithScope gives the process its own policies (its scope). Default: none.
func WithScope(policies ...*host.Policy) Option {
	return func(h *Harness) { h.chain = setLayer(h.chain, nil, policies, false, true) }
}

// WithChain gives the process a narrowed security context: the layers of
// the spawners that narrowed it, outermost first (see host.Chain). It
// replaces WithActor and WithScope.
func WithChain(c host.Chain) Option {
	return func(h *Harness) { h.chain = c }
}

// WithHostPolicies sets the policies of host id: the process's own host
// (WithHost) or a host its calls aim at.
func WithHostPolicies(id string, policies ...*host.Policy) Option {
	return func(h *Harness) {
		if h.hostPolicies == nil {
			h.hostPolicies = map[string][]*host.Policy{}
		}
		h.hostPolicies[id] = policies
	}
}

// WithStrictMode denies what no policy decides (security.strict_mode).
func WithStrictMode() Option {
	return func(h *Harness) { h.strict = true }
}

// setLayer sets the actor or the scope of a single-layer chain.
func setLayer(c host.Chain, a *host.Actor, s []*host.Policy, setActor, setScope bool) host.Chain {
	if len(c) == 0 {
		c = host.Chain{{}}
	}
	l := c[len(c)-1]
	if setActor {
		l.Actor = a
	}
	if setScope {
		l.Scope = s
	}
	out := append(host.Chain(nil), c...)
	out[len(out)-1] = l
	return out
}

// decide runs one check; target is the host whose policies apply as the
// target's ("" for none).
func (h *Harness) decide(action, target string, resources ...string) error {
	req := host.Request{Action: action, Resources: resources, Meta: map[string]string{"host": h.host, "node": h.self.Node}}
	var targetPol []*host.Policy
	if target != "" {
		targetPol = h.hostPolicies[target]
	}
	if err := host.CheckNarrowed(h.chain, h.hostPolicies[h.host], targetPol, req, h.strict); err != nil {
		return proc.PermissionDenied(err)
	}
	return nil
}

// decideTarget checks an action aimed at process p reached by name.
func (h *Harness) decideTarget(action string, p pid.PID, name string) error {
	res := []string{p.String()}
	if name != "" {
		res = append(res, name)
	}
	if p.Host != "" {
		res = append(res, p.Host)
	}
	return h.decide(action, p.Host, res...)
}

// decideSpawn checks a spawn as the runtime does.
func (h *Harness) decideSpawn(req proc.SpawnRequest) error {
	if req.System {
		return proc.PermissionDenied(fmt.Errorf("%w: only the node starts system processes", host.ErrPermissionDenied))
	}
	actions := []string{proc.ActionSpawn}
	switch {
	case req.Exec:
		actions = []string{proc.ActionExec}
	default:
		if req.Link {
			actions = append(actions, proc.ActionSpawnLinked)
		}
		if req.Monitor {
			actions = append(actions, proc.ActionSpawnMonitored)
		}
	}
	for _, a := range actions {
		if err := h.decide(a, "", req.Entry); err != nil {
			return err
		}
	}
	if req.Name != "" {
		if err := h.decide(proc.ActionRegisterLocal, "", req.Name); err != nil {
			return err
		}
	}
	if req.Actor != nil || len(req.Scope) > 0 || len(req.ScopeIDs) > 0 {
		if err := h.decide(proc.ActionSecurity, "", proc.ResourceSecurity); err != nil {
			return err
		}
	}
	hostID := h.host
	if at := strings.IndexByte(req.Host, '@'); at >= 0 {
		hostID = req.Host[at+1:]
	} else if req.Host != "" {
		hostID = req.Host
	}
	return h.decide(proc.ActionHost, hostID, hostID)
}

func (e *env) Actor() *host.Actor {
	if !e.live("Actor") {
		return nil
	}
	return e.h.chain.Actor()
}

func (e *env) Can(action, resource string, meta map[string]string) bool {
	if !e.live("Can") {
		return false
	}
	h := e.h
	m := map[string]string{}
	for k, v := range meta {
		m[k] = v
	}
	m["host"], m["node"] = h.host, h.self.Node
	req := host.Request{Action: action, Resources: []string{resource}, Meta: m}
	return host.CheckNarrowed(h.chain, h.hostPolicies[h.host], nil, req, h.strict) == nil
}

func (e *env) Authorize(action, resource string) error {
	if !e.live("Authorize") {
		return ErrEnvExpired
	}
	return e.h.decide(action, "", resource)
}

func (e *env) AuthorizeTarget(action string, target pid.PID, name string) error {
	if !e.live("AuthorizeTarget") {
		return ErrEnvExpired
	}
	return e.h.decideTarget(action, target, name)
}
