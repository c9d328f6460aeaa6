package security

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wippyd/wippyd/runtime/pid"
)

// Guard is the one place a node decides permissions (SPEC section 8): the
// runtime asks it about every call a process makes, the Lua library about
// the calls the runtime cannot see (through proc.Env), and the cluster
// about traffic from other nodes. It knows the node's policy table, its
// hosts' policies and strict mode; the question brings the caller (an
// Identity and a Host, or a RemoteCaller) and the action.
//
// A refusal is an error wrapping ErrPermissionDenied (a *DeniedError when
// a policy decided) and is counted (Denied); callers turn it into their
// own error kind. Evaluation does no I/O and reads no clock. A Guard is
// safe for concurrent use; its configuration never changes after NewGuard.
type Guard struct {
	node    string
	strict  bool
	open    bool // strict mode off and no host has policies (see Exempt)
	table   map[string]*Policy
	hosts   map[string]*Host
	first   *Host
	pidText func(pid.PID) string
	denied  atomic.Uint64
	metas   remoteMetas
}

// GuardConfig configures a Guard.
type GuardConfig struct {
	// Node is this node's name: the meta.node of its callers.
	Node string
	// StrictMode denies what no policy decides (security.strict_mode).
	StrictMode bool
	// Policies is the node's policy table by id: it resolves the policy
	// ids that a caller from another node, or a spawn request, names.
	// Read-only once given.
	Policies map[string]*Policy
	// Hosts are the node's hosts and their policies; the first is the
	// default host (of a remote spawn that names none).
	Hosts []HostPolicies
	// PIDText returns the text a target PID is matched as; nil means
	// pid.PID.String. The runtime passes one that reuses the text a live
	// process has already formatted.
	PIDText func(pid.PID) string
}

// HostPolicies are one host's id and policies (its `security: {policies,
// groups}`, resolved). Shared read-only.
type HostPolicies struct {
	ID       string
	Policies []*Policy
}

// Host is one of the node's hosts as the guard sees it.
type Host struct {
	id       string
	policies []*Policy
	meta     map[string]any // meta.host and meta.node of its callers; read-only
}

// ID returns the host's id.
func (h *Host) ID() string { return h.id }

// Caller is a process of this node making a call: the identity it runs
// with (nil: no actor, no policies) and its host (never nil).
type Caller struct {
	Identity *Identity
	Host     *Host
}

// Spawn is a spawn request as the guard checks it (see proc.SpawnRequest).
type Spawn struct {
	Entry               string // entry id: process.spawn*, process.exec
	Name                string // the child's local name: process.registry.register
	Exec, Link, Monitor bool   // which spawn actions apply
	// The child's identity as the request sets it. System: a process
	// acting for the node (only from outside any process). Actor, Scope
	// and ScopeIDs: a narrowing, or from outside the identity as given.
	System   bool
	Actor    *Actor
	Scope    []*Policy
	ScopeIDs []string
}

// NewGuard returns the guard of cfg.
func NewGuard(cfg GuardConfig) *Guard {
	g := &Guard{
		node: cfg.Node, strict: cfg.StrictMode, open: !cfg.StrictMode,
		table: cfg.Policies, hosts: make(map[string]*Host, len(cfg.Hosts)), pidText: cfg.PIDText,
	}
	if g.pidText == nil {
		g.pidText = pid.PID.String
	}
	for _, hp := range cfg.Hosts {
		h := &Host{id: hp.ID, policies: hp.Policies, meta: map[string]any{"host": hp.ID, "node": cfg.Node}}
		g.hosts[hp.ID] = h
		if g.first == nil {
			g.first = h
		}
		if len(hp.Policies) > 0 {
			g.open = false
		}
	}
	return g
}

// Host returns the host id; nil when the node has none of that id.
func (g *Guard) Host(id string) *Host { return g.hosts[id] }

// Policy returns the policy of the node's table with id; nil when there is
// none (security.policy).
func (g *Guard) Policy(id string) *Policy { return g.table[id] }

// Group returns the policies of the node's table in policy group name,
// sorted by id (security.named_scope); empty when none is. A name of the
// form "namespace:group" also takes the policies of that namespace that
// list group, so the docs' "app.security:admin" names the group "admin"
// of namespace app.security.
func (g *Guard) Group(name string) Scope {
	ns, grp, qualified := strings.Cut(name, ":")
	var out Scope
	for id, p := range g.table {
		if p == nil {
			continue
		}
		if p.inGroup(name) || qualified && strings.HasPrefix(id, ns+":") && p.inGroup(grp) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *Policy) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}

