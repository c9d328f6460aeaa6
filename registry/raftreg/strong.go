package raftreg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/transport"
)

// The STRONG scope: CONSISTENT plus a reservation that every live node
// acknowledges before the name is active.
//
//  1. Reserve commits through Raft: first write wins against every name of
//     the table, CONSISTENT or STRONG. A replica resolves the reservation
//     as soon as it applies it.
//  2. The registering node asks every member membership reports up, itself
//     included, to acknowledge: each waits until its replica (or, outside
//     the Raft configuration, its copy) has applied the reservation, so it
//     resolves the name, then checks that no other plane of it binds the
//     name to another process (ConflictCheck) and answers. A conflicting
//     node refuses at once, and the registration fails ALREADY_EXISTS
//     naming the holder; past the deadline it fails UNAVAILABLE naming the
//     nodes that did not answer. Either way the reservation is aborted
//     (retried until it commits).
//  3. Activate commits, and Register returns: every live node resolves the
//     name already.
//
// A reservation whose registering node died before 2 or 3 is aborted by
// the leader once its deadline is ApplyTimeout past. A node that is not
// up in membership is not asked, and a member that does not serve the
// registry stream (Raft disabled there) cannot resolve cluster names at
// all and is not waited for.

// ConflictCheck reports whether another plane of this node (its EVENTUAL
// replica, its LOCAL names) binds name to a process other than p, and
// which process and scope. The node sets it; nil checks nothing.
type ConflictCheck func(name string, p pid.PID) (holder pid.PID, scope string, conflict bool)

// SetConflictCheck sets the check a STRONG acknowledgement makes.
func (r *Registry) SetConflictCheck(f ConflictCheck) {
	if f == nil {
		r.conflict.Store(nil)
		return
	}
	r.conflict.Store(&f)
}

