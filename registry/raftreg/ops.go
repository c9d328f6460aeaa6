package raftreg

import (
	"context"
	"errors"
	"time"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

// retryPause bounds the wait before trying again after a refusal that
// did not come with a leader change (not sent, busy, not leader yet).
const retryPause = 10 * time.Millisecond

// bound limits ctx to ApplyTimeout.
func (r *Registry) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.ApplyTimeout)
}

// gate returns the error for a call that cannot run: before Start
// (unavailable, retryable) or after Close.
func (r *Registry) gate() error {
	switch r.state.Load() {
	case stateNew:
		return registry.ErrUnavailable
	case stateClosed:
		return registry.ErrClosed
	}
	return nil
}

// Register implements registry.Registry and runtime.NameService. It
// returns within ctx's deadline and at most ApplyTimeout: nil,
// ALREADY_EXISTS, UNAVAILABLE (no leader or quorum; nothing was
// proposed), or UNAVAILABLE wrapping registry.ErrUnknownOutcome (proposed,
// not confirmed), after which the registry releases the name again if p
// holds it (a conditional unregister, retried until it commits, cancelled
// by the next Register of the same name and PID).
func (r *Registry) Register(ctx context.Context, name string, p pid.PID) error {
	if err := registry.ValidateName(name); err != nil {
		return wrap(err, name)
	}
	if err := registry.ValidatePID(p); err != nil {
		return wrap(err, name)
	}
	if err := r.gate(); err != nil {
		return wrap(err, name)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	// A register again after an unknown outcome supersedes the pending
	// conditional unregister of the first: without this, the retry could
	// succeed and then lose the name to it.
	if done := r.rel.cancel(jobKey{kind: jobUnregisterIfOwned, name: name, pid: p}); done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return wrap(registry.ErrUnavailable, name)
		}
	}
	r.claim(p)
	res, err := r.change(ctx, fsm.Register{Name: name, PID: p}, true)
	r.settle(p, err == nil && res.err == nil || errors.Is(err, registry.ErrUnknownOutcome))
	if errors.Is(err, registry.ErrUnknownOutcome) {
		r.rel.add(jobKey{kind: jobUnregisterIfOwned, name: name, pid: p})
	}
	if err != nil {
		return wrap(err, name)
	}
	return registry.WrapHeld(res.err, name, res.owner)
}

// Unregister implements registry.Registry and runtime.NameService:
// NOT_FOUND when nobody holds name, PERMISSION_DENIED when another PID
// does, UNAVAILABLE as for Register (no conditional follow-up: an
// unregister of unknown outcome is safe to repeat).
func (r *Registry) Unregister(ctx context.Context, name string, owner pid.PID) error {
	if err := registry.ValidateName(name); err != nil {
		return wrap(err, name)
	}
	if err := registry.ValidatePID(owner); err != nil {
		return wrap(err, name)
	}
	if err := r.gate(); err != nil {
		return wrap(err, name)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	res, err := r.change(ctx, fsm.Unregister{Name: name, Owner: owner}, false)
	if err != nil {
		return wrap(err, name)
	}
	return registry.WrapHeld(res.err, name, res.owner)
}

// change commits cmd through the leader and returns its result. It errs
// with registry.ErrUnavailable when cmd was certainly not proposed,
// registry.ErrUnknownOutcome when it may have been, registry.ErrClosed on
// Close. An idempotent command (applying it twice is applying it once:
// register, the releases) is sent again to a new leader when the first one
// is lost, which turns most leader changes into a definite answer.
func (r *Registry) change(ctx context.Context, cmd fsm.Command, idempotent bool) (result, error) {
	data, err := fsm.EncodeCommand(cmd)
	if err != nil {
		return result{}, err // wraps registry.ErrInvalidName or ErrInvalidPID
	}
	maybe := false // some attempt may have been proposed
	fail := func() (result, error) {
		switch {
		case maybe:
			r.unknown.Add(1)
			return result{}, registry.ErrUnknownOutcome
		case r.state.Load() == stateClosed:
			return result{}, registry.ErrClosed
		}
		return result{}, registry.ErrUnavailable
	}
	for {
		if ctx.Err() != nil {
			return fail()
		}
		changed := r.leaderBC.wait()
		if e := r.lead.Load(); e != nil {
			res, err := r.proposeLocal(ctx, e, data)
			if err == nil {
				return res, nil
			}
			maybe = true
			if !idempotent || errors.Is(err, errStopped) {
				return fail()
			}
			continue
		}
		leader := r.leaderName()
		if leader == "" || leader == r.cfg.Node {
			if !r.pause(ctx, changed, 0) {
				return fail()
			}
			continue
		}
		rep, err := r.ask(ctx, leader, request{op: opApply, data: data}, idempotent)
		switch {
		case errors.Is(err, errNotSent):
			if !r.pause(ctx, changed, retryPause) {
				return fail()
			}
			continue
		case err != nil: // sent, no reply
			maybe = true
			if !idempotent || errors.Is(err, errStopped) {
				return fail()
			}
			continue
		}
		switch rep.code {
		case codeNotLeader, codeBusy, codeExpired, codeUnavailable:
			if !r.pause(ctx, changed, retryPause) {
				return fail()
			}
		case codeUnknown:
			maybe = true
			if !idempotent {
				return fail()
			}
		default:
			return replyResult(rep), nil
		}
	}
}

// pause waits for a leader change, d (0: no limit) or the end of ctx; it
// reports false when ctx ended or the registry is closing.
func (r *Registry) pause(ctx context.Context, changed <-chan struct{}, d time.Duration) bool {
	var tc <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-changed:
	case <-tc:
	case <-ctx.Done():
		return false
	case <-r.stopping:
		return false
	}
	return true
}

