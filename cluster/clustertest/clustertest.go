package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/groups"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
)

// DefaultHost is the first (default) host of every node.
const DefaultHost = "app:processes"

// Option changes how the nodes are built.
type Option func(*options)

type options struct {
	hosts     []runtime.HostConfig
	catalog   runtime.Catalog
	transport func(*transport.Config)
	cluster   func(*cluster.Config)
	runtime   func(node string, c *runtime.Config)
	groups    func(*groups.Config)
	logger    *slog.Logger
}

// Catalog sets the entry catalog of every node (for spawns by entry id,
// remote ones included).
func Catalog(c runtime.Catalog) Option { return func(o *options) { o.catalog = c } }

// Hosts adds hosts after DefaultHost on every node.
func Hosts(ids ...string) Option {
	return func(o *options) {
		for _, id := range ids {
			o.hosts = append(o.hosts, runtime.HostConfig{ID: id})
		}
	}
}

// TransportConfig changes every node's transport config.
func TransportConfig(f func(*transport.Config)) Option { return func(o *options) { o.transport = f } }

// RuntimeConfig changes the runtime config of the node called node (its
// hosts, policies, strict mode...), at every start.
func RuntimeConfig(f func(node string, c *runtime.Config)) Option {
	return func(o *options) { o.runtime = f }
}

// ClusterConfig changes every node's cluster config.
func ClusterConfig(f func(*cluster.Config)) Option { return func(o *options) { o.cluster = f } }

// Groups gives every node process groups with the scopes given, over its
// transport (Node.Groups); f, if not nil, changes each node's config.
func Groups(f func(*groups.Config), scopes ...string) Option {
	return func(o *options) {
		o.groups = func(c *groups.Config) {
			for _, s := range scopes {
				c.Scopes = append(c.Scopes, groups.Scope{ID: s})
			}
			if f != nil {
				f(c)
			}
		}
	}
}

// Logger sends every node's logs to l. Default: the last few thousand
// lines are kept and printed if the test fails.
func Logger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Cluster is n nodes in one process.
type Cluster struct {
	t     testing.TB
	opts  options
	logs  *logRing // when no Logger option was given
	Net   *memnet.Network
	nodes []*Node
	cuts  map[[2]int]bool // pairs partitioned by Partition
}

// Node is one node of the harness; its fields change when it restarts.
type Node struct {
	Index    int
	Name     string
	Runtime  *runtime.Runtime
	Cluster  *cluster.Cluster
	Endpoint *transport.Endpoint
	// Groups is the node's process groups (with the Groups option).
	Groups *groups.Groups
	// Members is the fake membership this node's cluster follows.
	Members *Members
	// Boot is the boot id of the current life; Life counts restarts.
	Boot  uint64
	Life  int
	Alive bool
}

// New starts n nodes named "n0".."n<n-1>", connects every pair and waits
// until every session is up.
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, Net: memnet.New(), cuts: map[[2]int]bool{}}
	c.opts.hosts = []runtime.HostConfig{{ID: DefaultHost}}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.logger == nil {
		c.logs = newLogRing()
		c.opts.logger = slog.New(c.logs.handler())
	}
	t.Cleanup(func() {
		c.stopAll()
		if c.logs != nil && t.Failed() {
			for _, l := range c.logs.dump() {
				t.Log(l)
			}
		}
	})
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("n%d", i)
	}
	for i := range n {
		node := &Node{Index: i, Name: names[i], Members: &Members{}}
		c.nodes = append(c.nodes, node)
		if err := c.start(node); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range c.nodes {
		for _, b := range c.nodes {
			if a != b {
				a.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: b.Name, Addr: b.Endpoint.Addr(), Boot: b.Boot})
			}
		}
	}
	c.WaitConnected()
	return c
}

// Node returns node i.
func (c *Cluster) Node(i int) *Node { return c.nodes[i] }

// Len returns the number of nodes.
func (c *Cluster) Len() int { return len(c.nodes) }

