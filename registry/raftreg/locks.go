package raftreg

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Locks (system.lock): the FSM's lock table (registry/fsm/lock.go), set
// and released through the leader like names. At most one process holds
// a lock at any instant, cluster-wide, including across partitions and a
// leader's death, because a lock held on a node that the cluster gave up
// on is released only after its node has stopped its holders:
//
//   - Fence: a node out of contact with a Raft leader for Config.LockFence
//     (a follower whose leader has been silent that long, or a leader that
//     lost its quorum and stepped down) terminates every local process
//     holding a lock (OnLost). So does a node whose replica applies the
//     release of its own names (the cluster declared it dead while it
//     could still hear the leader).
//   - Grace: when a node is declared dead (ReleaseNode), the leader notes
//     the locks its processes hold and releases each, conditional on its
//     holder, Config.LockGrace later. LockGrace is longer than LockFence
//     plus the time a returning node needs to apply the log, so by then
//     the holders are gone or fenced; a lock a new life of the node took
//     meanwhile stays.
//   - A process that ends releases its locks with its names (ReleasePID).
//
// So a lock of a dead node is free again after its death is detected plus
// LockGrace, and a holder cut off from the cluster is terminated after
// LockFence even if it is still running.

// AcquireLock takes lock name for p, failing fast: nil when p holds it
// (it did already, or does now), ALREADY_EXISTS when another process
// does, UNAVAILABLE without a leader and quorum (nothing proposed), or
// UNAVAILABLE wrapping registry.ErrUnknownOutcome (p may hold it: its
// exit releases it, and acquiring again tells).
func (r *Registry) AcquireLock(ctx context.Context, name string, p pid.PID) error {
	if err := checkLock(r, name, p); err != nil {
		return wrap(err, name)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	r.claim(p)
	res, err := r.change(ctx, fsm.LockAcquire{Name: name, PID: p}, true)
	mayHold := err == nil && res.err == nil || errors.Is(err, registry.ErrUnknownOutcome)
	if mayHold {
		r.fence.hold(name, p)
	}
	r.settle(p, mayHold)
	if err != nil {
		return wrap(err, name)
	}
	return registry.WrapHeld(res.err, name, res.owner)
}

// ReleaseLock releases lock name if owner holds it and reports whether it
// did: false when nobody holds it or another process does.
func (r *Registry) ReleaseLock(ctx context.Context, name string, owner pid.PID) (bool, error) {
	if err := checkLock(r, name, owner); err != nil {
		return false, wrap(err, name)
	}
	ctx, cancel := r.bound(ctx)
	defer cancel()
	res, err := r.change(ctx, fsm.LockRelease{Name: name, Owner: owner}, true)
	if err != nil {
		return false, wrap(err, name)
	}
	switch res.err {
	case nil:
		r.fence.drop(name, owner)
		return true, nil
	case registry.ErrNotFound, registry.ErrNotOwner:
		r.fence.drop(name, owner)
		return false, nil
	}
	return false, wrap(res.err, name)
}

func checkLock(r *Registry, name string, p pid.PID) error {
	if err := registry.ValidateName(name); err != nil {
		return err
	}
	if err := registry.ValidatePID(p); err != nil {
		return err
	}
	return r.gate()
}

// LockHolder returns the holder of lock name in the local replica.
func (r *Registry) LockHolder(name string) (pid.PID, bool) {
	r.table.mu.RLock()
	defer r.table.mu.RUnlock()
	return r.table.f.Lock(name)
}

// OnLockLost sets the callback for a live local process whose lock the
// fence took (its node lost the cluster): the runtime terminates it.
func (r *Registry) OnLockLost(f func(name string, p pid.PID)) { r.fence.lost.Store(&f) }

// fence keeps what this node must stop when it loses the cluster: the
// locks its processes hold (as its replica says, and as acquired here
// before the replica applied them), and the ones already fenced.
type fence struct {
	mu     sync.Mutex
	held   map[string]pid.PID // acquired through this node
	fenced map[pid.PID]bool
	lost   atomic.Pointer[func(string, pid.PID)]
	probed atomic.Int64 // a client: when the leader last answered, Unix ns
}

func (f *fence) hold(name string, p pid.PID) {
	f.mu.Lock()
	if f.held == nil {
		f.held = map[string]pid.PID{}
	}
	f.held[name] = p
	f.mu.Unlock()
}

func (f *fence) drop(name string, p pid.PID) {
	f.mu.Lock()
	if f.held[name] == p {
		delete(f.held, name)
	}
	f.mu.Unlock()
}

// forget drops what p held: it ended.
func (f *fence) forget(p pid.PID) {
	f.mu.Lock()
	for n, q := range f.held {
		if q == p {
			delete(f.held, n)
		}
	}
	delete(f.fenced, p)
	f.mu.Unlock()
}

// fenceLoop checks the node's contact with the cluster every quarter of
// LockFence and fences the local holders when it is lost. A client (no
// Raft) has contact while the leader answers it: with holders, it asks
// the leader to confirm its leadership each round.
func (r *Registry) fenceLoop() {
	t := time.NewTicker(r.cfg.LockFence / 4)
	defer t.Stop()
	for {
		select {
		case <-r.stopping:
			return
		case <-t.C:
			if r.fedCopy() && len(r.localHolders()) > 0 {
				r.probeLeader()
			}
			if now := time.Now(); !r.inContact(now) {
				r.fenceAll(r.contactLost(now))
			}
		}
	}
}

// probeLeader records when the leader last confirmed, to this client,
// that it leads (a linearizable read of the commit index).
func (r *Registry) probeLeader() {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.LockFence/4)
	defer cancel()
	start := time.Now()
	if _, err := r.read(ctx, request{op: opReadIndex}); err == nil {
		r.fence.probed.Store(start.UnixNano())
	}
}

