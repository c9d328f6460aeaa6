package runtime

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/sched"
)

// link links the local process a with target (local or remote). Linking a
// process that does not exist is like its failure with "no process", as in
// Erlang: a trapping a gets LINK_DOWN, any other a is killed.
func (rt *Runtime) link(a *process, target pid.PID) {
	if target == a.pid {
		return
	}
	if !rt.isLocal(target) {
		a.mu.Lock()
		if a.dead {
			a.mu.Unlock()
			return
		}
		addTo(&a.relations().links, target)
		a.mu.Unlock()
		rt.indexRemote(target.Node, a)
		if err := rt.router.Route(stamp(&Envelope{Kind: SigLink, From: a.pid, To: target}, a)); err != nil {
			rt.linkExit(a.w, a.pid, target, proc.ErrNoConnection, true)
		}
		return
	}
	b := rt.local(target)
	if b == nil || !rt.addLink(a, b) {
		// a is alive (it is running this call): deliver the failure to it.
		rt.linkExit(a.w, a.pid, target, proc.ErrNoProcess, true)
	}
}

// addLink records a local link both ways unless either side has ended.
func (rt *Runtime) addLink(a, b *process) bool {
	first, second := a, b
	if b.pid.Seq < a.pid.Seq {
		first, second = b, a
	}
	first.mu.Lock()
	second.mu.Lock()
	ok := !a.dead && !b.dead
	if ok {
		addTo(&a.relations().links, b.pid)
		addTo(&b.relations().links, a.pid)
	}
	second.mu.Unlock()
	first.mu.Unlock()
	return ok
}

// addRemoteRelation records other, a remote process, in local b's
// relation set kind. It reports false when b has ended.
func (rt *Runtime) addRemoteRelation(b *process, other pid.PID, kind relKind) bool {
	b.mu.Lock()
	if b.dead {
		b.mu.Unlock()
		return false
	}
	addTo(b.relations().set(kind), other)
	b.mu.Unlock()
	rt.indexRemote(other.Node, b)
	return true
}

func (rt *Runtime) unlink(a *process, target pid.PID) {
	rt.dropRelation(a, target, relLinks, relLinks, SigUnlink)
}

// dropRelation removes a's relation with target (kept in a's set mine and
// target's set theirs), telling target's node when it is remote.
func (rt *Runtime) dropRelation(a *process, target pid.PID, mine, theirs relKind, sig SignalKind) {
	a.forget(mine, target)
	if !rt.isLocal(target) {
		_ = rt.router.Route(stamp(&Envelope{Kind: sig, From: a.pid, To: target}, a))
		return
	}
	if b := rt.local(target); b != nil {
		b.forget(theirs, a.pid)
	}
}

// monitor makes a watch target. A dead or unknown local target gives an
// EXIT with "no process" at once; an unreachable node one with noconnection.
func (rt *Runtime) monitor(a *process, target pid.PID) {
	if target == a.pid {
		return
	}
	a.mu.Lock()
	if a.dead {
		a.mu.Unlock()
		return
	}
	addTo(&a.relations().monitoring, target)
	a.mu.Unlock()
	if !rt.isLocal(target) {
		rt.indexRemote(target.Node, a)
		if err := rt.router.Route(stamp(&Envelope{Kind: SigMonitor, From: a.pid, To: target}, a)); err != nil {
			rt.push(a.w, a, &proc.Delivery{Kind: proc.DeliveryExit, From: target, Err: proc.ErrNoConnection}, false)
		}
		return
	}
	b := rt.local(target)
	ok := false
	if b != nil {
		b.mu.Lock()
		if !b.dead {
			addTo(&b.relations().monitoredBy, a.pid)
			ok = true
		}
		b.mu.Unlock()
	}
	if !ok {
		rt.push(a.w, a, &proc.Delivery{Kind: proc.DeliveryExit, From: target, Err: proc.ErrNoProcess}, false)
	}
}

func (rt *Runtime) unmonitor(a *process, target pid.PID) {
	rt.dropRelation(a, target, relMonitoring, relMonitoredBy, SigDemonitor)
}

// linkExit applies the failure of from (err) to its linked local process
// to: LINK_DOWN for a trapping process, death with "link down" otherwise.
// Unless force is set, it applies only while the link stands (it is removed
// here); force delivers the failure of a link that could not be made (the
// target was dead or unreachable). A normal exit (err nil) only unlinks.
func (rt *Runtime) linkExit(w *sched.Worker, to, from pid.PID, err *proc.Error, force bool) {
	b := rt.local(to)
	if b == nil {
		return
	}
	b.mu.Lock()
	linked := false
	if b.rel != nil {
		if _, linked = b.rel.links[from]; linked {
			delete(b.rel.links, from)
		}
	}
	dead := b.dead
	b.mu.Unlock()
	if dead || err == nil || !(linked || force) {
		return
	}
	if b.trap.Load() {
		rt.push(w, b, &proc.Delivery{Kind: proc.DeliveryLinkDown, From: from, Err: err}, !rt.isLocal(from))
		return
	}
	rt.kill(b, proc.LinkDown(from), w)
}

