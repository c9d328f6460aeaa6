package transporttest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// Net is a network under test, as the contract suite needs it.
type Net interface {
	// Host returns the transport.Network the node called name uses.
	Host(name string) transport.Network
	// BindAddr returns the address the node called name listens on.
	BindAddr(name string) string
	// Cut resets the open connections between nodes a and b, once.
	Cut(a, b string)
	// Partition cuts a and b apart, refusing new connections both ways.
	Partition(a, b string)
	// Heal undoes Partition.
	Heal(a, b string)
}

// waitFor is how long a test waits for something that should happen; it is
// generous because -race on two shared cores is slow.
const waitFor = 20 * time.Second

// Item is one thing a node's handlers or hooks saw, in order.
type Item struct {
	Kind   string // "up", "lost" or "data"
	Stream transport.StreamType
	From   transport.Peer
	Body   []byte
	Event  transport.SessionEvent
}

// Recorder keeps every delivery and session event of a node, in order.
type Recorder struct {
	mu    sync.Mutex
	items []Item
}

func (r *Recorder) add(it Item) {
	r.mu.Lock()
	r.items = append(r.items, it)
	r.mu.Unlock()
}

// Items returns a copy of what was recorded.
func (r *Recorder) Items() []Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Item(nil), r.items...)
}

// Select returns the recorded items of one kind, from peer name ("" = any).
func (r *Recorder) Select(kind, name string) []Item {
	var out []Item
	for _, it := range r.Items() {
		peer := it.From.Name
		if it.Kind != "data" {
			peer = it.Event.Peer.Name
		}
		if it.Kind == kind && (name == "" || peer == name) {
			out = append(out, it)
		}
	}
	return out
}

// Logs is a slog.Handler that keeps records for assertions.
type Logs struct {
	mu      sync.Mutex
	records []string
	attrs   []slog.Attr
	parent  *Logs
}

func (l *Logs) root() *Logs {
	for l.parent != nil {
		l = l.parent
	}
	return l
}

// Enabled records everything.
func (l *Logs) Enabled(context.Context, slog.Level) bool { return true }

// Handle stores the record as "LEVEL msg k=v ...".
func (l *Logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	root := l.root()
	root.mu.Lock()
	root.records = append(root.records, b.String())
	root.mu.Unlock()
	return nil
}

// WithAttrs returns a handler adding attrs.
func (l *Logs) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Logs{parent: l.root(), attrs: append(append([]slog.Attr(nil), l.attrs...), attrs...)}
}

// WithGroup ignores groups.
func (l *Logs) WithGroup(string) slog.Handler { return l }