// RegisterStrong gives name to p in the STRONG scope. It returns within
// ctx's deadline and at most ApplyTimeout: nil once every live node
// resolves the name; ALREADY_EXISTS when a name of the table, or another
// plane of a live node, binds it to another process; UNAVAILABLE without
// quorum, or naming the nodes that did not acknowledge in time; or an
// unknown outcome, after which the name is released if p holds it.
// Registering a STRONG name p already holds is a no-op.
func (r *Registry) RegisterStrong(ctx context.Context, name string, p pid.PID) error {
	if err := r.checkCall(name, p); err != nil {
		return err
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	// A new attempt supersedes the follow-ups of an earlier one.
	for _, k := range []jobKey{{kind: jobUnregisterIfOwned, name: name, pid: p}, {kind: jobAbort, name: name, pid: p}} {
		if done := r.rel.cancel(k); done != nil {
			select {
			case <-done:
			case <-ctx.Done():
				return wrap(registry.ErrUnavailable, name)
			}
		}
	}
	r.claim(p)
	holds, err := r.registerStrong(ctx, name, p)
	r.settle(p, holds)
	return err
}

// registerStrong runs the three steps; holds tells whether p may hold the
// name afterwards (it did, or a follow-up is still to release it).
func (r *Registry) registerStrong(ctx context.Context, name string, p pid.PID) (holds bool, _ error) {
	deadline, _ := ctx.Deadline()
	res, err := r.change(ctx, fsm.Reserve{Name: name, PID: p, Deadline: uint64(deadline.UnixNano())}, true)
	switch {
	case errors.Is(err, registry.ErrUnknownOutcome):
		r.rel.add(jobKey{kind: jobUnregisterIfOwned, name: name, pid: p})
		return true, wrap(err, name)
	case err != nil:
		return false, wrap(err, name)
	case res.err != nil:
		return false, registry.WrapHeld(res.err, name, res.owner)
	case res.active:
		return true, nil
	}
	if err := r.acknowledge(ctx, request{op: opAck, name: name, pid: p, index: res.index}); err != nil {
		r.rel.add(jobKey{kind: jobAbort, name: name, pid: p})
		return true, wrap(err, name)
	}
	res, err = r.change(ctx, fsm.Activate{Name: name, PID: p}, true)
	switch {
	case errors.Is(err, registry.ErrUnknownOutcome):
		r.rel.add(jobKey{kind: jobUnregisterIfOwned, name: name, pid: p})
		return true, wrap(err, name)
	case err != nil:
		r.rel.add(jobKey{kind: jobAbort, name: name, pid: p})
		return true, wrap(err, name)
	case res.err != nil: // aborted meanwhile: the deadline passed
		return false, wrap(fmt.Errorf("%w: the reservation expired", registry.ErrUnavailable), name)
	}
	return true, nil
}

// UnregisterStrong releases the STRONG name name if owner holds it (active
// or still a reservation): NOT_FOUND when nobody holds it in the STRONG
// scope, PERMISSION_DENIED when another process does. Once released, it
// waits until every live node has applied the release, or its deadline:
// in the ordinary case no node resolves the name when it returns.
func (r *Registry) UnregisterStrong(ctx context.Context, name string, owner pid.PID) error {
	if err := r.checkCall(name, owner); err != nil {
		return err
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	res, err := r.change(ctx, fsm.UnregisterStrong{Name: name, Owner: owner}, false)
	if err != nil {
		return wrap(err, name)
	}
	if res.err != nil {
		return registry.WrapHeld(res.err, name, res.owner)
	}
	if err := r.acknowledge(ctx, request{op: opApplied, index: res.index}); err != nil {
		r.log.Warn("a strong release was not applied everywhere in time", "name", name, "err", err)
	}
	return nil
}

// checkCall validates a call's name and PID and that the registry runs.
func (r *Registry) checkCall(name string, p pid.PID) error {
	if err := registry.ValidateName(name); err != nil {
		return wrap(err, name)
	}
	if err := registry.ValidatePID(p); err != nil {
		return wrap(err, name)
	}
	return wrap(r.gate(), name)
}

// ack is one node's answer to an acknowledgement request.
type ack struct {
	node   string
	ok     bool
	holder pid.PID // a conflicting binding's
	scope  string
}

// acknowledge sends q (opAck: acknowledge a reservation; opApplied: say
// that an index is applied) to every member up, this node included, and
// waits for all: nil, an ALREADY_EXISTS for the first conflict, or
// UNAVAILABLE naming the nodes that did not answer before ctx ended.
func (r *Registry) acknowledge(ctx context.Context, q request) error {
	q.deadline = deadlineOf(ctx)
	targets := r.liveNodes()
	answers := make(chan ack, len(targets))
	waiting := map[string]bool{}
	for _, node := range targets {
		waiting[node] = true
		if node == r.cfg.Node {
			if !r.track.start(func() { answers <- r.ackLocal(ctx, q) }) {
				return registry.ErrClosed
			}
			continue
		}
		pend, err := r.fwd.start(node, func(w *msgp.Writer) { putRequest(w, q) })
		if errors.Is(err, transport.ErrUnknownStream) {
			delete(waiting, node) // no registry there: it resolves no cluster name
			continue
		}
		if err != nil {
			continue // not sent: it stays missing
		}
		if !r.track.start(func() { answers <- r.awaitAck(ctx, node, q, pend) }) {
			pend.cancel()
			return registry.ErrClosed
		}
	}
	for len(waiting) > 0 {
		select {
		case a := <-answers:
			switch {
			case !a.ok && !a.holder.IsZero():
				return fmt.Errorf("%w: held by %v in the %s scope on %s", registry.ErrAlreadyExists, a.holder, a.scope, a.node)
			case a.ok:
				delete(waiting, a.node)
			}
		case <-ctx.Done():
			missing := make([]string, 0, len(waiting))
			for n := range waiting {
				missing = append(missing, n)
			}
			slices.Sort(missing)
			return fmt.Errorf("%w: not acknowledged by %s in time", registry.ErrUnavailable, strings.Join(missing, ", "))
		case <-r.stopping:
			return registry.ErrClosed
		}
	}
	return nil
}

// liveNodes are the members membership reports up, and this node.
func (r *Registry) liveNodes() []string {
	out := []string{r.cfg.Node}
	for _, m := range r.peers.Members() {
		if m.Name != r.cfg.Node && m.State.up() && !slices.Contains(out, m.Name) {
			out = append(out, m.Name)
		}
	}
	return out
}

func deadlineOf(ctx context.Context) int64 {
	if d, ok := ctx.Deadline(); ok {
		return d.UnixNano()
	}
	return 0
}

// awaitAck waits for node's answer to the acknowledgement request q sent
// as pend. A node that answers it cannot yet (busy, or its registry not
// started: a node that has just joined) is asked again after a short
// pause, until ctx ends: it is missing only if it never acknowledges in
// time.
func (r *Registry) awaitAck(ctx context.Context, node string, q request, pend *pending) ack {
	pause := ackRetryMin
	for {
		select {
		case b := <-pend.ch:
			pend.cancel()
			rep, err := decodeReply(b)
			switch {
			case err != nil:
				r.fwd.bad.Add(1)
				return ack{node: node}
			case rep.code == codeOK:
				return ack{node: node, ok: true}
			case rep.code == codeExists:
				return ack{node: node, holder: rep.pid, scope: rep.leader}
			case rep.code != codeBusy && rep.code != codeUnavailable:
				return ack{node: node}
			}
		case <-ctx.Done():
			pend.cancel()
			return ack{node: node}
		case <-r.stopping:
			pend.cancel()
			return ack{node: node}
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ack{node: node}
		case <-r.stopping:
			t.Stop()
			return ack{node: node}
		}
		pause = min(2*pause, ackRetryMax)
		var err error
		if pend, err = r.fwd.start(node, func(w *msgp.Writer) { putRequest(w, q) }); err != nil {
			return ack{node: node}
		}
	}
}

// The pauses between asks of a node that could not acknowledge yet.
const (
	ackRetryMin = 10 * time.Millisecond
	ackRetryMax = 200 * time.Millisecond
)

// ackLocal is this node's answer: once its table has applied q.index, the
// name resolves here (or no longer does); for a reservation, the other
// planes are checked then.
func (r *Registry) ackLocal(ctx context.Context, q request) ack {
	a := ack{node: r.cfg.Node}
	if err := r.table.waitIndex(ctx, q.index); err != nil {
		return a
	}
	if f := r.conflict.Load(); f != nil && q.op == opAck {
		if holder, scope, ok := (*f)(q.name, q.pid); ok {
			a.holder, a.scope = holder, scope
			return a
		}
	}
	a.ok = true
	return a
}

// serveAck answers another node's acknowledgement request (on a goroutine
// of its own: it may wait for the replica).
func (r *Registry) serveAck(q request) reply {
	deadline := time.Now().Add(r.cfg.ApplyTimeout)
	if d := time.Unix(0, q.deadline); q.deadline != 0 && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	a := r.ackLocal(ctx, q)
	switch {
	case a.ok:
		return reply{code: codeOK}
	case !a.holder.IsZero():
		return reply{code: codeExists, pid: a.holder, leader: a.scope}
	}
	return reply{code: codeUnavailable}
}

// expireReservations queues the abort of every pending reservation whose
// deadline is ApplyTimeout past: its registering node gave up or died.
// The leader calls it with each reconciliation.
func (r *Registry) expireReservations(now time.Time) {
	for _, e := range r.table.pending() {
		if now.After(time.Unix(0, e.Deadline).Add(r.cfg.ApplyTimeout)) {
			r.rel.add(jobKey{kind: jobAbort, name: e.Name, pid: e.PID})
		}
	}
}
