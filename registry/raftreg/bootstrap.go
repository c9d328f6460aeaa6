package raftreg

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/internal/msgp"
)

// bootstrapRetry is the pause between two bootstrap attempts when nothing
// changed in membership (a peer did not answer the status query, say).
const bootstrapRetry = 250 * time.Millisecond

// bootstrapLoop runs on a voter-eligible node that started without Raft
// state, with BootstrapExpect above 0. It bootstraps when
//
//   - the alive voter-eligible members it sees have stayed the same for
//     BootstrapStable (a view still filling up does not bootstrap early);
//   - bootstrapSet says this node is one of the BootstrapExpect
//     lowest-named of them;
//   - it has not told, lately, a member outside that set that it is
//     fresh (that member may be bootstrapping a set with this node in
//     it: see promise);
//   - and every other such member answers that it has no Raft state and
//     knows no leader.
//
// All of them compute the same set, so whichever order they start in,
// they bootstrap the same configuration (identical first log entries,
// one cluster). A node that learns of a cluster (state or a leader
// arrives) stops; the leader's reconciler places it.
func (r *Registry) bootstrapLoop() {
	rf := r.raft()
	var view []string
	var since time.Time
	for {
		changed := r.members.wait()
		if r.hasState() {
			return
		}
		now := time.Now()
		members := memberTable(r.peers.Members(), r.self)
		if v := eligibleAlive(members); !slices.Equal(v, view) {
			view, since = v, now
		}
		wait := bootstrapRetry
		if stable := now.Sub(since); stable < r.cfg.BootstrapStable {
			wait = min(wait, r.cfg.BootstrapStable-stable)
		} else if set := bootstrapSet(members, r.cfg.Node, r.cfg.BootstrapExpect); set != nil &&
			!r.promised(set, now) && r.othersFresh(members) {
			conf := raft.Configuration{}
			for _, name := range set {
				conf.Servers = append(conf.Servers, raft.Server{
					Suffrage: raft.Voter, ID: raft.ServerID(name), Address: raft.ServerAddress(name),
				})
			}
			// Checked again, under the lock the status answers take: a
			// member outside set may have been told "fresh" while the
			// others were asked (seen: two clusters of three out of nine
			// nodes, one node's view missing the lowest name).
			r.bootMu.Lock()
			err := errPromised
			if !r.promisedLocked(set, time.Now()) {
				err = rf.BootstrapCluster(conf).Error()
			}
			r.bootMu.Unlock()
			switch {
			case errors.Is(err, errPromised):
			case err == nil:
				r.log.Info("bootstrapped raft", "servers", set)
				r.checkRole()
				return
			case errors.Is(err, raft.ErrCantBootstrap):
				return
			default:
				r.log.Warn("raft bootstrap failed", "err", err)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-r.stopping:
			t.Stop()
			return
		}
		t.Stop()
	}
}

// eligibleAlive returns the alive voter-eligible members, sorted.
func eligibleAlive(members map[string]Member) []string {
	var out []string
	for _, m := range members {
		if m.Voter && m.State == MemberAlive {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// statusReply answers a member's status query, and records when it told
// the member that this node is fresh (no state, no leader): that member
// may bootstrap a set that includes this node. It holds the lock that
// bootstrapLoop holds while it bootstraps, so an answer "fresh" is either
// recorded before the bootstrap's last check or true.
func (r *Registry) statusReply(peer string) reply {
	r.bootMu.Lock()
	defer r.bootMu.Unlock()
	rep := reply{code: codeOK, flag: r.hasState(), leader: r.leaderName()}
	if !rep.flag && rep.leader == "" {
		if r.freshTo == nil {
			r.freshTo = make(map[string]time.Time)
		}
		r.freshTo[peer] = time.Now()
	}
	return rep
}

// promised reports whether this node told a member outside set, within
// the promise window, that it is fresh. That member asked because it was
// about to bootstrap with this node in its set (it saw members this node
// does not, or not yet); bootstrapping set now could make two clusters.
// Once the window passes, the member has bootstrapped (this node then has
// a leader), or gone.
func (r *Registry) promised(set []string, now time.Time) bool {
	r.bootMu.Lock()
	defer r.bootMu.Unlock()
	return r.promisedLocked(set, now)
}

// errPromised: the bootstrap was called off (promised).
var errPromised = errors.New("raftreg: told a member outside the bootstrap set that this node is fresh")

func (r *Registry) promisedLocked(set []string, now time.Time) bool {
	window := r.cfg.BootstrapStable + 2*r.cfg.RPCTimeout
	for peer, at := range r.freshTo {
		if now.Sub(at) < window && !slices.Contains(set, peer) {
			return true
		}
	}
	return false
}

// hasState reports whether this replica has Raft state (a log, a
// snapshot) or knows a leader: what the status query answers.
func (r *Registry) hasState() bool {
	rf := r.raft()
	if rf == nil {
		return false
	}
	return rf.LastIndex() > 0 || r.leaderName() != ""
}

// othersFresh asks every other alive voter-eligible member whether it has
// Raft state or knows a leader, at once, and reports whether all answered
// no.
func (r *Registry) othersFresh(members map[string]Member) bool {
	var names []string
	for _, m := range members {
		if m.Name != r.cfg.Node && m.Voter && m.State == MemberAlive {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	fresh := make([]bool, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh[i] = r.peerFresh(name)
		}()
	}
	wg.Wait()
	return !slices.Contains(fresh, false)
}

func (r *Registry) peerFresh(name string) bool {
	body, err := r.fwd.call(name, func(w *msgp.Writer) { w.WriteByte(opStatus); w.Int(0) }, r.cfg.RPCTimeout, r.stopping)
	if err != nil {
		return false
	}
	rep, err := decodeReply(body)
	return err == nil && rep.code == codeOK && !rep.flag && rep.leader == ""
}