// Find returns the records at level WARN or above containing every one of
// the substrings.
func (l *Logs) Find(subs ...string) []string {
	root := l.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	var out []string
next:
	for _, r := range root.records {
		if !strings.HasPrefix(r, "WARN") && !strings.HasPrefix(r, "ERROR") {
			continue
		}
		for _, s := range subs {
			if !strings.Contains(r, s) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// Node is an endpoint under test with recorded deliveries and logs.
type Node struct {
	Name string
	EP   *transport.Endpoint
	Rec  *Recorder
	Logs *Logs
}

// Option adjusts a node before it starts.
type Option func(*nodeSetup)

type nodeSetup struct {
	cfg      transport.Config
	handlers map[transport.StreamType]transport.Handler
}

// WithConfig edits the node's Config.
func WithConfig(f func(*transport.Config)) Option {
	return func(s *nodeSetup) { f(&s.cfg) }
}

// WithHandler replaces the recording handler of a stream (nil: leave the
// stream unregistered).
func WithHandler(st transport.StreamType, h transport.Handler) Option {
	return func(s *nodeSetup) { s.handlers[st] = h }
}

// TestConfig is the Config nodes start from: short timeouts and backoff.
func TestConfig(name, bindAddr string) transport.Config {
	cfg := transport.DefaultConfig()
	cfg.Name = name
	cfg.Cluster = "test"
	cfg.BindAddr = bindAddr
	cfg.DialTimeout = 2 * time.Second
	cfg.HandshakeTimeout = 2 * time.Second
	cfg.ReadTimeout = 5 * time.Second
	cfg.KeepAlive = time.Second
	cfg.BackoffMax = 100 * time.Millisecond
	cfg.WarnBurst = 1000 // tests look for each refusal in the log
	return cfg
}

// NewNode starts an endpoint called name on nw, recording streams 1 and
// 2 and every session event. It is closed when the test ends.
func NewNode(t testing.TB, nw Net, name string, opts ...Option) *Node {
	t.Helper()
	n := &Node{Name: name, Rec: &Recorder{}, Logs: &Logs{}}
	rec := func(st transport.StreamType) transport.Handler {
		return func(from transport.Peer, body []byte) {
			n.Rec.add(Item{Kind: "data", Stream: st, From: from, Body: append([]byte(nil), body...)})
		}
	}
	s := &nodeSetup{
		cfg: TestConfig(name, nw.BindAddr(name)),
		handlers: map[transport.StreamType]transport.Handler{
			transport.StreamCluster: rec(transport.StreamCluster),
			transport.StreamRaft:    rec(transport.StreamRaft),
		},
	}
	s.cfg.SecretKey = keyOf(nw)
	for _, o := range opts {
		o(s)
	}
	s.cfg.Logger = slog.New(n.Logs)
	ep, err := transport.New(s.cfg, nw.Host(name))
	if err != nil {
		t.Fatalf("new %s: %v", name, err)
	}
	n.EP = ep
	t.Cleanup(func() {
		ep.Close()
		if t.Failed() {
			r := n.Logs.root()
			r.mu.Lock()
			defer r.mu.Unlock()
			for _, l := range r.records {
				t.Logf("%s log: %s", name, l)
			}
		}
	})
	for st, h := range s.handlers {
		if h != nil {
			if err := ep.Register(st, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	ep.OnSessionUp(func(ev transport.SessionEvent) { n.Rec.add(Item{Kind: "up", Event: ev}) })
	ep.OnSessionLost(func(ev transport.SessionEvent) { n.Rec.add(Item{Kind: "lost", Event: ev}) })
	if err := ep.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	return n
}

// Peer returns the node's stats for peer name (zero if unknown).
func (n *Node) Peer(name string) transport.PeerStats {
	for _, p := range n.EP.Stats().Peers {
		if p.Name == name {
			return p
		}
	}
	return transport.PeerStats{}
}

// WaitUp waits until the node has seen count session-up events from peer.
func (n *Node) WaitUp(t testing.TB, peer string, count int) {
	t.Helper()
	await.Until(t, n.Name+" up with "+peer, func() bool { return len(n.Rec.Select("up", peer)) >= count })
}

// WaitLost waits until the node has seen count session-lost events for
// peer and returns the last.
func (n *Node) WaitLost(t testing.TB, peer string, count int) transport.SessionEvent {
	t.Helper()
	await.Until(t, n.Name+" lost "+peer, func() bool { return len(n.Rec.Select("lost", peer)) >= count })
	l := n.Rec.Select("lost", peer)
	return l[count-1].Event
}

// Connect connects a to b, both ways, and waits for both to be up.
func Connect(t testing.TB, a, b *Node) {
	t.Helper()
	if err := a.EP.Connect(b.Name, b.EP.Addr()); err != nil {
		t.Fatal(err)
	}
	a.WaitUp(t, b.Name, 1)
	b.WaitUp(t, a.Name, 1)
}

// Seq encodes a test sequence number as a body.
func Seq(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// SeqOf decodes a body made by Seq.
func SeqOf(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// Faulty adds Cut and Partition to networks that have no fault hooks of
// their own (tcp), by wrapping every connection a node dials.
type Faulty struct {
	base     func(name string) transport.Network
	bindAddr func(name string) string

	mu          sync.Mutex
	hostOf      map[string]string // listen address -> node
	conns       map[*faultyConn]struct{}
	partitioned map[[2]string]bool
}

// NewFaulty wraps the per-node networks base returns.
func NewFaulty(base func(name string) transport.Network, bindAddr func(name string) string) *Faulty {
	return &Faulty{
		base:        base,
		bindAddr:    bindAddr,
		hostOf:      map[string]string{},
		conns:       map[*faultyConn]struct{}{},
		partitioned: map[[2]string]bool{},
	}
}

var _ Net = (*Faulty)(nil)

// Host returns node name's wrapped network.
func (f *Faulty) Host(name string) transport.Network {
	return &faultyHost{f: f, name: name, base: f.base(name)}
}

// BindAddr returns the address from the bindAddr function.
func (f *Faulty) BindAddr(name string) string { return f.bindAddr(name) }

// Cut closes the dialing ends of connections between a and b.
func (f *Faulty) Cut(a, b string) {
	f.mu.Lock()
	var cut []*faultyConn
	for c := range f.conns {
		if c.from == a && c.to == b || c.from == b && c.to == a {
			cut = append(cut, c)
		}
	}
	f.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

// Partition refuses dials between a and b and cuts what is open.
func (f *Faulty) Partition(a, b string) {
	f.mu.Lock()
	f.partitioned[[2]string{a, b}] = true
	f.partitioned[[2]string{b, a}] = true
	f.mu.Unlock()
	f.Cut(a, b)
}

// Heal undoes Partition.
func (f *Faulty) Heal(a, b string) {
	f.mu.Lock()
	delete(f.partitioned, [2]string{a, b})
	delete(f.partitioned, [2]string{b, a})
	f.mu.Unlock()
}

type faultyHost struct {
	f    *Faulty
	name string
	base transport.Network
}

func (h *faultyHost) Listen(addr string) (net.Listener, error) {
	ln, err := h.base.Listen(addr)
	if err != nil {
		return nil, err
	}
	h.f.mu.Lock()
	h.f.hostOf[ln.Addr().String()] = h.name
	h.f.mu.Unlock()
	return ln, nil
}

var errPartitioned = errors.New("transporttest: partitioned")

func (h *faultyHost) Dial(ctx context.Context, addr string) (net.Conn, error) {
	h.f.mu.Lock()
	to := h.f.hostOf[addr]
	blocked := h.f.partitioned[[2]string{h.name, to}]
	h.f.mu.Unlock()
	if blocked {
		return nil, errPartitioned
	}
	c, err := h.base.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	fc := &faultyConn{Conn: c, f: h.f, from: h.name, to: to}
	h.f.mu.Lock()
	h.f.conns[fc] = struct{}{}
	h.f.mu.Unlock()
	return fc, nil
}

type faultyConn struct {
	net.Conn
	f        *Faulty
	from, to string
}

func (c *faultyConn) Close() error {
	c.f.mu.Lock()
	delete(c.f.conns, c)
	c.f.mu.Unlock()
	return c.Conn.Close()
}