// Denied returns the number of refusals so far.
func (g *Guard) Denied() uint64 { return g.denied.Load() }

// Exempt reports whether nothing a caller with identity id does can be
// refused: strict mode is off, no host has policies and id has none, or id
// is a system process's. Every check starts with it, so the common case
// costs a load and two compares; a hot path may call it first to skip
// building a Caller.
func (g *Guard) Exempt(id *Identity) bool {
	if id == nil {
		return g.open
	}
	return (g.open && !id.scoped) || id.system
}

// Authorize checks an action of c that is not aimed at a process (io,
// env.get, process.context, a local name, ...) on resource.
func (g *Guard) Authorize(c Caller, action Action, resource string) error {
	if g.Exempt(c.Identity) {
		return nil
	}
	a := c.asker()
	return g.decide(&a, nil, action, []string{resource})
}

// AuthorizeTarget checks an action of c aimed at process target, reached
// by name ("" for a PID): it is matched against the target's PID text, the
// name and the target's host id, with the target host's policies. A
// target on another node gets the policies of this node's host of the same
// id, if any: the nodes of a cluster run the same tree, and the target's
// node checks again with its own.
func (g *Guard) AuthorizeTarget(c Caller, action Action, target pid.PID, name string) error {
	if g.Exempt(c.Identity) {
		return nil
	}
	a := c.asker()
	return g.target(&a, action, target, name)
}

// AuthorizeSpawn checks a spawn by c on this node's host hostID, or on
// another node's host of that id (whose node checks it again): the spawn
// actions (or process.exec) on the entry, process.registry.register
// on the child's name, then process.host on the host id with that host's
// policies. hostID "" (another node's default host) is left to that node.
// The narrowing itself is checked by Child.
func (g *Guard) AuthorizeSpawn(c Caller, s *Spawn, hostID string) error {
	if g.Exempt(c.Identity) {
		return nil
	}
	a := c.asker()
	return g.spawn(&a, s, hostID)
}

// AuthorizeRelease checks that c may release name, which holder, a
// process other than c, holds (in any scope): process.registry.foreign on
// the holder, as AuthorizeTarget checks it, and in addition the policies
// of the holder's host must allow it explicitly, for every layer of c's
// identity. An undefined outcome there refuses even outside strict mode:
// a caller that takes a name from its holder receives what was meant for
// the holder, so only a host that says so gives its names away. A system
// process (the node acting for itself) is never refused.
func (g *Guard) AuthorizeRelease(c Caller, holder pid.PID, name string) error {
	if c.Identity.System() {
		return nil
	}
	a := c.asker()
	th := g.hosts[holder.Host]
	res := []string{g.pidText(holder), name, holder.Host}
	req := Request{Action: ActionRegisterForeign, Resources: res, Meta: a.meta}
	var chain Chain
	if a.id != nil {
		chain = a.id.chain
	}
	if len(chain) == 0 {
		chain = Chain{{}}
	}
	for _, l := range chain {
		req.Actor = l.Actor
		if th == nil || Evaluate(th.policies, req, true).Outcome != Allowed {
			actor := ""
			if l.Actor != nil {
				actor = l.Actor.ID
			}
			return g.refuse(&DeniedError{Action: ActionRegisterForeign, Resource: strings.Join(res, ", "), Actor: actor,
				Reason: "the holder's host does not allow its names to be released by others"})
		}
	}
	return g.evaluate(&a, th, ActionRegisterForeign, res)
}

// Can answers security.can: whether c may do action on resource by its own
// policies (every layer of its identity and its host's), with meta adding
// meta.* facts (meta.host and meta.node stay the caller's). It does not
// apply a target host's policies and does not count as a refusal.
func (g *Guard) Can(c Caller, action Action, resource string, meta map[string]any) bool {
	if g.Exempt(c.Identity) {
		return true
	}
	req := Request{Action: action, Resources: []string{resource}, Meta: mergeMeta(meta, c.Host.meta)}
	return CheckNarrowed(c.Identity.Chain(), c.Host.policies, nil, req, g.strict) == nil
}

