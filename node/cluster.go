package node

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/membership"
	"github.com/wippyd/wippyd/registry/eventual"
	"github.com/wippyd/wippyd/registry/raftreg"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
)

// leaveTimeout bounds the graceful leave broadcast at stop.
const leaveTimeout = 5 * time.Second

// clusterParts are the add-ons of a clustered node: the internode
// transport, the router over it, and memberlist discovery.
type clusterParts struct {
	n     *Node
	boot  uint64
	ep    *transport.Endpoint
	cl    *cluster.Cluster
	ml    *membership.Membership
	role  membership.Role
	joins []string
	names *raftreg.Registry // nil with cluster.raft.enabled false
	ev    *eventual.Plane
	ns    *nameService // the runtime's NameService over names and ev

	isolated atomic.Bool // Isolate was called: no leave at Stop
	// member is ml for the transport's membership questions, which come
	// from its goroutines from Start on, before ml exists.
	member atomic.Pointer[membership.Membership]
	// startedAt is when membership started (UnixNano; 0 before): the
	// gossip liveness check's boot grace counts from it.
	startedAt atomic.Int64
	pace      gossipPace // membership events, for gossip_convergence_seconds
}

// IsMember answers the transport: a peer life is a member while this
// node's member table lists that name with that boot id and the life has
// not left. A dead life still counts (it may be cut off and coming back;
// only membership revives it in the cluster layer).
func (p *clusterParts) IsMember(name string, boot uint64) bool {
	ml := p.member.Load()
	if ml == nil {
		return false
	}
	m, ok := ml.Member(name)
	return ok && m.Meta.BootID == boot && m.State != membership.StateLeft
}

var _ transport.Members = (*clusterParts)(nil)

// newBootID draws the random 64-bit id of this node's life.
func newBootID() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
		return v
	}
	return 1
}

// newClusterParts builds the transport and router; membership is built in
// start, once the transport's port is known (it goes into the node meta).
func newClusterParts(n *Node, cfg Config, client bool) (*clusterParts, error) {
	c := cfg.Cluster
	key, err := c.Membership.Key()
	if err != nil {
		return nil, err
	}
	tc := transport.DefaultConfig()
	tc.Name = cfg.Node.Name
	tc.Cluster = c.label()
	tc.BootID = newBootID()
	tc.SecretKey = key
	tc.MaxFrame = int(c.Internode.MaxFrame)
	tc.SendQueueBytes = int64(c.Internode.SendQueueBytes)
	tc.OneWay = c.Internode.OneWay
	tc.Logger = n.log
	p := &clusterParts{n: n, boot: tc.BootID, joins: c.Membership.JoinAddrs, role: membership.RoleVoter}
	tc.Members = p
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		return nil, err
	}
	in := c.Internode
	tc.BindAddr = net.JoinHostPort(in.bindAddr(c.Membership), strconv.Itoa(in.Port))
	tc.AdvertiseAddr = in.advertise(c.Membership)
	// With bind_port 0 and auto_port, Start's listen tries 7950-7959
	// before an ephemeral port; start advertises the port it got.
	if p.ep, err = transport.New(tc, autoPortNetwork{Network: nw, auto: in.Port == 0 && in.AutoPort}); err != nil {
		return nil, err
	}
	client = client || c.Raft.Role == RoleClient
	switch {
	case client || !c.Raft.Enabled:
		p.role = membership.RoleClient
	case !c.Raft.Eligible:
		p.role = membership.RoleNonVoter // a standby or outside, never a voter
	}
	ccfg := cluster.DefaultConfig()
	ccfg.Node = cfg.Node.Name
	ccfg.Logger = n.log
	ccfg.Members = memberEvents{p}
	if p.cl, err = cluster.New(ccfg, p.ep); err != nil {
		return nil, err
	}
	if c.Raft.Enabled {
		if p.names, err = newNames(p, cfg, client); err != nil {
			return nil, fmt.Errorf("raft registry: %w", err)
		}
	}
	if p.ev, err = newEventual(p, cfg); err != nil {
		return nil, fmt.Errorf("eventual names: %w", err)
	}
	return p, nil
}