// start builds and starts a life of node.
func (c *Cluster) start(node *Node) error {
	o := &c.opts
	log := o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tc := transport.DefaultConfig()
	tc.Name, tc.Cluster, tc.BindAddr = node.Name, "clustertest", node.Name
	tc.DialTimeout, tc.HandshakeTimeout = 2*time.Second, 2*time.Second
	tc.ReadTimeout, tc.KeepAlive = 5*time.Second, time.Second
	tc.BackoffMax = 100 * time.Millisecond
	tc.Logger = log
	if o.transport != nil {
		o.transport(&tc)
	}
	ep, err := transport.New(tc, c.Net.Host(node.Name))
	if err != nil {
		return fmt.Errorf("clustertest: %s: %w", node.Name, err)
	}
	cc := cluster.DefaultConfig()
	cc.Node, cc.Members, cc.Logger = node.Name, node.Members, log
	if o.cluster != nil {
		o.cluster(&cc)
	}
	cl, err := cluster.New(cc, ep)
	if err != nil {
		ep.Close()
		return err
	}
	var grp *groups.Groups
	if o.groups != nil {
		gc := groups.DefaultConfig()
		gc.Node, gc.Boot, gc.Logger = node.Name, ep.Boot(), log
		o.groups(&gc)
		if grp, err = groups.New(gc, ep); err != nil {
			ep.Close()
			return err
		}
	}
	rc := runtime.DefaultConfig()
	rc.Node, rc.Workers, rc.Hosts, rc.Catalog = node.Name, 2, slices.Clone(o.hosts), o.catalog
	if grp != nil {
		rc.Groups = grp
	}
	rc.Router, rc.Logger = cl, log
	// Distinct sequence ranges per life: a restarted node never reuses a
	// PID of an earlier life, however fast the test restarts it.
	rc.SeqStart = uint64(node.Life+1) << 40
	if o.runtime != nil {
		o.runtime(node.Name, &rc)
	}
	rt, err := runtime.New(rc)
	if err != nil {
		ep.Close()
		return err
	}
	cl.Bind(rt)
	if grp != nil {
		grp.Bind(rt)
		grp.Start()
	}
	rt.Start()
	if err := ep.Start(); err != nil {
		stopRuntime(rt)
		return err
	}
	if err := cl.Start(); err != nil {
		ep.Close()
		stopRuntime(rt)
		return err
	}
	node.Runtime, node.Cluster, node.Endpoint, node.Boot, node.Alive = rt, cl, ep, ep.Boot(), true
	node.Groups = grp
	return nil
}

// stop ends node's life at once: its cluster stops routing, its endpoint
// closes (queued frames are lost), its runtime stops.
func (c *Cluster) stop(node *Node) {
	if !node.Alive {
		return
	}
	node.Alive = false
	node.Cluster.Stop()
	node.Endpoint.Close()
	stopRuntime(node.Runtime)
	if node.Groups != nil {
		node.Groups.Stop()
	}
}

func stopRuntime(rt *runtime.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rt.Stop(ctx)
}

func (c *Cluster) stopAll() {
	for _, n := range c.nodes {
		if n.Alive {
			n.Cluster.Stop()
		}
	}
	for _, n := range c.nodes {
		if n.Alive {
			n.Endpoint.Close()
		}
	}
	for _, n := range c.nodes {
		if n.Alive {
			n.Alive = false
			stopRuntime(n.Runtime)
			if n.Groups != nil {
				n.Groups.Stop()
			}
		}
	}
}

// Partition cuts node a off from the nodes in others (from every other
// node when none is given), at the network: connections reset, dials
// fail. No member event is sent, so the nodes queue traffic for each
// other (up to the transport's send queue) until Heal.
func (c *Cluster) Partition(a int, others ...int) {
	if len(others) == 0 {
		for i := range c.nodes {
			if i != a {
				others = append(others, i)
			}
		}
	}
	for _, b := range others {
		c.Net.Partition(c.nodes[a].Name, c.nodes[b].Name)
		c.cuts[pair(a, b)] = true
	}
}

// Heal undoes every Partition between live nodes and waits until their
// sessions are up again.
func (c *Cluster) Heal() {
	for p := range c.cuts {
		if c.nodes[p[0]].Alive && c.nodes[p[1]].Alive {
			c.Net.Heal(c.nodes[p[0]].Name, c.nodes[p[1]].Name)
			delete(c.cuts, p)
		}
	}
	c.WaitConnected()
}

func pair(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// Kill stops node i abruptly — nothing more leaves it — and tells every
// other node that it failed (as memberlist would), so their links and
// monitors to its processes fire with noconnection.
func (c *Cluster) Kill(i int) {
	node := c.nodes[i]
	if !node.Alive {
		return
	}
	c.isolate(i)
	c.stop(node)
	for _, o := range c.nodes {
		if o.Alive {
			o.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberFailed, Node: node.Name, Boot: node.Boot})
		}
	}
}