// Lookup implements registry.Registry and runtime.NameService,
// linearizably: the leader answers from its table after its no-op of the
// term is applied and a quorum confirmed it still leads (raft
// VerifyLeader, shared between concurrent reads); a follower forwards the
// lookup to the leader. NOT_FOUND when nobody holds name; UNAVAILABLE
// without a leader and quorum within the deadline.
func (r *Registry) Lookup(ctx context.Context, name string) (pid.PID, error) {
	if err := registry.ValidateName(name); err != nil {
		return pid.PID{}, wrap(err, name)
	}
	if err := r.gate(); err != nil {
		return pid.PID{}, wrap(err, name)
	}
	if r.localReads {
		if p, ok := r.table.lookup(name); ok {
			return p, nil
		}
		return pid.PID{}, wrap(registry.ErrNotFound, name)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	rep, err := r.read(ctx, request{op: opLookup, name: name})
	switch {
	case err != nil:
		return pid.PID{}, wrap(err, name)
	case rep.code == codeNotFound:
		return pid.PID{}, wrap(registry.ErrNotFound, name)
	}
	return rep.pid, nil
}

// read runs a lookup or read-index request linearizably, on this node if
// it leads, forwarded otherwise. Retries until ctx ends.
func (r *Registry) read(ctx context.Context, q request) (reply, error) {
	for {
		if ctx.Err() != nil {
			return reply{}, registry.ErrUnavailable
		}
		changed := r.leaderBC.wait()
		if e := r.lead.Load(); e != nil {
			err := r.leaderRead(ctx, e)
			switch {
			case err == nil:
				if q.op == opReadIndex {
					return reply{code: codeOK, index: r.table.index()}, nil
				}
				if p, ok := r.table.lookup(q.name); ok {
					return reply{code: codeOK, pid: p}, nil
				}
				return reply{code: codeNotFound}, nil
			case errors.Is(err, errStopped):
				return reply{}, registry.ErrClosed
			}
			if !r.pause(ctx, changed, retryPause) {
				return reply{}, registry.ErrUnavailable
			}
			continue
		}
		leader := r.leaderName()
		if leader == "" || leader == r.cfg.Node {
			if !r.pause(ctx, changed, 0) {
				return reply{}, registry.ErrUnavailable
			}
			continue
		}
		rep, err := r.ask(ctx, leader, q, true)
		switch {
		case errors.Is(err, errStopped):
			return reply{}, registry.ErrClosed
		case errors.Is(err, errNotSent):
			if !r.pause(ctx, changed, retryPause) {
				return reply{}, registry.ErrUnavailable
			}
		case err != nil:
		case rep.code == codeOK || rep.code == codeNotFound:
			return rep, nil
		default:
			if !r.pause(ctx, changed, retryPause) {
				return reply{}, registry.ErrUnavailable
			}
		}
	}
}

// List implements registry.Registry: every entry, sorted by name, as of
// one log index at least as recent as any change committed before the
// call (a read index from the leader, then the local replica once it
// caught up).
func (r *Registry) List(ctx context.Context) ([]registry.Entry, error) {
	if err := r.gate(); err != nil {
		return nil, wrap(err, "")
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	rep, err := r.read(ctx, request{op: opReadIndex})
	if err != nil {
		return nil, wrap(err, "")
	}
	if err := r.table.waitIndex(ctx, rep.index); err != nil {
		return nil, wrap(registry.ErrUnavailable, "")
	}
	return r.table.list(), nil
}

// Watch implements registry.Registry, from the local replica: the table
// as it stands here, then every change in log order. The watcher stops
// when ctx ends (Err is ctx's error), on Stop, or on Close.
func (r *Registry) Watch(ctx context.Context) (registry.Watcher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.state.Load() == stateClosed {
		return nil, wrap(registry.ErrClosed, "")
	}
	w, err := r.table.watch(r.cfg.WatchBuffer)
	if err != nil {
		return nil, wrap(err, "")
	}
	if ctx.Done() != nil {
		ok := r.track.start(func() {
			select {
			case <-ctx.Done():
				w.end(ctx.Err())
			case <-w.done:
			case <-r.stopping:
			}
		})
		if !ok {
			w.end(registry.ErrClosed)
		}
	}
	return w, nil
}

// claim notes a register in flight for p.
func (r *Registry) claim(p pid.PID) {
	r.ownMu.Lock()
	h := r.owned[p]
	if h == nil {
		h = &holder{}
		r.owned[p] = h
	}
	h.inflight++
	r.ownMu.Unlock()
}

// settle ends a register of p; mayHold tells whether p may now hold the
// name. If p was released meanwhile, its release runs again, after the
// register.
func (r *Registry) settle(p pid.PID, mayHold bool) {
	r.ownMu.Lock()
	h := r.owned[p]
	h.inflight--
	h.has = h.has || mayHold
	again := h.released && mayHold
	if h.inflight == 0 && (h.released || !h.has) {
		delete(r.owned, p)
	}
	r.ownMu.Unlock()
	if again {
		r.rel.add(jobKey{kind: jobReleasePID, pid: p})
	}
}

// ReleasePID implements runtime.NameService: the process p ended, release
// every name it holds. It returns at once; the release is retried with
// backoff until it commits. It is skipped for processes that hold no name
// in the local replica and registered none through this node, which is
// every process but a few: the runtime calls it for each exit.
func (r *Registry) ReleasePID(p pid.PID) {
	if registry.ValidatePID(p) != nil || r.state.Load() == stateClosed {
		return
	}
	r.fence.forget(p)
	has := false
	r.ownMu.Lock()
	if h := r.owned[p]; h != nil {
		h.released = true
		has = h.has
		if h.inflight == 0 {
			delete(r.owned, p)
		}
	}
	r.ownMu.Unlock()
	if !has && !r.table.holds(p) {
		return
	}
	r.rel.add(jobKey{kind: jobReleasePID, pid: p})
}

// ReleaseNode implements runtime.NameService: node was declared dead or
// left. Only the leader proposes the release (retried while it leads);
// elsewhere the call does nothing, since the leader hears of the same
// death, and a new leader releases the names of every node membership
// does not report alive.
func (r *Registry) ReleaseNode(node string) {
	if registry.ValidateNode(node) != nil || node == r.cfg.Node || r.lead.Load() == nil {
		return
	}
	r.rel.add(jobKey{kind: jobReleaseNode, node: node})
	r.releaseLocksLater(node)
}