// start starts the transport and router, then joins the cluster.
func (p *clusterParts) start(cfg Config, rt *runtime.Runtime) error {
	p.cl.Bind(rt)
	if err := p.ep.Start(); err != nil {
		return fmt.Errorf("internode transport: %w", err)
	}
	_, port, err := net.SplitHostPort(p.ep.Addr())
	if err != nil {
		return err
	}
	iport, _ := strconv.Atoi(port)
	key, _ := cfg.Cluster.Membership.Key()
	mc := membership.DefaultConfig()
	mc.Name = cfg.Node.Name
	cm := cfg.Cluster.Membership
	mc.ClusterName = cfg.Cluster.label()
	mc.BindAddr = cm.BindAddr
	mc.BindPort = cm.BindPort
	mc.AdvertiseAddr = cm.AdvertiseAddr
	mc.JoinAddrs = cm.JoinAddrs
	mc.Profile = membership.Profile(cm.Profile)
	mc.GossipInterval, mc.PushPullInterval = cm.GossipInterval, cm.PushPullInterval
	mc.ProbeInterval, mc.ProbeTimeout, mc.TCPTimeout = cm.ProbeInterval, cm.ProbeTimeout, cm.TCPTimeout
	mc.SuspicionMult, mc.DeadNodeReclaimTime = cm.SuspicionMult, cm.DeadNodeReclaimTime
	mc.SecretKey = key
	mc.Meta = membership.Meta{InternodePort: uint16(iport), ProtoMin: transport.MinProtocolVersion,
		ProtoMax: transport.MaxProtocolVersion, RaftRole: p.role, BootID: p.boot,
		Priority: int32(min(cfg.Cluster.Raft.Priority, math.MaxInt32)), FailureDomain: cfg.Cluster.FailureDomain}
	mc.Logger = p.n.log
	if p.ml, err = membership.New(mc); err != nil {
		return err
	}
	p.member.Store(p.ml)
	p.startedAt.Store(time.Now().UnixNano())
	p.ml.Subscribe(func(membership.Event) { p.pace.event(time.Now()) })
	if err := p.cl.Start(); err != nil {
		return err
	}
	if err := p.ml.Start(); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	if p.names != nil {
		if err := p.names.Start(); err != nil {
			return fmt.Errorf("raft registry: %w", err)
		}
	}
	p.ev.Start()
	p.n.log.Info("cluster ports", "internode", p.ep.Addr(), "membership", p.ml.Local().Addr.String(), "boot", p.boot)
	if len(p.joins) > 0 {
		if n, err := p.ml.Join(p.joins...); err != nil {
			// Not fatal: the rejoin loop keeps trying the join addresses.
			p.n.log.Warn("cluster join failed; retrying in the background", "addrs", p.joins, "err", err)
		} else {
			p.n.log.Info("joined cluster", "contacted", n)
		}
	}
	return nil
}

// stop leaves gracefully (so peers see a leave, not a crash), then stops
// the router, transport and memberlist.
func (p *clusterParts) leave() {
	if p.ml != nil && !p.isolated.Load() {
		if err := p.ml.Leave(leaveTimeout); err != nil {
			p.n.log.Warn("cluster leave", "err", err)
		}
	}
}

// isolate shuts memberlist and the transport without a goodbye (Isolate).
func (p *clusterParts) isolate() {
	p.isolated.Store(true)
	if p.ml != nil {
		if err := p.ml.Shutdown(); err != nil {
			p.n.log.Warn("membership shutdown", "err", err)
		}
	}
	if err := p.ep.Close(); err != nil {
		p.n.log.Warn("internode transport close", "err", err)
	}
}

