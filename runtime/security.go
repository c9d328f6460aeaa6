package runtime

import (
	"fmt"
	"slices"
	"sync"
	"time"

	sec "github.com/wippyd/wippyd/runtime/host"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// identity is a process's security context (SPEC section 8): the actor it
// runs as and its scope, after the layers of every spawner that narrowed
// it. It is immutable and shared by every process that inherits it; nil is
// a process with no actor and no policies.
type identity struct {
	chain sec.Chain
	// scoped is set when some layer has a policy: the process's checks
	// can then never be skipped.
	scoped bool
	// What travels with the process's traffic to other nodes, which know
	// one actor and one list of policy ids: the actor it runs as and the
	// ids of the policies of every layer.
	actor *sec.Actor
	ids   []string
	// system marks the identity of a process that acts for the node
	// (SpawnRequest.System): nothing it does is checked.
	system bool
}

// systemIdentity is the identity of every system process.
var systemIdentity = &identity{system: true}

// newIdentity returns the identity of chain; nil when no layer has an
// actor or a policy (such a chain decides exactly as no identity).
func newIdentity(chain sec.Chain) *identity {
	id := &identity{chain: chain, actor: chain.Actor()}
	actors := false
	for _, l := range chain {
		actors = actors || l.Actor != nil
		for _, p := range l.Scope {
			if p == nil {
				continue // the evaluator skips nil entries too
			}
			id.scoped = true
			if !slices.Contains(id.ids, p.ID) {
				id.ids = append(id.ids, p.ID)
			}
		}
	}
	if !id.scoped && !actors {
		return nil
	}
	slices.Sort(id.ids)
	return id
}

// RemoteCaller is who, on another node, asks this node for something: the
// sender identity an Envelope or a remote spawn carries.
type RemoteCaller struct {
	// Node is the sending node (the authenticated peer).
	Node string
	// Host is the sender's host id; "" from outside any process.
	Host string
	// Actor is the sender's actor; nil for none.
	Actor *sec.Actor
	// ScopeIDs are the ids of the sender's policies.
	ScopeIDs []string
}

// exempt reports whether nothing p does can be refused: strict mode is
// off, no host has policies and p's context has none. Every check starts
// with it, so the common case costs a load and two compares.
func (rt *Runtime) exempt(p *process) bool {
	if p.sec == nil {
		return rt.open
	}
	return (rt.open && !p.sec.scoped) || p.sec.system
}

// decide runs one check: identity id (nil: no actor, no scope) calling
// from caller's host (nil: no host policies; meta gives meta.host and
// meta.node), optionally aimed at a process or a host of target. A
// refusal is a PERMISSION_DENIED error wrapping the *host.DeniedError.
func (rt *Runtime) decide(id *identity, caller *host, meta map[string]string, target *host, action string, resources []string) error {
	if rt.uncovered(id, caller, target, action) {
		return nil
	}
	return rt.evaluate(id, caller, meta, target, action, resources)
}

// uncovered reports whether, strict mode off, no policy that applies to a
// call covers its action: the outcome is then undefined, so allowed, and
// nothing needs building. Most policies name a few actions, so most calls
// of a process under policies end here.
func (rt *Runtime) uncovered(id *identity, caller, target *host, action string) bool {
	switch {
	case rt.cfg.StrictMode:
		return false
	case id != nil && id.chain.Covers(action):
		return false
	case caller != nil && sec.AnyCovers(caller.cfg.Policies, action):
		return false
	case target != nil && sec.AnyCovers(target.cfg.Policies, action):
		return false
	}
	return true
}

// evaluate is decide without the shortcut.
func (rt *Runtime) evaluate(id *identity, caller *host, meta map[string]string, target *host, action string, resources []string) error {
	var callerPol, targetPol []*sec.Policy
	if caller != nil {
		callerPol = caller.cfg.Policies
	}
	if target != nil {
		targetPol = target.cfg.Policies
	}
	req := sec.Request{Action: action, Resources: resources, Meta: meta}
	var err error
	if id == nil {
		err = sec.Check(nil, callerPol, targetPol, req, rt.cfg.StrictMode)
	} else {
		err = sec.CheckNarrowed(id.chain, callerPol, targetPol, req, rt.cfg.StrictMode)
	}
	if err != nil {
		rt.counters.denied.add(0, 1)
		return proc.PermissionDenied(err)
	}
	return nil
}

// authorize checks an action of p that is not aimed at a process.
func (rt *Runtime) authorize(p *process, action, resource string) error {
	if rt.exempt(p) {
		return nil
	}
	return rt.decide(p.sec, p.host, p.host.meta, nil, action, []string{resource})
}

// authorizeTarget checks an action of p aimed at process target, reached
// by name ("" for a PID).
func (rt *Runtime) authorizeTarget(p *process, action string, target pid.PID, name string) error {
	if rt.exempt(p) {
		return nil
	}
	return rt.checkTarget(p.sec, p.host, p.host.meta, action, target, name)
}

// checkTarget matches a target-directed action against the target PID,
// the name used and the target's host id, with the target host's
// policies. A target on another node gets the policies of this node's host
// of the same id, if any: the nodes of a cluster run the same tree, and the
// target's node checks again with its own.
func (rt *Runtime) checkTarget(id *identity, caller *host, meta map[string]string, action string, target pid.PID, name string) error {
	th := rt.hosts[target.Host]
	if rt.uncovered(id, caller, th, action) {
		return nil
	}
	res := make([]string, 0, 3)
	if tp := rt.local(target); tp != nil {
		res = append(res, tp.pidString())
	} else {
		res = append(res, target.String())
	}
	if name != "" {
		res = append(res, name)
	}
	if target.Host != "" {
		res = append(res, target.Host)
	}
	return rt.evaluate(id, caller, meta, th, action, res)
}

// spawnActions are the actions a spawn request needs on its entry.
func spawnActions(req *proc.SpawnRequest) []string {
	if req.Exec {
		return []string{proc.ActionExec}
	}
	out := make([]string, 1, 3)
	out[0] = proc.ActionSpawn
	if req.Link {
		out = append(out, proc.ActionSpawnLinked)
	}
	if req.Monitor {
		out = append(out, proc.ActionSpawnMonitored)
	}
	return out
}

// checkSpawn checks a spawn of req on host hostID (target is this node's
// host of that id, if any): the spawn actions on the entry id, the name
// the child registers under, then process.host on the host id with the
// host's own policies. hostID "" (another node's default host) is left to
// that node.
func (rt *Runtime) checkSpawn(id *identity, caller *host, meta map[string]string, req *proc.SpawnRequest, hostID string, target *host) error {
	entry := []string{req.Entry}
	for _, a := range spawnActions(req) {
		if err := rt.decide(id, caller, meta, nil, a, entry); err != nil {
			return err
		}
	}
	if req.Name != "" {
		if err := rt.decide(id, caller, meta, nil, proc.ActionRegisterLocal, []string{req.Name}); err != nil {
			return err
		}
	}
	if hostID == "" {
		return nil
	}
	return rt.decide(id, caller, meta, target, proc.ActionHost, []string{hostID})
}

// scopeOf merges policies and the policies ids name (resolved against the
// node's table). An id the table lacks is a refusal: a policy missing on
// this node might be a deny.
func (rt *Runtime) scopeOf(policies []*sec.Policy, ids []string) ([]*sec.Policy, error) {
	if len(ids) == 0 {
		return policies, nil
	}
	out := slices.Clone(policies)
	for _, id := range ids {
		p := rt.cfg.Policies[id]
		if p == nil {
			rt.counters.denied.add(0, 1)
			return nil, proc.PermissionDenied(fmt.Errorf("%w: unknown policy %s", sec.ErrPermissionDenied, id))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// narrows reports whether req sets the child's identity.
func narrows(req *proc.SpawnRequest) bool {
	return req.Actor != nil || len(req.Scope) > 0 || len(req.ScopeIDs) > 0
}

// childIdentity returns the identity of the child parent spawns with req.
// From outside any process (parent nil) it is req's as given. A parent
// passes its own on, or, when req sets an actor or a scope, its own with
// one more layer: the child runs as that actor and scope (the parent's
// where req leaves one out) and every layer before still has to allow
// what it does. Narrowing needs process.security.
func (rt *Runtime) childIdentity(parent *process, req *proc.SpawnRequest) (*identity, error) {
	if req.System {
		if parent != nil {
			rt.counters.denied.add(0, 1)
			return nil, proc.PermissionDenied(fmt.Errorf("%w: only the node starts system processes", sec.ErrPermissionDenied))
		}
		return systemIdentity, nil
	}
	if parent != nil && parent.sec != nil && parent.sec.system {
		parent = nil // a system process spawns as the node does
	}
	if !narrows(req) {
		if parent == nil {
			return nil, nil
		}
		return parent.sec, nil
	}
	if parent != nil {
		if err := rt.authorize(parent, proc.ActionSecurity, proc.ResourceSecurity); err != nil {
			return nil, err
		}
	}
	scope, err := rt.scopeOf(req.Scope, req.ScopeIDs)
	if err != nil {
		return nil, err
	}
	if parent == nil {
		return newIdentity(sec.Chain{{Actor: req.Actor, Scope: scope}}), nil
	}
	// A parent with no identity still has a layer: no actor, no scope.
	// Dropping it would let the child's actor satisfy host policies the
	// parent could not.
	base := sec.Chain{{}}
	if parent.sec != nil {
		base = parent.sec.chain
	}
	last := base[len(base)-1]
	actor := req.Actor
	if actor == nil {
		actor = last.Actor
	}
	if len(scope) == 0 {
		scope = last.Scope
	}
	return newIdentity(base.Narrow(actor, scope)), nil
}

// stamp writes the sender's identity into an envelope bound for another
// node (p nil: from outside any process). The slices are shared, never
// copied: Envelopes are read-only to whoever receives them.
func stamp(e *Envelope, p *process) *Envelope {
	if p != nil {
		e.FromHost = p.host.cfg.ID
		if p.sec != nil {
			e.Actor, e.ScopeIDs = p.sec.actor, p.sec.ids
		}
	}
	return e
}

// remoteAction is the action an inbound signal needs; "" for signals that
// are not checked on arrival: EXIT and link failures are consequences of
// a relation that was allowed, and unlink and demonitor only remove a
// relation the sender holds (refusing them would leave it dangling; the
// sending node checks the calls).
func remoteAction(k SignalKind) string {
	switch k {
	case SigMessage:
		return proc.ActionSend
	case SigLink:
		return proc.ActionLink
	case SigMonitor:
		return proc.ActionMonitor
	case SigCancel:
		return proc.ActionCancel
	case SigTerminate:
		return proc.ActionTerminate
	}
	return ""
}

// callerOf returns the sender of an inbound envelope.
func callerOf(e *Envelope) RemoteCaller {
	h := e.FromHost
	if h == "" {
		h = e.From.Host
	}
	return RemoteCaller{Node: e.From.Node, Host: h, Actor: e.Actor, ScopeIDs: e.ScopeIDs}
}

// remoteIdentity resolves a remote caller's identity on this node.
func (rt *Runtime) remoteIdentity(c *RemoteCaller) (*identity, map[string]string, error) {
	scope, err := rt.scopeOf(nil, c.ScopeIDs)
	if err != nil {
		return nil, nil, err
	}
	var id *identity
	if c.Actor != nil || len(scope) > 0 {
		id = &identity{chain: sec.Chain{{Actor: c.Actor, Scope: scope}}}
	}
	return id, rt.remoteMeta(c.Node, c.Host), nil
}

// remoteMeta returns the (read-only) meta of a remote caller's host, kept
// per (node, host) for the first maxRemoteMetas pairs seen: policy
// conditions read it for every signal.
func (rt *Runtime) remoteMeta(node, hostID string) map[string]string {
	if l := rt.lastMeta.Load(); l != nil && l.node == node && l.host == hostID {
		return l.m // signals come in runs from one sender
	}
	key := [2]string{node, hostID}
	var m map[string]string
	if v, ok := rt.metas.Load(key); ok {
		m = v.(map[string]string)
	} else {
		m = map[string]string{"host": hostID, "node": node}
		if rt.metaCount.Add(1) > maxRemoteMetas {
			return m
		}
		rt.metas.Store(key, m)
	}
	rt.lastMeta.Store(&remoteMetaEntry{node: node, host: hostID, m: m})
	return m
}

// remoteMetaEntry is the last meta remoteMeta returned.
type remoteMetaEntry struct {
	node, host string
	m          map[string]string
}

// maxRemoteMetas bounds remoteMeta's cache (peers name the hosts).
const maxRemoteMetas = 4096

// AuthorizeRemote runs the check of SPEC section 8 for one action a caller
// on another node asks of this node, as it runs for a local caller: the
// caller's policies (its scope ids resolved against Config.Policies; an
// unknown id denies), the policies of this node's host with the caller's
// host id, and for a target, the target host's. target is the local
// process acted on (resource is then the name used, or ""); for an action
// not aimed at a process, target is the zero PID and resource the entry id
// (process.spawn*, process.exec) or host id (process.host, whose host's
// policies apply). It returns nil or a PERMISSION_DENIED error. Deliver
// runs it for every signal; a cluster calls it for what it checks itself.
func (rt *Runtime) AuthorizeRemote(c RemoteCaller, action string, target pid.PID, resource string) error {
	if rt.open && len(c.ScopeIDs) == 0 {
		return nil
	}
	id, meta, err := rt.remoteIdentity(&c)
	if err != nil {
		return err
	}
	caller := rt.hosts[c.Host]
	switch {
	case !target.IsZero():
		return rt.checkTarget(id, caller, meta, action, target, resource)
	case action == proc.ActionHost:
		return rt.decide(id, caller, meta, rt.hosts[resource], action, []string{resource})
	}
	return rt.decide(id, caller, meta, nil, action, []string{resource})
}

// AuthorizeRemoteSpawn checks a spawn asked by a caller on another node
// with every check a local spawn of req gets: the spawn actions (or
// process.exec) on req.Entry, process.registry.register.local on req.Name,
// and process.host on req.Host ("" = this node's default host).
func (rt *Runtime) AuthorizeRemoteSpawn(c RemoteCaller, req proc.SpawnRequest) error {
	if rt.open && len(c.ScopeIDs) == 0 {
		return nil
	}
	id, meta, err := rt.remoteIdentity(&c)
	if err != nil {
		return err
	}
	_, hostID := splitHost(req.Host)
	target := rt.first
	if hostID != "" {
		target = rt.hosts[hostID]
	} else {
		hostID = target.cfg.ID
	}
	return rt.checkSpawn(id, rt.hosts[c.Host], meta, &req, hostID, target)
}

// denyLog throttles log lines about denied remote traffic: one per
// (sender host, target host) pair per interval.
type denyLog struct {
	mu   sync.Mutex
	last map[[2]string]time.Time
}

const denyLogMax = 4096 // pairs remembered; older ones are forgotten first

func (d *denyLog) allow(from, to string, now time.Time, every time.Duration) bool {
	k := [2]string{from, to}
	d.mu.Lock()
	defer d.mu.Unlock()
	if at, ok := d.last[k]; ok && now.Sub(at) < every {
		return false
	}
	if d.last == nil {
		d.last = make(map[[2]string]time.Time)
	}
	if len(d.last) >= denyLogMax {
		for k, at := range d.last {
			if now.Sub(at) >= every {
				delete(d.last, k)
			}
		}
		if len(d.last) >= denyLogMax {
			clear(d.last)
		}
	}
	d.last[k] = now
	return true
}

// dropDenied counts a denied inbound signal and logs it, throttled.
func (rt *Runtime) dropDenied(e *Envelope, err error) {
	rt.counters.drop(0, DropPolicy, 1)
	c := callerOf(e)
	every := rt.cfg.DenyLogInterval
	if every == 0 {
		every = time.Minute
	}
	if rt.denyLog.allow(c.Node+"@"+c.Host, e.To.Host, time.Now(), every) {
		rt.log.Warn("runtime: denied traffic from another node dropped (logged once a minute per host pair)",
			"from", e.From.String(), "from_host", c.Host, "to", e.To.String(), "kind", int(e.Kind), "err", err)
	}
}

// hostMeta returns the meta.* facts of a caller on host id.
func hostMeta(id, node string) map[string]string {
	return map[string]string{"host": id, "node": node}
}

// canMeta merges a caller's own meta under the runtime's facts.
func canMeta(user, facts map[string]string) map[string]string {
	if len(user) == 0 {
		return facts
	}
	m := make(map[string]string, len(user)+len(facts))
	for k, v := range user {
		m[k] = v
	}
	for k, v := range facts {
		m[k] = v
	}
	return m
}
