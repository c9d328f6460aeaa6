package runtime

import (
	"slices"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/sched"
	"github.com/wippyd/wippyd/runtime/security"
)

// Spawn starts a process from outside any process (parent is the zero PID:
// Link and Monitor are ignored).
func (rt *Runtime) Spawn(req proc.SpawnRequest) (pid.PID, error) {
	return rt.spawn(nil, req, nil)
}

// SpawnFor starts req from outside any process on behalf of another node
// that has checked and asked for the spawn, for parent, a process of that
// node (or the zero PID: none). With a parent and req.Link or req.Monitor
// the child is linked to, or monitored by, parent before it first runs, so
// it reports to parent however soon it ends. created, if not nil, is
// called with the child's PID before the child first runs: what it sends
// to the asking node (the spawn's reply) goes ahead of anything the child
// sends.
func (rt *Runtime) SpawnFor(parent pid.PID, req proc.SpawnRequest, created func(child pid.PID)) (pid.PID, error) {
	if !parent.IsZero() && rt.isLocal(parent) {
		return pid.PID{}, proc.Errorf(proc.KindInvalid, msg.False, "runtime: SpawnFor with a local parent %s", parent)
	}
	return rt.spawn(nil, req, &remoteParent{pid: parent, created: created})
}

// remoteParent is a spawn asked for by another node: its parent there
// (zero: none) and the callback SpawnFor was given.
type remoteParent struct {
	pid     pid.PID
	created func(pid.PID)
}

// spawn starts a process for parent (nil from outside; rp is set for a
// spawn another node asked for, see SpawnFor). The steps, in order: the
// child's identity; a spawn on another node goes there (spawnRemote);
// otherwise the host, the parent's policy check, the process itself
// (newProcess: behaviour, admission, table, name), its relations and its
// first turn. A parent's spawn is checked (SPEC section 8) before anything
// is created, and a step that fails leaves nothing behind.
func (rt *Runtime) spawn(parent *process, req proc.SpawnRequest, rp *remoteParent) (pid.PID, error) {
	if rt.stopping.Load() {
		return pid.PID{}, ErrStopped
	}
	check := req.Security()
	caller := callerRef(parent)
	var id *security.Identity
	var err error
	if rp != nil {
		id, err = rt.guard.RemoteChild(req.Parent, &check)
	} else {
		id, err = rt.guard.Child(caller, &check)
	}
	if err != nil {
		return pid.PID{}, proc.Refusal(err)
	}
	ctx, err := childContext(parent, req.Context)
	if err != nil {
		return pid.PID{}, err
	}
	node, hostID := pid.SplitHost(req.Host)
	if node != "" && node != rt.cfg.Node && rp == nil {
		if ctx != nil {
			req.Context = *ctx
		}
		return rt.spawnRemote(parent, &check, req, node, hostID)
	}
	h, err := rt.spawnHost(parent, hostID)
	if err != nil {
		return pid.PID{}, err
	}
	if caller != nil {
		if err := rt.guard.AuthorizeSpawn(*caller, &check, h.cfg.ID); err != nil {
			return pid.PID{}, proc.Refusal(err)
		}
	}
	p, err := rt.newProcess(h, id, ctx, &req)
	if err != nil {
		return pid.PID{}, err
	}
	rt.relateChild(parent, p, &req, rp)
	rt.startChild(parent, p, req.Message)
	return p.pid, nil
}

// childContext is the context of a child of parent (nil from outside):
// the parent's values with add laid over them. The child shares the
// parent's map when it adds nothing.
func childContext(parent *process, add msg.Value) (*msg.Value, error) {
	var base *msg.Value
	if parent != nil {
		base = parent.ctx
	}
	switch {
	case add.IsNil() || add.Kind() == msg.KindMap && add.Len() == 0:
		return base, nil
	case add.Kind() != msg.KindMap:
		return nil, proc.Errorf(proc.KindInvalid, msg.False, "spawn context must be a map, got %s", add.Kind())
	case base == nil:
		return &add, nil
	}
	m := make(map[string]msg.Value, base.Len()+add.Len())
	for _, v := range [2]msg.Value{*base, add} {
		for _, pr := range v.Pairs() {
			k, ok := pr.Key.AsString()
			if !ok {
				return nil, proc.Errorf(proc.KindInvalid, msg.False, "spawn context keys must be strings")
			}
			m[k] = pr.Val
		}
	}
	merged := msg.StringMap(m)
	return &merged, nil
}

// callerRef is parent as the guard sees it; nil from outside any process.
func callerRef(parent *process) *security.Caller {
	if parent == nil {
		return nil
	}
	c := parent.caller()
	return &c
}

