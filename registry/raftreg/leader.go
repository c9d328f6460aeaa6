package raftreg

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// proposeLocal proposes data (an fsm command, or nil for the no-op) on
// this node, which leads in epoch e, and waits for the entry to be applied
// here. A command goes through the epoch's batching (batch.go); the no-op
// goes to raft directly. It never waits on raft's futures: a future can
// stay unresolved forever when raft shuts down with it in a queue, and
// waiting on it would leak the goroutine. The result comes from the state
// machine (table.deliver, matched by the proposal id in the entry's
// Extensions); a leadership that ends, ctx or Close end the wait with an
// error meaning "maybe proposed": errLost, the ctx error or errStopped.
func (r *Registry) proposeLocal(ctx context.Context, e *epoch, data []byte) (result, error) {
	id := r.propSeq.Add(1)
	ch := r.table.expect(id)
	defer r.table.drop(id)
	deadline := time.Now().Add(r.cfg.ApplyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return result{}, context.DeadlineExceeded
	}
	if data != nil {
		e.props.add(proposal{id: id, data: data, deadline: deadline, nudge: nudges(data)})
	} else {
		// The future is dropped on purpose (see above). An entry that
		// raft refuses (not leader any more, queue full until timeout)
		// never applies: the wait ends with e.lost or ctx, as for an
		// entry lost in a leader change.
		var ext [8]byte
		binary.BigEndian.PutUint64(ext[:], id)
		_ = r.raft().ApplyLog(raft.Log{Extensions: ext[:]}, timeout)
	}
	select {
	case res := <-ch:
		return res, nil
	case <-e.lost:
		select {
		case res := <-ch:
			return res, nil
		default:
			return result{}, errLost
		}
	case <-ctx.Done():
		return result{}, ctx.Err()
	case <-r.stopping:
		return result{}, errStopped
	}
}

// leadEpoch runs the leader's duties for one leadership: commit a no-op
// (after which the local table is up to date: ready), then keep the voters
// and the names in line with membership until the leadership ends.
func (r *Registry) leadEpoch(e *epoch) {
	rf := r.raft()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ApplyTimeout)
		_, err := r.proposeLocal(ctx, e, nil)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-e.lost:
			return
		case <-r.stopping:
			return
		default:
		}
	}
	if rf.CurrentTerm() != e.term {
		return // led again in a later term: a new epoch is on its way
	}
	close(e.ready)
	r.leaderBC.notify()
	tick := time.NewTicker(r.cfg.ReconcileInterval)
	defer tick.Stop()
	defer r.settling.Store(false)
	unknown := make(map[string]time.Time)
	rs := &roleState{since: time.Now(), gone: make(map[string]time.Time)}
	wake := time.NewTimer(0) // the roles at once, for a new leader
	defer wake.Stop()
	for {
		changed := r.members.wait()
		r.settling.Store(true)
		now := time.Now()
		r.expireReservations(now)
		members := r.reconcileNames(unknown)
		rs.observe(members, now)
		var next time.Duration
		if rs.due.IsZero() || !now.Before(rs.due) {
			rs.due = time.Time{}
			var more bool
			more, next = r.reconcileRoles(e, rs, members, now)
			if more {
				next = reconfigurePause
				if !rs.changing {
					r.churnBursts.Add(1)
				}
			}
			rs.changing = more
		}
		if !rs.due.IsZero() {
			next = durMin(next, rs.due.Sub(now))
		}
		r.settling.Store(next > 0 && next <= reconfigurePause || !rs.due.IsZero())
		if next > 0 {
			wake.Reset(next)
		}
		select {
		case <-e.lost:
			return
		case <-r.stopping:
			return
		case <-changed:
			// A burst of membership changes is coalesced: the roles are
			// reconsidered ReconcileDebounce after its first change.
			if rs.due.IsZero() {
				rs.due = time.Now().Add(r.cfg.ReconcileDebounce)
			}
		case <-tick.C:
		case <-wake.C:
		}
	}
}

// durMin is the shorter of two waits, 0 meaning none.
func durMin(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return max(b, time.Millisecond)
	case b <= 0:
		return a
	}
	return min(a, b)
}

// reconfigurePause is the wait before the next configuration change after
// one was asked for: raft takes one at a time.
const reconfigurePause = 50 * time.Millisecond

// roleState is what the leader's reconciler remembers between rounds of
// one leadership: since when each member has been gone in gossip.
type roleState struct {
	since time.Time            // the leadership began: heartbeats count from here
	gone  map[string]time.Time // member -> first seen dead or left, while it stays so
	due   time.Time            // a debounced round is due then; zero: none pending
	// changing: the last round asked for a change; a change after a
	// round that asked for none starts a burst (raft_voter_churn_burst_total).
	changing bool
}

// observe records which members are gone, from when.
func (s *roleState) observe(members map[string]Member, now time.Time) {
	for name := range s.gone {
		if m, ok := members[name]; !ok || !m.State.gone() {
			delete(s.gone, name)
		}
	}
	for name, m := range members {
		if _, seen := s.gone[name]; m.State.gone() && !seen {
			s.gone[name] = now
		}
	}
}

// evictAt is when server name may be removed: once it has been gone in
// gossip for the debounce window and silent to this leader's heartbeats
// (and other RPCs) for as long. Zero when it is not gone.
func (r *Registry) evictAt(s *roleState, name string) time.Time {
	gone, ok := s.gone[name]
	if !ok {
		return time.Time{}
	}
	heard := r.trans.lastHeard(name)
	if heard.Before(s.since) {
		heard = s.since
	}
	if heard.Before(gone) {
		heard = gone
	}
	return heard.Add(r.cfg.ReconcileDebounce)
}

