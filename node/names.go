package node

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wippyd/wippyd/cluster/membership"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/eventual"
	"github.com/wippyd/wippyd/registry/raftreg"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// nameService is the runtime's NameService on a clustered node: the Raft
// planes (CONSISTENT, and STRONG) of registry/raftreg, nil with
// cluster.raft.enabled false, and the EVENTUAL plane of registry/eventual.
// Resolve reads the planes most authoritative first; nothing here waits
// for the network but the Raft writes.
type nameService struct {
	raft     *raftreg.Registry
	eventual *eventual.Plane
}

var _ runtime.NameService = (*nameService)(nil)

// NewNameService returns the runtime's NameService over a Raft registry
// (nil: CONSISTENT and STRONG answer "no cluster registry") and an EVENTUAL
// plane, resolving in that order, as a node composes them; for programs
// and tests that build the planes themselves.
func NewNameService(r *raftreg.Registry, ev *eventual.Plane) runtime.NameService {
	return &nameService{raft: r, eventual: ev}
}

func (s *nameService) Register(ctx context.Context, scope proc.Scope, name string, p pid.PID) error {
	switch {
	case scope == proc.ScopeEventual:
		return s.eventual.Register(ctx, name, p)
	case s.raft == nil:
		return raftreg.Disabled{}.Register(ctx, name, p)
	case scope == proc.ScopeStrong:
		return s.raft.RegisterStrong(ctx, name, p)
	}
	return s.raft.Register(ctx, name, p)
}

func (s *nameService) Unregister(ctx context.Context, scope proc.Scope, name string, owner pid.PID) error {
	switch {
	case scope == proc.ScopeEventual:
		return s.eventual.Unregister(ctx, name, owner)
	case s.raft == nil:
		return raftreg.Disabled{}.Unregister(ctx, name, owner)
	case scope == proc.ScopeStrong:
		return s.raft.UnregisterStrong(ctx, name, owner)
	}
	return s.raft.Unregister(ctx, name, owner)
}

func (s *nameService) Holder(scope proc.Scope, name string) (pid.PID, bool) {
	switch {
	case scope == proc.ScopeEventual:
		return s.eventual.Resolve(name)
	case s.raft == nil:
		return pid.PID{}, false
	}
	return s.raft.Holder(name, scope == proc.ScopeStrong)
}

// conflict is the check a STRONG reservation makes on this node: another
// plane binds the name to another process (a cluster-wide name would
// shadow it, so the reservation is refused rather than change what the
// name reaches here).
func (s *nameService) conflict(local func(string) (pid.PID, bool)) raftreg.ConflictCheck {
	return func(name string, p pid.PID) (pid.PID, string, bool) {
		if h, ok := s.eventual.Resolve(name); ok && h != p {
			return h, "eventual", true
		}
		if h, ok := local(name); ok && h != p {
			return h, "local", true
		}
		return pid.PID{}, "", false
	}
}

func (s *nameService) Resolve(name string) (pid.PID, bool) {
	if s.raft != nil {
		if p, ok := s.raft.Resolve(name); ok {
			return p, true
		}
	}
	return s.eventual.Resolve(name)
}

func (s *nameService) ReleasePID(p pid.PID) {
	if s.raft != nil {
		s.raft.ReleasePID(p)
	}
	s.eventual.ReleasePID(p)
}

// ReleaseNode: the Raft leader releases a dead node's names; EVENTUAL
// drops them itself when membership reports the node gone.
func (s *nameService) ReleaseNode(node string) {
	if s.raft != nil {
		s.raft.ReleaseNode(node)
	}
}

func (s *nameService) OnRevoke(f func(name string, p pid.PID)) {
	if s.raft != nil {
		s.raft.OnRevoke(f)
	}
	s.eventual.OnRevoke(f)
}

func (s *nameService) OnClaim(f func(name string, p pid.PID)) {
	if s.raft != nil {
		s.raft.OnClaim(f)
	}
}

// Names returns the cluster-wide name table (the CONSISTENT scope), the
// one process.registry reaches: on a node without one (standalone, or
// cluster.raft.enabled false) every call fails with
// registry.ErrNoClusterRegistry.
func (n *Node) Names() registry.Registry {
	if n.cluster == nil || n.cluster.names == nil {
		return raftreg.Disabled{}
	}
	return n.cluster.names
}