// inContact reports whether this node heard from a leader (or was one,
// with its quorum) within LockFence.
func (r *Registry) inContact(now time.Time) bool {
	rf := r.raft()
	if rf == nil || r.fedCopy() {
		p := r.fence.probed.Load()
		return p != 0 && now.Sub(time.Unix(0, p)) < r.cfg.LockFence
	}
	if rf.State() == raft.Leader {
		return true // a leader without its quorum steps down within LeaderLeaseTimeout
	}
	last := rf.LastContact()
	return !last.IsZero() && now.Sub(last) < r.cfg.LockFence
}

// contactLost says why inContact is false, for the fence's warning: how
// long since the leader was last heard and what Raft thinks now, which
// tells a partition from an election that took longer than LockFence.
func (r *Registry) contactLost(now time.Time) string {
	rf := r.raft()
	if rf == nil || r.fedCopy() {
		if p := r.fence.probed.Load(); p != 0 {
			return fmt.Sprintf("no contact with a raft leader: its last answer to a probe began %v ago", now.Sub(time.Unix(0, p)).Round(time.Millisecond))
		}
		return "no contact with a raft leader: it never answered a probe"
	}
	last, since := rf.LastContact(), "never"
	if !last.IsZero() {
		since = now.Sub(last).Round(time.Millisecond).String() + " ago"
	}
	_, leader := rf.LeaderWithID()
	return fmt.Sprintf("no contact with a raft leader: last heard %s, raft state %s, leader %q, term %d", since, rf.State(), leader, rf.CurrentTerm())
}

// localHolders returns the locks held by processes of this node, as the
// replica says and as acquired here.
func (r *Registry) localHolders() map[string]pid.PID {
	holders := map[string]pid.PID{}
	r.table.mu.RLock()
	for _, l := range r.table.f.Locks(r.cfg.Node) {
		holders[l.Name] = l.PID
	}
	r.table.mu.RUnlock()
	r.fence.mu.Lock()
	for n, p := range r.fence.held {
		holders[n] = p
	}
	r.fence.mu.Unlock()
	return holders
}

// fenceAll terminates every local lock holder not fenced yet.
func (r *Registry) fenceAll(why string) {
	holders := r.localHolders()
	f := &r.fence
	f.mu.Lock()
	if f.fenced == nil {
		f.fenced = map[pid.PID]bool{}
	}
	var todo []fsm.LockEntry
	for n, p := range holders {
		if !f.fenced[p] {
			f.fenced[p] = true
			todo = append(todo, fsm.LockEntry{Name: n, PID: p})
		}
	}
	f.mu.Unlock()
	lost := f.lost.Load()
	for _, l := range todo {
		r.log.Warn("lock fenced: its holder is terminated", "lock", l.Name, "holder", l.PID.String(), "why", why)
		if lost != nil {
			(*lost)(l.Name, l.PID)
		}
	}
}

// releaseLocksLater notes the locks processes of node hold (it was
// declared dead) and releases each, conditional on its holder, LockGrace
// from now. Leader only, like the release of its names.
func (r *Registry) releaseLocksLater(node string) {
	r.table.mu.RLock()
	locks := r.table.f.Locks(node)
	r.table.mu.RUnlock()
	due := time.Now().Add(r.cfg.LockGrace)
	for _, l := range locks {
		r.rel.addAt(jobKey{kind: jobLockRelease, name: l.Name, pid: l.PID}, due)
	}
}

// reconcileLocks schedules the release of the locks of every node that
// membership reports dead or left, or has not known for UnknownGrace
// (unknown holds when the leader first missed each), as the leader's
// reconciliation does for names.
func (r *Registry) reconcileLocks(members map[string]Member, unknown map[string]time.Time) {
	r.table.mu.RLock()
	all := r.table.f.Locks("")
	r.table.mu.RUnlock()
	seen := map[string]bool{}
	for _, l := range all {
		node := l.PID.Node
		if seen[node] || node == r.cfg.Node {
			continue
		}
		seen[node] = true
		m, known := members[node]
		first, missed := unknown[node]
		if known && m.State.gone() || !known && missed && time.Since(first) >= r.cfg.UnknownGrace {
			r.releaseLocksLater(node)
		}
	}
}
