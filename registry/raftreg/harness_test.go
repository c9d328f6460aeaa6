package raftreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	"github.com/wippyd/wippyd/transport/tcp"
)

// peerTable is a PeerSource for tests: one member table that every node
// sees (an oracle membership), changed by the test.
type peerTable struct {
	mu      sync.Mutex
	members map[string]Member
	subs    map[int]func()
	next    int
}

func newPeerTable() *peerTable {
	return &peerTable{members: make(map[string]Member), subs: make(map[int]func())}
}

func (p *peerTable) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		out = append(out, m)
	}
	return out
}

func (p *peerTable) OnChange(f func()) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.next
	p.next++
	p.subs[id] = f
	return func() {
		p.mu.Lock()
		delete(p.subs, id)
		p.mu.Unlock()
	}
}

// quiet changes a member without notifying anyone.
func (p *peerTable) quiet(name string, voter bool, st MemberState) {
	p.mu.Lock()
	m := p.members[name]
	m.Name, m.Voter, m.State = name, voter, st
	p.members[name] = m
	p.mu.Unlock()
}

// set changes a member's eligibility and state (its other hints stay)
// and notifies.
func (p *peerTable) set(name string, voter bool, st MemberState) {
	p.mu.Lock()
	m := p.members[name]
	p.mu.Unlock()
	m.Name, m.Voter, m.State = name, voter, st
	p.setMember(m)
}

// setMember changes a member and notifies.
func (p *peerTable) setMember(m Member) {
	name := m.Name
	p.mu.Lock()
	p.members[name] = m
	subs := make([]func(), 0, len(p.subs))
	for _, f := range p.subs {
		subs = append(subs, f)
	}
	p.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

// cluster is n registries in one process, over transport endpoints on a
// memnet network.
type cluster struct {
	t     testing.TB
	mn    *memnet.Network
	peers *peerTable
	dir   string // "" keeps Raft in memory
	tune  func(*Config)
	prep  func(*Registry) // called on each new registry before it starts
	names []string
	tcp   *tcp.Network      // loopback TCP instead of memnet, when set
	addrs map[string]string // TCP addresses of the nodes started

	mu    sync.Mutex
	nodes map[string]*tnode
}

type tnode struct {
	name    string
	ep      *transport.Endpoint
	reg     *Registry
	revoked chan string // "name pid" of each revoke
}

type clusterOpt func(*cluster)

// overTCP runs the nodes over loopback TCP instead of memnet (no fault
// injection then).
func overTCP(c *cluster) {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		c.t.Fatal(err)
	}
	c.tcp = nw
}

// onDisk keeps the Raft state of the nodes in a temporary directory.
func onDisk(c *cluster) { c.dir = c.t.TempDir() }

func withConfig(f func(*Config)) clusterOpt { return func(c *cluster) { c.tune = f } }

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}

// newCluster prepares n nodes (n1..nn) without starting any.
func newCluster(t testing.TB, n int, opts ...clusterOpt) *cluster {
	c := &cluster{t: t, mn: memnet.New(), peers: newPeerTable(), names: nodeNames(n), nodes: make(map[string]*tnode),
		addrs: make(map[string]string)}
	for _, o := range opts {
		o(c)
	}
	t.Cleanup(c.stopAll)
	return c
}

// startCluster starts n voter nodes, all alive in membership, and waits
// for a leader.
func startCluster(t testing.TB, n int, opts ...clusterOpt) *cluster {
	c := newCluster(t, n, opts...)
	for _, name := range c.names {
		c.start(name)
	}
	c.waitLeader(c.names...)
	return c
}

func (c *cluster) config(name string) Config {
	cfg := DefaultConfig()
	cfg.Node = name
	cfg.BootstrapExpect = min(3, len(c.names))
	if c.dir == "" {
		cfg.InMemory = true
	} else {
		cfg.DataDir = c.dir
	}
	cfg.ApplyTimeout = 2 * time.Second
	cfg.BootstrapStable = 100 * time.Millisecond
	cfg.ReconcileDebounce = 300 * time.Millisecond
	if os.Getenv("RAFTREG_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("n", name)
	}
	if c.tune != nil {
		c.tune(&cfg)
	}
	return cfg
}

// start starts (or restarts) node name with a fresh endpoint, marks it
// alive in membership and connects it to every other node.
func (c *cluster) start(name string) *tnode {
	return c.startWith(name, c.config(name))
}

