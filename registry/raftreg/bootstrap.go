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
// state. It bootstraps when bootstrapSet says this node is one of the
// BootstrapExpect lowest-named alive voter-eligible members and every other
// alive voter-eligible member answers that it has no Raft state and knows
// no leader. All of them compute the same set, so whichever order they
// start in, they bootstrap the same configuration (identical first log
// entries, one cluster). A node that learns of a cluster (state arrives
// from a leader) stops.
func (r *Registry) bootstrapLoop() {
	rf := r.raft()
	for {
		changed := r.members.wait()
		if r.hasState() {
			return
		}
		members := memberTable(r.peers.Members(), r.self)
		if set := bootstrapSet(members, r.cfg.Node, r.cfg.BootstrapExpect); set != nil && r.othersFresh(members) {
			conf := raft.Configuration{}
			for _, name := range set {
				conf.Servers = append(conf.Servers, raft.Server{
					Suffrage: raft.Voter, ID: raft.ServerID(name), Address: raft.ServerAddress(name),
				})
			}
			err := rf.BootstrapCluster(conf).Error()
			switch {
			case err == nil:
				r.log.Info("bootstrapped raft", "servers", set)
				return
			case errors.Is(err, raft.ErrCantBootstrap):
				return
			default:
				r.log.Warn("raft bootstrap failed", "err", err)
			}
		}
		t := time.NewTimer(bootstrapRetry)
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