// Pause freezes node i as SIGSTOP or docker pause would look from the
// other nodes (memnet.Pause: connections stay open, bytes to and from it
// are held back), and tells every other node it failed, as membership
// does once the pause outlasts failure detection: their links and
// monitors to its processes fire with noconnection and their sessions
// with it are abandoned. The node itself sees no member event: a paused
// node does not notice. Keep the pause under the transport's read and
// handshake timeouts (2s), since the node's own timers keep running.
func (c *Cluster) Pause(i int) {
	node := c.nodes[i]
	c.Net.Pause(node.Name)
	for _, o := range c.nodes {
		if o != node && o.Alive {
			o.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberFailed, Node: node.Name, Boot: node.Boot})
		}
	}
}

// Resume lets node i's held traffic through and tells the others it is
// alive again, same life (the refutation membership spreads once a
// paused node runs again). It does not wait: see WaitConnected.
func (c *Cluster) Resume(i int) {
	node := c.nodes[i]
	c.Net.Resume(node.Name)
	for _, o := range c.nodes {
		if o != node && o.Alive {
			o.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: node.Name, Addr: node.Endpoint.Addr(), Boot: node.Boot})
		}
	}
}

// isolate cuts node i off from every node at the network.
func (c *Cluster) isolate(i int) {
	for j, o := range c.nodes {
		if j != i {
			c.Net.Partition(c.nodes[i].Name, o.Name)
		}
	}
}

// Restart starts a new life of node i: same name and address, a new boot
// id, PIDs that never repeat the old ones. A live node is first stopped
// abruptly with no member event, so the others learn of the restart from
// the new boot id (node down for the old life, then up). The new life is
// told about the others, the others about it, and Restart waits for the
// sessions.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	node := c.nodes[i]
	if node.Alive {
		c.isolate(i)
		c.stop(node)
	}
	node.Life++
	node.Members = &Members{}
	if err := c.start(node); err != nil {
		c.t.Fatal(err)
	}
	// The new life learns of the others while still cut off (see New),
	// then the network heals, then the others learn of it.
	for j, o := range c.nodes {
		if j != i && o.Alive {
			node.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: o.Name, Addr: o.Endpoint.Addr(), Boot: o.Boot})
		}
	}
	for j, o := range c.nodes {
		if j != i && o.Alive && !c.cuts[pair(i, j)] {
			c.Net.Heal(node.Name, o.Name)
		}
	}
	for j, o := range c.nodes {
		if j != i && o.Alive {
			o.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: node.Name, Addr: node.Endpoint.Addr(), Boot: node.Boot})
		}
	}
	c.WaitConnected()
}

// WaitConnected waits until every pair of live, unpartitioned nodes has
// its sessions up both ways, each side having dialed the other or being
// carried by the other's duplex connection.
func (c *Cluster) WaitConnected() {
	c.t.Helper()
	await.Until(c.t, "sessions up", func() bool {
		for i, a := range c.nodes {
			if !a.Alive {
				continue
			}
			peers := map[string]transport.PeerStats{}
			for _, p := range a.Endpoint.Stats().Peers {
				peers[p.Name] = p
			}
			for j, b := range c.nodes {
				if i == j || !b.Alive || c.cuts[pair(i, j)] {
					continue
				}
				p := peers[b.Name]
				if p.Boot != b.Boot || (p.Connects == 0 && !p.Duplex) || !a.Cluster.PeerUp(b.Name) {
					return false
				}
			}
		}
		return true
	})
}

// Members is a fake member-events source (cluster.MemberSource) the
// harness drives.
type Members struct {
	mu   sync.Mutex // held while emitting: events are delivered one at a time
	subs map[int]func(cluster.MemberEvent)
	next int
}

var _ cluster.MemberSource = (*Members)(nil)

// Subscribe implements cluster.MemberSource.
func (m *Members) Subscribe(f func(cluster.MemberEvent)) (stop func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs == nil {
		m.subs = map[int]func(cluster.MemberEvent){}
	}
	id := m.next
	m.next++
	m.subs[id] = f
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.subs, id)
	}
}

// Emit delivers ev to every subscriber, in subscription order, and
// returns when they have handled it.
func (m *Members) Emit(ev cluster.MemberEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := 0; id < m.next; id++ {
		if f, ok := m.subs[id]; ok {
			f(ev)
		}
	}
}