// reconcileNames queues the release of names held by nodes membership
// reports dead or left (or has not known for UnknownGrace), and of their
// locks, and returns the member table.
func (r *Registry) reconcileNames(unknown map[string]time.Time) map[string]Member {
	members := memberTable(r.peers.Members(), r.self)
	now := time.Now()
	for _, node := range r.table.nodes() {
		m, known := members[node]
		switch {
		case node == r.cfg.Node:
		case known && m.State.gone():
			r.rel.add(jobKey{kind: jobReleaseNode, node: node})
		case known:
			delete(unknown, node)
		default:
			first, seen := unknown[node]
			if !seen {
				unknown[node] = now
			} else if now.Sub(first) >= r.cfg.UnknownGrace {
				r.rel.add(jobKey{kind: jobReleaseNode, node: node})
			}
		}
	}
	r.reconcileLocks(members, unknown)
	return members
}

// reconcileRoles makes the first configuration change planRoles asks for.
// It reports whether it asked for one, and otherwise how soon a gone
// server becomes evictable (0: none is waiting).
func (r *Registry) reconcileRoles(e *epoch, s *roleState, members map[string]Member, now time.Time) (bool, time.Duration) {
	rf := r.raft()
	f := rf.GetConfiguration()
	if f.Error() != nil {
		return false, 0
	}
	servers := f.Configuration().Servers
	var next time.Duration
	for _, sv := range servers {
		if at := r.evictAt(s, string(sv.ID)); !at.IsZero() && at.After(now) {
			next = durMin(next, at.Sub(now))
		}
	}
	plan := planRoles(planInput{
		servers: servers, members: members, self: r.cfg.Node,
		maxVoters: r.cfg.MaxVoters, maxStandbys: r.cfg.MaxStandbys,
		evictable: func(name string) bool {
			at := r.evictAt(s, name)
			return !at.IsZero() && !now.Before(at)
		},
	})
	if len(plan) == 0 {
		return false, next
	}
	c := plan[0]
	id, addr := raft.ServerID(c.name), raft.ServerAddress(c.name)
	// ReconcileTimeout bounds the pass: how long the change may wait to be
	// taken by Raft's goroutine. As with proposals, the future is not
	// waited on: the next round reads
	// the configuration again. (raft's GetConfiguration carries no index
	// to make the change conditional on; a change planned on a
	// configuration that has changed since repeats one already made.)
	const prev = 0
	switch c.op {
	case opRemove:
		rf.RemoveServer(id, prev, r.cfg.ReconcileTimeout)
	case opAddVoter:
		rf.AddVoter(id, addr, prev, r.cfg.ReconcileTimeout)
	case opAddNonvoter:
		rf.AddNonvoter(id, addr, prev, r.cfg.ReconcileTimeout)
	case opDemote:
		rf.DemoteVoter(id, prev, r.cfg.ReconcileTimeout)
	}
	r.confChanges.Add(1)
	r.log.Info("raft configuration change", "change", c.String(), "term", e.term)
	return true, 0
}

// leaderRead returns nil when a read of the local table, made now, is
// linearizable: this node leads in epoch e, its no-op of the term is
// applied, and a quorum confirmed the leadership after the call began.
func (r *Registry) leaderRead(ctx context.Context, e *epoch) error {
	select {
	case <-e.ready:
	case <-e.lost:
		return errNotLeader
	case <-ctx.Done():
		return ctx.Err()
	case <-r.stopping:
		return errStopped
	}
	if err := r.verify.wait(ctx, r); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errNotLeader
	}
	// One leader per term: leading in e.term now means leading all along.
	if r.lead.Load() != e || r.raft().CurrentTerm() != e.term {
		return errNotLeader
	}
	return nil
}

// verifier shares raft.VerifyLeader rounds between concurrent reads. A
// round is issued after every read that joins it had started, which is
// what makes it confirm leadership "after the read began"; reads that
// arrive while a round is running join the next one.
//
// A VerifyLeader future resolves while raft runs (on a quorum of
// heartbeats, on step-down, or at once on a follower), but one still
// queued in raft when it shuts down never does. So Close calls stop, which
// lets the running round finish before raft shuts down and refuses new
// ones.
type verifier struct {
	mu     sync.Mutex
	next   *round
	busy   bool
	closed bool
	idle   chan struct{} // closed when the running goroutine ends
}

type round struct {
	done chan struct{}
	err  error
}

func (v *verifier) wait(ctx context.Context, r *Registry) error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return errStopped
	}
	if v.next == nil {
		v.next = &round{done: make(chan struct{})}
	}
	rd := v.next
	if !v.busy {
		v.busy = true
		v.idle = make(chan struct{})
		idle, rf := v.idle, r.raft()
		if !r.track.start(func() { defer close(idle); v.run(rf) }) {
			v.busy = false
			v.next = nil
			close(idle)
			v.mu.Unlock()
			return errStopped
		}
	}
	v.mu.Unlock()
	select {
	case <-rd.done:
		return rd.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run issues rounds while reads are waiting.
func (v *verifier) run(rf *raft.Raft) {
	for {
		v.mu.Lock()
		rd := v.next
		v.next = nil
		if rd == nil || v.closed {
			v.busy = false
			v.mu.Unlock()
			if rd != nil {
				rd.err = errStopped
				close(rd.done)
			}
			return
		}
		v.mu.Unlock()
		rd.err = rf.VerifyLeader().Error()
		close(rd.done)
	}
}

// stop refuses new rounds and waits for the running one.
func (v *verifier) stop() {
	v.mu.Lock()
	v.closed = true
	idle := v.idle
	v.mu.Unlock()
	if idle != nil {
		<-idle
	}
}