// spawnRemote asks node for the spawn, on its host hostID. The parent's
// spawn is checked here first, with this node's policies (and those of its
// host of the same id, if any); the target node checks it again.
func (rt *Runtime) spawnRemote(parent *process, check *security.Spawn, req proc.SpawnRequest, node, hostID string) (pid.PID, error) {
	var from pid.PID
	if parent != nil {
		from = parent.pid
		if err := rt.guard.AuthorizeSpawn(parent.caller(), check, hostID); err != nil {
			return pid.PID{}, proc.Refusal(err)
		}
	}
	// What travels is the parent's chain and the narrowing: the target
	// node derives the child's identity itself, as it would for a parent
	// of its own (security.Guard.RemoteChild), so a child there never
	// has more rights than it would have here.
	req.Host, req.Scope, req.ScopeIDs = hostID, nil, scopeIDs(check)
	req.Parent = nil
	if parent != nil && !parent.sec.System() {
		req.Parent = &security.RemoteCaller{Node: rt.cfg.Node, Host: parent.host.cfg.ID, Chain: parent.sec.Remote()}
	}
	// The router records the link and monitor (RelateRemote) in order
	// with the child's signals. The round trip must not hold a worker.
	var child pid.PID
	var err error
	call := func() { child, err = rt.router.Spawn(node, from, req) }
	if parent != nil {
		parent.Blocking(call)
	} else {
		call()
	}
	return child, err
}

// scopeIDs are the ids of the policies s narrows to, sorted, each once.
func scopeIDs(s *security.Spawn) []string {
	var ids []string
	for _, p := range s.Scope {
		if p != nil && !slices.Contains(ids, p.ID()) {
			ids = append(ids, p.ID())
		}
	}
	for _, id := range s.ScopeIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// spawnHost is the host a spawn on this node goes to: hostID, else the
// parent's host, else (from outside) the default host.
func (rt *Runtime) spawnHost(parent *process, hostID string) (*host, error) {
	h := rt.first
	if hostID != "" {
		h = rt.hosts[hostID]
	} else if parent != nil {
		h = parent.host
	}
	if h == nil {
		return nil, proc.Errorf(proc.KindNotFound, ErrUnknownHost.Retryable, "unknown host: %s", hostID)
	}
	return h, nil
}

// newProcess makes the process req describes on h: its behaviour, its
// admission to h's limits, its PID and place in the process table, and
// its name. When a step fails, nothing of it remains and the behaviour is
// told (Kill).
func (rt *Runtime) newProcess(h *host, id *security.Identity, ctx *msg.Value, req *proc.SpawnRequest) (*process, error) {
	b, err := rt.behavior(req)
	if err != nil {
		return nil, err
	}
	p := &process{rt: rt, host: h, beh: b, sec: id, ctx: ctx, flags: fresh,
		entry: rt.entries.index(req.Entry), born: time.Now().UnixNano()}
	if err := h.admit(p); err != nil {
		b.Kill(err)
		return nil, err
	}
	p.intr, _ = b.(proc.Interrupter)
	p.hold, _ = b.(proc.Holder)
	p.Init(p)
	p.pid = pid.PID{Node: rt.cfg.Node, Host: h.cfg.ID, Seq: rt.seq.Add(1)}
	p.state.Store(uint32(proc.Ready))
	rt.procs.put(p)
	if req.Name != "" {
		if err := rt.registerLocal(req.Name, p); err != nil {
			rt.procs.del(p.pid.Seq)
			h.release(p)
			b.Kill(err)
			return nil, err
		}
	}
	return p, nil
}

// behavior returns the behaviour req runs: its own, or its entry's from
// the catalog.
func (rt *Runtime) behavior(req *proc.SpawnRequest) (proc.Behavior, error) {
	if req.Behavior != nil {
		return req.Behavior, nil
	}
	if rt.cfg.Catalog == nil {
		return nil, ErrNoCatalog
	}
	return rt.cfg.Catalog.Behavior(req.Entry, req.Args)
}

// relateChild sets up the child's link and monitor with its parent before
// it first runs: a local parent's (checked as process.spawn.linked and
// .monitored), or a remote parent's (rp, which its node checked), whose
// node then hears of the child (rp.created) ahead of anything it sends.
func (rt *Runtime) relateChild(parent, p *process, req *proc.SpawnRequest, rp *remoteParent) {
	if parent != nil {
		if req.Link {
			rt.link(parent, p.pid)
		}
		if req.Monitor {
			rt.monitor(parent, p.pid)
		}
	}
	if rp == nil {
		return
	}
	if req.Link && !rp.pid.IsZero() {
		rt.addRemoteRelation(p, rp.pid, relLinks)
	}
	if req.Monitor && !rp.pid.IsZero() {
		rt.addRemoteRelation(p, rp.pid, relMonitoredBy)
	}
	if rp.created != nil {
		rp.created(p.pid)
	}
}

// startChild puts the child's first message (if any) in its mailbox and
// queues it, on its parent's worker when the parent runs on its pool.
func (rt *Runtime) startChild(parent, p *process, first *proc.Delivery) {
	if first != nil {
		d := *first
		d.Kind = proc.DeliveryMessage
		if d.From.IsZero() && parent != nil {
			d.From = parent.pid
		}
		p.mbox.Push(d, 0)
	}
	slot := 0
	var w *sched.Worker
	if parent != nil && parent.w != nil {
		slot = parent.w.Slot()
		w = parent.w
	}
	rt.enqueue(w, p)
	rt.counters.spawns.add(slot, 1)
	p.host.spawns.add(slot, 1)
}
