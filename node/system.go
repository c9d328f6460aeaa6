package node

import (
	"slices"
	"strconv"

	"github.com/wippyd/wippyd/cluster/membership"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// What the Lua system module reads of the node: the cluster view
// (proc.Cluster) and the node's hosts, services and exit (lua.SystemNode).

// clusterView implements proc.Cluster over membership and the Raft
// registry of a clustered node (built after the Lua engine, hence read
// through the node). Every read is local.
type clusterView struct{ n *Node }

var _ proc.Cluster = clusterView{}

func (v clusterView) Addr() (string, bool) {
	ml := v.n.cluster.member.Load()
	if ml == nil {
		return "", false
	}
	return ml.Local().Addr.String(), true
}

func (v clusterView) Members() ([]proc.ClusterMember, bool) {
	ml := v.n.cluster.member.Load()
	if ml == nil {
		return nil, false
	}
	self := v.n.cfg.Node.Name
	var out []proc.ClusterMember
	for _, m := range ml.Members() {
		if !m.State.Up() {
			continue
		}
		out = append(out, proc.ClusterMember{ID: m.Name, Local: m.Name == self, Addr: m.Addr.String(), Meta: memberMeta(m)})
	}
	slices.SortFunc(out, func(a, b proc.ClusterMember) int {
		switch {
		case a.Local:
			return -1
		case b.Local:
			return 1
		}
		return cmpString(a.ID, b.ID)
	})
	return out, true
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// memberMeta is a member's gossip metadata as strings.
func memberMeta(m membership.Member) map[string]string {
	return map[string]string{
		"internode_port": strconv.Itoa(int(m.Meta.InternodePort)),
		"raft_role":      m.Meta.RaftRole.String(),
		"protocol":       strconv.Itoa(int(m.Meta.ProtoMin)) + "-" + strconv.Itoa(int(m.Meta.ProtoMax)),
	}
}

func (v clusterView) Raft() (proc.RaftState, bool) {
	if v.n.cluster.names == nil {
		return proc.RaftState{}, false
	}
	r, ok := v.n.cluster.names.View()
	if !ok {
		return proc.RaftState{}, false
	}
	return proc.RaftState{Role: r.Role, Leader: r.Leader, Term: r.Term, CommitIndex: r.CommitIndex}, true
}

func (v clusterView) RaftStats() (map[string]string, bool) {
	if v.n.cluster.names == nil {
		return nil, false
	}
	return v.n.cluster.names.RaftStats()
}

// systemNode implements lua.SystemNode over the node.
type systemNode struct{ n *Node }

var _ lua.SystemNode = systemNode{}

func (s systemNode) Hosts() []lua.HostInfo {
	rt := s.n.rt
	counts := rt.StateCounts()
	var out []lua.HostInfo
	for _, h := range rt.Hosts() {
		workers := h.Workers
		if workers == 0 {
			workers = rt.Workers()
		}
		hi := lua.HostInfo{ID: h.ID, Workers: workers, QueueDepth: counts[h.ID][proc.Ready]}
		for _, n := range counts[h.ID] {
			hi.Processes += n
		}
		out = append(out, hi)
	}
	return out
}

func (s systemNode) HostProcesses(host string) ([]lua.ProcessInfo, error) {
	if !slices.Contains(s.n.hostIDs(), host) {
		return nil, proc.Errorf(proc.KindNotFound, msg.False, "unknown host: %s", host)
	}
	var out []lua.ProcessInfo
	for _, p := range s.n.rt.Processes(host) {
		out = append(out, lua.ProcessInfo{PID: p.PID.String(), Host: p.Host, State: p.State.String(), Actor: p.Actor})
	}
	return out, nil
}

func (s systemNode) Services() []lua.ServiceInfo {
	if s.n.services == nil {
		return nil
	}
	var st Status
	s.n.services.status(&st)
	out := make([]lua.ServiceInfo, 0, len(st.Services))
	for _, v := range st.Services {
		out = append(out, lua.ServiceInfo{ID: v.ID, Status: v.State, PID: v.PID, Details: v.LastError,
			RetryCount: v.Attempts, Restarts: v.Restarts})
	}
	return out
}

// Exit asks the program running the node to stop it and exit with code
// (ExitRequested); the first request wins.
func (s systemNode) Exit(code int) error {
	select {
	case s.n.exit <- code:
	default:
	}
	return nil
}

// ExitRequested delivers the code of the first system.exit a process
// called: the program running the node (wippyd run) stops it and exits
// with that code. A program embedding a node reads it or ignores it.
func (n *Node) ExitRequested() <-chan int { return n.exit }
