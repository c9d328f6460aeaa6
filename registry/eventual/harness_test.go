package eventual

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	"github.com/wippyd/wippyd/transport/tcp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// view is one node's membership: the nodes it believes up.
type view struct {
	mu   sync.Mutex
	up   map[string]bool
	subs map[int]func()
	next int
}

func (v *view) Up() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for n, ok := range v.up {
		if ok {
			out = append(out, n)
		}
	}
	return out
}

func (v *view) OnChange(f func()) func() {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := v.next
	v.next++
	v.subs[id] = f
	return func() { v.mu.Lock(); delete(v.subs, id); v.mu.Unlock() }
}

func (v *view) set(node string, up bool) {
	v.mu.Lock()
	v.up[node] = up
	subs := make([]func(), 0, len(v.subs))
	for _, f := range v.subs {
		subs = append(subs, f)
	}
	v.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

// mesh is n planes in one process over transport endpoints on memnet (or
// loopback TCP), each with its own membership view.
type mesh struct {
	t     testing.TB
	mn    *memnet.Network
	tcp   *tcp.Network
	names []string
	tune  func(*Config)
	mu    sync.Mutex
	nodes map[string]*tnode
	addrs map[string]string
}

type tnode struct {
	name    string
	ep      *transport.Endpoint
	p       *Plane
	view    *view
	revoked chan string // "name pid" per revocation
}

func newMesh(t testing.TB, n int, overTCP bool, tune func(*Config)) *mesh {
	m := &mesh{t: t, mn: memnet.New(), tune: tune, nodes: map[string]*tnode{}, addrs: map[string]string{}}
	if overTCP {
		nw, err := tcp.New(tcp.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		m.tcp = nw
	}
	for i := range n {
		m.names = append(m.names, fmt.Sprintf("n%d", i+1))
	}
	t.Cleanup(m.stopAll)
	for _, name := range m.names {
		m.start(name)
	}
	for _, name := range m.names {
		for _, other := range m.names {
			m.node(name).view.set(other, true)
		}
	}
	return m
}

func (m *mesh) start(name string) *tnode {
	m.t.Helper()
	tc := transport.DefaultConfig()
	tc.Name, tc.BindAddr = name, name
	tc.BackoffMax = 50 * time.Millisecond
	var nw transport.Network = m.mn.Host(name)
	if m.tcp != nil {
		tc.BindAddr, nw = "127.0.0.1:0", m.tcp
	}
	ep, err := transport.New(tc, nw)
	if err != nil {
		m.t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node = name
	cfg.SyncInterval = 100 * time.Millisecond
	if m.tune != nil {
		m.tune(&cfg)
	}
	v := &view{up: map[string]bool{}, subs: map[int]func(){}}
	p, err := New(cfg, ep, v)
	if err != nil {
		m.t.Fatal(err)
	}
	n := &tnode{name: name, ep: ep, p: p, view: v, revoked: make(chan string, 1024)}
	p.OnRevoke(func(name string, q pid.PID) { n.revoked <- name + " " + q.String() })
	if err := ep.Start(); err != nil {
		m.t.Fatal(err)
	}
	m.mu.Lock()
	m.addrs[name] = ep.Addr()
	for _, other := range m.names {
		addr := other
		if m.tcp != nil {
			addr = m.addrs[other]
		}
		if other != name && addr != "" {
			if err := ep.Connect(other, addr); err != nil {
				m.t.Fatal(err)
			}
		}
	}
	m.nodes[name] = n
	m.mu.Unlock()
	p.Start()
	return n
}

func (m *mesh) node(name string) *tnode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nodes[name]
}

// kill stops node name abruptly; the others' views are left as they are.
func (m *mesh) kill(name string) {
	m.mu.Lock()
	n := m.nodes[name]
	delete(m.nodes, name)
	m.mu.Unlock()
	if n != nil {
		n.p.Close()
		_ = n.ep.Close()
	}
}

func (m *mesh) stopAll() {
	for _, name := range m.names {
		m.kill(name)
	}
}

// see sets, in the views of every node of who, whether each node of
// about is up.
func (m *mesh) see(who, about []string, up bool) {
	for _, w := range who {
		if n := m.node(w); n != nil {
			for _, a := range about {
				n.view.set(a, up)
			}
		}
	}
}

func (m *mesh) partition(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			m.mn.Partition(x, y)
		}
	}
}

func (m *mesh) heal(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			m.mn.Heal(x, y)
		}
	}
}

// resolves waits until every node of on resolves name to p (the zero PID:
// to nothing).
func (m *mesh) resolves(on []string, name string, p pid.PID) {
	m.t.Helper()
	await.Until(m.t, fmt.Sprintf("%v resolve %s to %v", on, name, p), func() bool {
		for _, n := range on {
			got, ok := m.node(n).p.Resolve(name)
			if ok != !p.IsZero() || got != p {
				return false
			}
		}
		return true
	})
}

func without(s []string, drop ...string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}