// NameService returns the cluster-wide names by scope, as processes reach
// them (EVENTUAL, CONSISTENT, STRONG); nil on a standalone node.
func (n *Node) NameService() runtime.NameService {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.ns
}

// newNames builds the cluster-wide name registry over the internode
// transport's raft and forwarding streams (before the transport starts).
//
// The Raft store is checked here, before anything starts: a node whose
// Raft store is damaged or lost must not even join the membership.
func newNames(p *clusterParts, cfg Config, client bool) (*raftreg.Registry, error) {
	rc := raftreg.DefaultConfig()
	rc.Node = cfg.Node.Name
	rc.DataDir = cfg.Cluster.Raft.DataDir
	rc.InMemory = cfg.Cluster.Raft.InMemory
	// A `run -x` node stays outside the Raft configuration: a client
	// whose copy of the table a member feeds.
	r := cfg.Cluster.Raft
	rc.Voter, rc.Client = !client && r.Eligible, client
	rc.BootstrapExpect = r.BootstrapExpect
	rc.MaxVoters, rc.MaxStandbys = r.MaxVoters, r.MaxStandbys
	rc.Priority, rc.FailureDomain = r.Priority, cfg.Cluster.FailureDomain
	rc.ReconcileDebounce, rc.ReconcileTimeout = r.ReconcileDebounce, r.ReconcileTimeout
	rc.HeartbeatTimeout, rc.ElectionTimeout, rc.CommitTimeout = r.HeartbeatTimeout, r.ElectionTimeout, r.CommitTimeout
	// The leader lease must not exceed the heartbeat timeout; half of it
	// is raftreg's default ratio.
	rc.LeaderLeaseTimeout = min(rc.LeaderLeaseTimeout, r.HeartbeatTimeout/2)
	rc.SnapshotThreshold, rc.SnapshotInterval, rc.SnapshotRetain = r.SnapshotThreshold, r.SnapshotInterval, r.SnapshotRetain
	rc.TrailingLogs, rc.MaxAppendEntries = r.TrailingLogs, r.MaxAppendEntries
	rc.LeaderProbeInterval, rc.LeaderProbeGrace = r.LeaderProbeInterval, r.LeaderProbeGrace
	rc.ApplyTimeout = r.ApplyTimeout
	rc.Logger = p.n.log
	if err := raftreg.CheckStore(rc); err != nil {
		return nil, err
	}
	return raftreg.New(rc, p.ep, &raftPeers{p: p})
}

// raftPeers adapts membership to the registry's peer source: Raft voters
// follow membership. It reads the membership built at start; before that
// it knows no members.
type raftPeers struct {
	p  *clusterParts
	mu sync.Mutex
}

func (r *raftPeers) Members() []raftreg.Member {
	if r.p.ml == nil {
		return nil
	}
	var out []raftreg.Member
	for _, m := range r.p.ml.Members() {
		st := raftreg.MemberAlive
		switch m.State {
		case membership.StateSuspect:
			st = raftreg.MemberSuspect
		case membership.StateDead:
			st = raftreg.MemberDead
		case membership.StateLeft:
			st = raftreg.MemberLeft
		}
		out = append(out, raftreg.Member{Name: m.Name, Voter: m.Meta.RaftRole == membership.RoleVoter,
			Client: m.Meta.RaftRole == membership.RoleClient, State: st,
			Priority: int(m.Meta.Priority), FailureDomain: m.Meta.FailureDomain})
	}
	return out
}

func (r *raftPeers) OnChange(f func()) (cancel func()) {
	if r.p.ml == nil {
		return func() {}
	}
	return r.p.ml.Subscribe(func(membership.Event) { f() })
}

// leaderKnown: the registry has a Raft leader this node reaches
// (readiness). A member of the configuration counts its leader unreachable
// once it has not heard from it for leader_probe_interval times
// leader_probe_grace (leaderReachable).
func (p *clusterParts) leaderKnown() bool {
	if p.names == nil {
		return true
	}
	r := p.n.cfg.Cluster.Raft
	window := r.LeaderProbeInterval * time.Duration(r.LeaderProbeGrace)
	return leaderReachable(p.names.Stats(), time.Now(), window)
}

