package raftreg

import "github.com/hashicorp/raft"

// View is this node's Raft state as system.raft reports it.
type View struct {
	// Role is "leader", "voter", "standby" (a non-voting member of the
	// configuration) or "non-member".
	Role        string
	Leader      string
	Term        uint64
	CommitIndex uint64
}

// View returns this node's Raft state, read locally: the role comes from
// the latest configuration this replica holds (asked of Raft's own
// goroutine, never of another node). ok is false before Start and after
// Close.
func (r *Registry) View() (View, bool) {
	rf := r.raft()
	if rf == nil || !r.running() {
		return View{}, false
	}
	v := View{Role: "non-member", Leader: r.leaderName(), Term: rf.CurrentTerm(), CommitIndex: rf.CommitIndex()}
	if rf.State() == raft.Leader {
		v.Role = "leader"
		return v, true
	}
	f := rf.GetConfiguration()
	if f.Error() != nil {
		return v, true
	}
	for _, s := range f.Configuration().Servers {
		if s.ID != raft.ServerID(r.cfg.Node) {
			continue
		}
		v.Role = "standby"
		if s.Suffrage == raft.Voter {
			v.Role = "voter"
		}
	}
	return v, true
}

// RaftStats returns Raft's raw statistics (its Stats map); ok is false
// before Start and after Close.
func (r *Registry) RaftStats() (map[string]string, bool) {
	rf := r.raft()
	if rf == nil || !r.running() {
		return nil, false
	}
	return rf.Stats(), true
}