func (p *clusterParts) stop() {
	p.ev.Close()
	if p.names != nil {
		if err := p.names.Close(); err != nil {
			p.n.log.Warn("raft registry close", "err", err)
		}
	}
	p.cl.Stop()
	if err := p.ep.Close(); err != nil {
		p.n.log.Warn("internode transport close", "err", err)
	}
	if p.ml != nil {
		if err := p.ml.Shutdown(); err != nil {
			p.n.log.Warn("membership shutdown", "err", err)
		}
	}
}

// joined: with join addresses, at least one other member has been seen.
func (p *clusterParts) joined() bool {
	if p.ml == nil {
		return false
	}
	if len(p.joins) == 0 {
		return true
	}
	c := p.ml.Counts()
	return c.Alive+c.Suspect > 1 // a suspect member is still a member
}

func (p *clusterParts) status(st *Status) {
	if st.Names == nil {
		st.Names = map[string]int{}
	}
	p.raftStatus(st)
	st.Names["eventual"] = p.ev.Stats().Names
	st.Eventual = &NameList{}
	entries, n := p.ev.List(MaxStatusNames)
	st.Eventual.Names, st.Eventual.NamesOmitted = nameList(entries, n, "eventual")
	if p.ml == nil {
		return
	}
	for _, m := range p.ml.Members() {
		state := m.State.String()
		if m.Leaving && m.State.Up() {
			state = "leaving" // alive or suspect: it said it is going
		}
		st.Members = append(st.Members, MemberStatus{Name: m.Name, Addr: m.Addr.String(), State: state})
	}
}

func (p *clusterParts) collect(c *collector, ch chan<- prometheus.Metric) {
	p.collectRaft(c, ch)
	p.collectGuide(c, ch)
	evs := p.ev.Stats()
	ch <- prometheus.MustNewConstMetric(c.names, prometheus.GaugeValue, float64(evs.Names), "eventual")
	ch <- prometheus.MustNewConstMetric(c.evRefused, prometheus.CounterValue, float64(evs.Full), "full")
	ch <- prometheus.MustNewConstMetric(c.evRefused, prometheus.CounterValue, float64(evs.Refused), "remote")
	if p.ml != nil {
		// The states partition the members: a suspect (this node's probe
		// of it failed, it has not answered since) is not counted alive.
		counts := p.ml.Counts()
		for state, v := range map[string]int{"alive": counts.Alive, "suspect": counts.Suspect, "dead": counts.Dead, "left": counts.Left} {
			ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(v), state)
		}
	}
	for _, peer := range p.ep.Stats().Peers {
		ch <- prometheus.MustNewConstMetric(c.ibytes, prometheus.CounterValue, float64(peer.BytesIn), peer.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.ibytes, prometheus.CounterValue, float64(peer.BytesOut), peer.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(peer.Reconnects), peer.Name)
		duplex := 0.0
		if peer.Duplex {
			duplex = 1
		}
		ch <- prometheus.MustNewConstMetric(c.duplex, prometheus.GaugeValue, duplex, peer.Name)
	}
}

// memberEvents adapts membership events to the cluster's member source.
type memberEvents struct{ p *clusterParts }

func (m memberEvents) Subscribe(f func(cluster.MemberEvent)) (stop func()) {
	if m.p.ml == nil {
		return func() {}
	}
	self := m.p.n.cfg.Node.Name
	return m.p.ml.Subscribe(func(ev membership.Event) {
		if ev.Member.Name == self {
			return
		}
		out := cluster.MemberEvent{Node: ev.Member.Name, Boot: ev.Member.Meta.BootID}
		switch ev.Kind {
		case membership.EventJoined, membership.EventUpdated:
			out.Kind, out.Addr = cluster.MemberUp, ev.Member.InternodeAddr()
		case membership.EventFailed:
			out.Kind = cluster.MemberFailed
		case membership.EventLeft:
			out.Kind = cluster.MemberLeft
		default:
			return
		}
		f(out)
	})
}