// leaderReachable is Wippy's leader probe over Raft's own contact time: a
// voter or standby follower checks every leader_probe_interval whether it
// has heard from the leader since the last check, and leader_probe_grace
// misses in a row declare the leader unreachable, which is a last contact
// older than window. A leader reaches itself; a node outside the
// configuration learns the leader from a member's feed and only needs to
// know one; so does a member with no contact time yet (it learnt the
// leader's name from a refused AppendEntries).
func leaderReachable(s raftreg.Stats, now time.Time, window time.Duration) bool {
	switch {
	case s.Leader == "":
		return false
	case s.RaftState == uint8(raft.Leader), s.Role != raftreg.RoleVoter && s.Role != raftreg.RoleStandby:
		return true
	}
	return s.LastContact.IsZero() || now.Sub(s.LastContact) <= window
}

func (p *clusterParts) raftStatus(st *Status) {
	if p.names == nil {
		return
	}
	s := p.names.Stats()
	states := [...]string{"follower", "candidate", "leader", "shutdown", "client"}
	state := "unknown"
	if int(s.RaftState) < len(states) {
		state = states[s.RaftState]
	}
	st.Raft = &RaftStatus{State: state, Leader: s.Leader, CommitIndex: s.CommitIndex}
	st.Raft.Names, st.Raft.NamesOmitted = replicaNames(p.names)
	st.Names["consistent"] = s.Names
	st.Names["strong"] = s.Strong
}

// newEventual builds the EVENTUAL plane over the internode transport's
// names stream (before the transport starts).
func newEventual(p *clusterParts, cfg Config) (*eventual.Plane, error) {
	ec := eventual.DefaultConfig()
	ec.Node = cfg.Node.Name
	ec.Logger = p.n.log
	return eventual.New(ec, p.ep, upPeers{p})
}

// upPeers adapts membership to the EVENTUAL plane: a node's names count
// while it is alive or suspect.
type upPeers struct{ p *clusterParts }

func (u upPeers) Up() []string {
	if u.p.ml == nil {
		return nil
	}
	var out []string
	for _, m := range u.p.ml.Members() {
		if m.State.Up() {
			out = append(out, m.Name)
		}
	}
	return out
}

func (u upPeers) OnChange(f func()) (cancel func()) {
	if u.p.ml == nil {
		return func() {}
	}
	return u.p.ml.Subscribe(func(membership.Event) { f() })
}

// replicaNames lists the names of this node's replica with their owners,
// sorted by name; past MaxStatusNames it only counts them. It reads the
// local replica and asks nothing of the leader, so it answers in a
// minority partition too and never waits.
func replicaNames(r *raftreg.Registry) ([]NameStatus, int) {
	entries, n := r.Local(MaxStatusNames)
	return nameList(entries, n, "consistent")
}

// nameList turns a plane's listing (nil past MaxStatusNames, and the
// count) into the status's; scope is the plane's, strong names excepted.
func nameList(entries []registry.Entry, n int, scope string) ([]NameStatus, int) {
	names := make([]NameStatus, 0, len(entries))
	if n > MaxStatusNames {
		return names, n
	}
	for _, e := range entries {
		ns := NameStatus{Name: e.Name, PID: e.PID.String(), Scope: scope, Pending: e.Pending}
		if e.Strong {
			ns.Scope = "strong"
		}
		names = append(names, ns)
	}
	return names, 0
}

func (p *clusterParts) collectRaft(c *collector, ch chan<- prometheus.Metric) {
	if p.names == nil {
		return
	}
	s := p.names.Stats()
	ch <- prometheus.MustNewConstMetric(c.raftState, prometheus.GaugeValue, float64(s.RaftState))
	ch <- prometheus.MustNewConstMetric(c.raftCommit, prometheus.GaugeValue, float64(s.CommitIndex))
	ch <- prometheus.MustNewConstMetric(c.names, prometheus.GaugeValue, float64(s.Names), "consistent")
	ch <- prometheus.MustNewConstMetric(c.names, prometheus.GaugeValue, float64(s.Strong), "strong")
}

// Locks returns the cluster-wide lock table (system.lock), for calls from
// outside any process; nil on a node without Raft.
func (n *Node) Locks() runtime.LockService {
	if n.cluster == nil || n.cluster.names == nil {
		return nil
	}
	return n.cluster.names
}