// actions are the actions s needs on its entry.
func (s *Spawn) actions() []Action {
	if s.Exec {
		return []Action{ActionExec}
	}
	out := make([]Action, 1, 3)
	out[0] = ActionSpawn
	if s.Link {
		out = append(out, ActionSpawnLinked)
	}
	if s.Monitor {
		out = append(out, ActionSpawnMonitored)
	}
	return out
}

// asker is whoever a check is for: an identity, the policies of its host
// on this node (none for a host this node does not have) and its meta.
type asker struct {
	id   *Identity
	host []*Policy
	meta map[string]any
}

func (c Caller) asker() asker {
	return asker{id: c.Identity, host: c.Host.policies, meta: c.Host.meta}
}

// decide runs one check, optionally with the policies of target (a host
// acted on or spawned on).
func (g *Guard) decide(a *asker, target *Host, action Action, resources []string) error {
	if g.uncovered(a, target, action) {
		return nil
	}
	return g.evaluate(a, target, action, resources)
}

// uncovered reports whether, strict mode off, no policy that applies to a
// call covers its action: the outcome is then undefined, so allowed, and
// nothing needs building. Most policies name a few actions, so most calls
// of a process under policies end here.
func (g *Guard) uncovered(a *asker, target *Host, action Action) bool {
	switch {
	case g.strict:
		return false
	case a.id != nil && a.id.chain.Covers(action):
		return false
	case AnyCovers(a.host, action):
		return false
	case target != nil && AnyCovers(target.policies, action):
		return false
	}
	return true
}

// evaluate is decide without the shortcut.
func (g *Guard) evaluate(a *asker, target *Host, action Action, resources []string) error {
	var targetPol []*Policy
	if target != nil {
		targetPol = target.policies
	}
	req := Request{Action: action, Meta: a.meta}
	var err error
	if a.id == nil {
		err = check(nil, a.host, targetPol, &req, resources, g.strict) // checkNarrowed's answer, a call fewer
	} else {
		err = checkNarrowed(a.id.chain, a.host, targetPol, &req, resources, g.strict)
	}
	if err != nil {
		return g.refuse(err)
	}
	return nil
}

// target checks an action aimed at a process (see AuthorizeTarget).
func (g *Guard) target(a *asker, action Action, target pid.PID, name string) error {
	th := g.hosts[target.Host]
	if g.uncovered(a, th, action) {
		return nil
	}
	var buf [3]string // on the stack: see evaluation.add
	res := append(buf[:0], g.pidText(target))
	if name != "" {
		res = append(res, name)
	}
	if target.Host != "" {
		res = append(res, target.Host)
	}
	return g.evaluate(a, th, action, res)
}

// spawn checks a spawn (see AuthorizeSpawn).
func (g *Guard) spawn(a *asker, s *Spawn, hostID string) error {
	entry := []string{s.Entry}
	for _, act := range s.actions() {
		if err := g.decide(a, nil, act, entry); err != nil {
			return err
		}
	}
	if s.Name != "" {
		if err := g.decide(a, nil, ActionRegister, []string{s.Name}); err != nil {
			return err
		}
	}
	if hostID == "" {
		return nil
	}
	return g.decide(a, g.hosts[hostID], ActionHost, []string{hostID})
}

// scopeOf merges policies and the policies ids name (resolved against the
// node's table). An id the table lacks is a refusal: a policy missing on
// this node might be a deny.
func (g *Guard) scopeOf(policies []*Policy, ids []string) ([]*Policy, error) {
	if len(ids) == 0 {
		return policies, nil
	}
	out := slices.Clone(policies)
	for _, id := range ids {
		p := g.table[id]
		if p == nil {
			return nil, g.refuse(fmt.Errorf("%w: unknown policy %s", ErrPermissionDenied, id))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// refuse counts a refusal and returns err.
func (g *Guard) refuse(err error) error {
	g.denied.Add(1)
	return err
}

// mergeMeta merges a caller's own meta under the node's facts.
func mergeMeta(user, facts map[string]any) map[string]any {
	if len(user) == 0 {
		return facts
	}
	m := make(map[string]any, len(user)+len(facts))
	for k, v := range user {
		m[k] = v
	}
	for k, v := range facts {
		m[k] = v
	}
	return m
}