func (c *cluster) startWith(name string, cfg Config) *tnode {
	c.t.Helper()
	tc := transport.DefaultConfig()
	tc.Name = name
	tc.BindAddr = name
	tc.BackoffMax = 50 * time.Millisecond
	tc.DialTimeout = time.Second
	tc.HandshakeTimeout = time.Second
	var nw transport.Network = c.mn.Host(name)
	if c.tcp != nil {
		tc.BindAddr, nw = "127.0.0.1:0", c.tcp
	}
	ep, err := transport.New(tc, nw)
	if err != nil {
		c.t.Fatal(err)
	}
	reg, err := New(cfg, ep, c.peers)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.prep != nil {
		c.prep(reg)
	}
	n := &tnode{name: name, ep: ep, reg: reg, revoked: make(chan string, 1024)}
	reg.OnRevoke(func(name string, p pid.PID) {
		select {
		case n.revoked <- name + " " + p.String():
		default:
		}
	})
	if err := ep.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.addrs[name] = ep.Addr()
	for _, other := range c.names {
		addr := other
		if c.tcp != nil {
			// Peers learn this node's address from its handshake.
			addr = c.addrs[other]
		}
		if other != name && addr != "" {
			if err := ep.Connect(other, addr); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	c.mu.Unlock()
	if err := reg.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.nodes[name] = n
	c.mu.Unlock()
	c.peers.setMember(Member{Name: name, Voter: cfg.Voter, Client: cfg.Client, State: MemberAlive,
		Priority: cfg.Priority, FailureDomain: cfg.FailureDomain})
	return n
}

// kill stops node name abruptly (no goodbye) and leaves membership as it
// is: the test decides when membership notices.
func (c *cluster) kill(name string) {
	c.mu.Lock()
	n := c.nodes[name]
	delete(c.nodes, name)
	c.mu.Unlock()
	if n == nil {
		return
	}
	if err := n.reg.Close(); err != nil {
		c.t.Errorf("close %s: %v", name, err)
	}
	_ = n.ep.Close()
}

func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, name := range c.names {
		wg.Add(1)
		go func() { defer wg.Done(); c.kill(name) }()
	}
	wg.Wait()
}

func (c *cluster) node(name string) *tnode {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[name]
	if n == nil {
		c.t.Fatalf("node %s not running", name)
	}
	return n
}

func (c *cluster) reg(name string) *Registry { return c.node(name).reg }

func (c *cluster) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, name := range c.names {
		if c.nodes[name] != nil {
			out = append(out, name)
		}
	}
	return out
}

// partition cuts every link between the two groups.
func (c *cluster) partition(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			c.mn.Partition(x, y)
		}
	}
}

func (c *cluster) heal(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			c.mn.Heal(x, y)
		}
	}
}

// waitLeader waits until one of nodes leads with its no-op applied, and
// all of nodes agree on it; it returns its name.
func (c *cluster) waitLeader(nodes ...string) string {
	c.t.Helper()
	var leader string
	await.Within(c.t, 10*time.Second, "a leader among "+fmt.Sprint(nodes), func() bool {
		leader = ""
		for _, name := range nodes {
			r := c.reg(name)
			e := r.lead.Load()
			if e == nil {
				continue
			}
			select {
			case <-e.ready:
			default:
				return false
			}
			if leader != "" {
				return false
			}
			leader = name
		}
		if leader == "" {
			return false
		}
		for _, name := range nodes {
			if c.reg(name).leaderName() != leader {
				return false
			}
		}
		return true
	})
	return leader
}

func (c *cluster) followers(leader string) []string {
	var out []string
	for _, name := range c.running() {
		if name != leader {
			out = append(out, name)
		}
	}
	return out
}

// servers returns the Raft configuration as node name sees it.
func (c *cluster) servers(name string) map[string]raft.ServerSuffrage {
	f := c.reg(name).raft().GetConfiguration()
	if err := f.Error(); err != nil {
		c.t.Fatal(err)
	}
	out := make(map[string]raft.ServerSuffrage)
	for _, s := range f.Configuration().Servers {
		out[string(s.ID)] = s.Suffrage
	}
	return out
}

// ppid returns a PID of node with sequence seq.
func ppid(node string, seq uint64) pid.PID { return pid.PID{Node: node, Host: "app", Seq: seq} }

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// nopStreams accepts handlers and drops every body.
type nopStreams struct{}

func (nopStreams) Register(transport.StreamType, transport.Handler) error { return nil }
func (nopStreams) Send(string, transport.StreamType, []byte) error        { return nil }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