// notifyExit tells the ended process's links and monitors.
func (rt *Runtime) notifyExit(p *process, rel *relations, value msg.Value, err *proc.Error) {
	w := p.w
	for other := range rel.links {
		if rt.isLocal(other) {
			rt.linkExit(w, other, p.pid, err, false)
		} else {
			if err != nil {
				_ = rt.router.Route(stamp(&Envelope{Kind: SigLinkExit, From: p.pid, To: other, Err: err}, p))
			} else {
				_ = rt.router.Route(stamp(&Envelope{Kind: SigUnlink, From: p.pid, To: other}, p))
			}
		}
	}
	for other := range rel.monitoredBy {
		if rt.isLocal(other) {
			if o := rt.local(other); o != nil {
				rt.push(w, o, &proc.Delivery{Kind: proc.DeliveryExit, From: p.pid, Payload: value, Err: errOrNil(err)}, false)
			}
		} else {
			_ = rt.router.Route(stamp(&Envelope{Kind: SigExit, From: p.pid, To: other, Payload: value, Err: err}, p))
		}
	}
	for other := range rel.monitoring {
		if !rt.isLocal(other) {
			_ = rt.router.Route(stamp(&Envelope{Kind: SigDemonitor, From: p.pid, To: other}, p))
		} else if o := rt.local(other); o != nil {
			o.forget(relMonitoredBy, p.pid)
		}
	}
	rt.unindexRemote(p, rel)
}

// errOrNil keeps a nil *proc.Error a nil error interface.
func errOrNil(e *proc.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// kill marks p to end with reason and wakes it; a running behaviour that can
// be interrupted is told at once.
func (rt *Runtime) kill(p *process, reason *proc.Error, w *sched.Worker) {
	if p.kill.CompareAndSwap(nil, reason) {
		rt.killed(p, w)
	}
}

// cancelKill terminates p for outliving its grace after a CANCEL, counted
// (before p can end) unless p was already being killed.
func (rt *Runtime) cancelKill(p *process, w *sched.Worker) {
	if p.kill.CompareAndSwap(nil, proc.ErrTerminated) {
		rt.counters.cancelKilled.add(slotOf(w), 1)
		rt.killed(p, w)
	}
}

// killed wakes p, just marked to end.
func (rt *Runtime) killed(p *process, w *sched.Worker) {
	p.signalReceiver()
	if proc.State(p.state.Load()) == proc.Running {
		if p.intr != nil {
			p.intr.Interrupt()
		}
	}
	rt.wake(w, p)
}

// terminate ends target at once with "terminated"; src is the calling
// process (nil from outside or from another node), whose identity an
// envelope to another node carries.
func (rt *Runtime) terminate(src *process, from, target pid.PID, w *sched.Worker) error {
	if !rt.isLocal(target) {
		err := rt.router.Route(stamp(&Envelope{Kind: SigTerminate, From: from, To: target}, src))
		if err != nil && !isNoRoute(err) {
			return err
		}
		return nil
	}
	p := rt.local(target)
	if p == nil {
		return nil // already gone: terminating a dead process is not an error
	}
	rt.kill(p, proc.ErrTerminated, w)
	return nil
}

// cancel gives target a CANCEL event; the target host's cancel_timeout
// terminates it if it is still alive by then. src is as for terminate.
func (rt *Runtime) cancel(src *process, from, target pid.PID, reason string, w *sched.Worker) error {
	if !rt.isLocal(target) {
		err := rt.router.Route(stamp(&Envelope{Kind: SigCancel, From: from, To: target, Payload: msg.String(reason)}, src))
		if err != nil && !isNoRoute(err) {
			return err
		}
		return nil
	}
	p := rt.local(target)
	if p == nil {
		return nil
	}
	rt.pushSystem(w, p, proc.Delivery{Kind: proc.DeliveryCancel, From: from, Payload: msg.String(reason)})
	if d := p.host.cfg.CancelTimeout; d > 0 {
		rt.sched.AddTimer(d, cancelTimeout{rt: rt, p: p}, 0)
	}
	return nil
}

// cancelTimeout terminates a cancelled process that outlived its timeout.
type cancelTimeout struct {
	rt *Runtime
	p  *process
}

func (c cancelTimeout) Fire(w *sched.Worker, _ uint64) {
	if proc.State(c.p.state.Load()) == proc.Complete {
		return
	}
	c.rt.cancelKill(c.p, w)
}

func isNoRoute(err error) bool { return errors.Is(err, ErrNoRoute) }
