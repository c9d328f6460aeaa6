package runtime

import (
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// indexRemote records that local p has a relation with a process of node,
// so NodeDown can find it without scanning every process.
func (rt *Runtime) indexRemote(node string, p *process) {
	rt.remoteMu.Lock()
	m := rt.remote[node]
	if m == nil {
		m = make(map[*process]struct{})
		rt.remote[node] = m
	}
	m[p] = struct{}{}
	rt.remoteMu.Unlock()
}

// unindexRemote forgets an ended process.
func (rt *Runtime) unindexRemote(p *process, rel *relations) {
	nodes := map[string]struct{}{}
	for _, set := range []map[pid.PID]struct{}{rel.links, rel.monitoredBy, rel.monitoring} {
		for o := range set {
			if !rt.isLocal(o) {
				nodes[o.Node] = struct{}{}
			}
		}
	}
	if len(nodes) == 0 {
		return
	}
	rt.remoteMu.Lock()
	for n := range nodes {
		if m := rt.remote[n]; m != nil {
			delete(m, p)
			if len(m) == 0 {
				delete(rt.remote, n)
			}
		}
	}
	rt.remoteMu.Unlock()
}

// Deliver hands in a signal from another node for a local process. The
// cluster calls it in the order the signals were sent by each sender.
//
// A message, link, monitor, cancel or terminate is first checked as the
// same call of a local process would be (SPEC section 8), with the
// sender's actor, scope ids and host the envelope carries (see
// security.Guard.AuthorizeRemote); a denied one is dropped, counted as
// dropped with reason "policy", and logged at most once per
// DenyLogInterval per (sender host, target host) pair. The target sees
// nothing of it. A message on a reserved topic (one starting with '@',
// which only the node itself sends, see Notify) is dropped the same way.
func (rt *Runtime) Deliver(e *Envelope) {
	if e.Kind == SigMessage && (e.Topic == "" || e.Topic[0] == '@') {
		// A reserved topic is the node's own (Notify): no process sends
		// one, so no peer may forge one.
		rt.dropDenied(e, ErrBadTopic)
		return
	}
	if action := remoteAction(e.Kind); action != "" {
		if err := e.Memo.AuthorizeRemote(rt.guard, callerOf(e), action, e.To, ""); err != nil {
			rt.dropDenied(e, proc.Refusal(err))
			return
		}
	}
	to := rt.local(e.To)
	switch e.Kind {
	case SigMessage:
		if to == nil {
			rt.counters.drop(0, DropNoProcess, 1)
			return
		}
		_ = rt.pushMessage(nil, e.Guest, to, &e.From, e.Topic, &e.Payload, true)
	case SigExit:
		if to != nil {
			_ = rt.push(nil, to, &proc.Delivery{Kind: proc.DeliveryExit, From: e.From, Payload: e.Payload, Err: errOrNil(e.Err)}, true)
		}
	case SigLinkExit:
		rt.linkExit(nil, e.To, e.From, e.Err, false)
	case SigLink:
		if to == nil || !rt.addRemoteRelation(to, e.From, relLinks) {
			_ = rt.router.Route(&Envelope{Kind: SigLinkExit, From: e.To, To: e.From, Err: proc.ErrNoProcess})
		}
	case SigUnlink:
		if to != nil {
			to.forget(relLinks, e.From)
		}
	case SigMonitor:
		if to == nil || !rt.addRemoteRelation(to, e.From, relMonitoredBy) {
			_ = rt.router.Route(&Envelope{Kind: SigExit, From: e.To, To: e.From, Err: proc.ErrNoProcess})
		}
	case SigDemonitor:
		if to != nil {
			to.forget(relMonitoredBy, e.From)
		}
	case SigCancel:
		reason, _ := e.Payload.AsString()
		_ = rt.cancel(nil, e.From, e.To, reason, nil)
	case SigTerminate:
		_ = rt.terminate(nil, e.From, e.To, nil)
	}
}

// Guest is a goroutine outside the schedulers, the reader of a peer's
// connection, that may run the process a delivered message readies
// itself instead of waking a worker for it (Envelope.Guest): on a
// request and its reply that skips a wake-up of a worker goroutine on
// each node, most of the round trip's latency. It holds at most one
// process, which is Ready and in no queue until Run or Queue is called:
// the holder must call one of them, soon.
type Guest struct {
	p *process
}

// Pending reports whether g holds a process.
func (g *Guest) Pending() bool { return g.p != nil }

// Take moves what g holds into a new Guest and empties g.
func (g *Guest) Take() Guest {
	t := *g
	g.p = nil
	return t
}

// Run runs the process g holds, if any, on the calling goroutine as the
// worker of a parked slot of its host (sched.Scheduler.RunHere), or
// queues it when none is parked. onBlock is called on this goroutine
// before the process's turn blocks it (a registry call, a lock): the
// caller hands its own work to another goroutine there.
func (g *Guest) Run(onBlock func()) {
	if p := g.p; p != nil && p.host.sched.RunHere(&p.Task, onBlock) {
		g.p = nil
		return
	}
	g.Queue()
}

// Queue queues the process g holds, if any, for a worker.
func (g *Guest) Queue() {
	if p := g.p; p != nil {
		g.p = nil
		p.host.sched.Submit(&p.Task)
	}
}

// NodeDown tells the runtime that node is unreachable for good (declared
// dead or left, or its session abandoned): every local link and monitor to
// a process on it fires once with noconnection, and relations that
// processes of that node held on local ones are dropped.
func (rt *Runtime) NodeDown(node string) {
	if node == rt.cfg.Node {
		return
	}
	rt.remoteMu.Lock()
	affected := rt.remote[node]
	delete(rt.remote, node)
	rt.remoteMu.Unlock()
	for p := range affected {
		var links, monitors []pid.PID
		p.mu.Lock()
		if p.rel != nil && !p.dead {
			for o := range p.rel.links {
				if o.Node == node {
					links = append(links, o)
				}
			}
			for o := range p.rel.monitoring {
				if o.Node == node {
					monitors = append(monitors, o)
				}
			}
			for o := range p.rel.monitoredBy {
				if o.Node == node {
					delete(p.rel.monitoredBy, o)
				}
			}
		}
		p.mu.Unlock()
		for _, o := range monitors {
			// The monitoring entry stays until the EXIT is read (filter).
			_ = rt.push(nil, p, &proc.Delivery{Kind: proc.DeliveryExit, From: o, Payload: msg.Nil, Err: proc.ErrNoConnection}, true)
		}
		for _, o := range links {
			rt.linkExit(nil, p.pid, o, proc.ErrNoConnection, false)
		}
	}
	if rt.cfg.Names != nil {
		rt.cfg.Names.ReleaseNode(node)
	}
}
