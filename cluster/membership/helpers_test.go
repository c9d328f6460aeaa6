package membership

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/wippyd/wippyd/internal/await"
)

// TestMain fails the run if any goroutine outlives the tests. memberlist
// leaves some running after its Shutdown for a bounded time: a probe
// waits for its ack timer (the probe interval, scaled up to 8x by its
// health awareness), a stream handler for its TCP deadline, and memberlist
// does not stop those timers. So the check polls, with a deadline, until
// they are gone, instead of ignoring them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := await.NoLeaks(20 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testConfig is a node on 127.0.0.1, a free port, the fast profile.
// MEMBERSHIP_TEST_LOG=1 sends the logs (memberlist's included) to stderr.
func testConfig(name string) Config {
	cfg := DefaultConfig()
	cfg.Name = name
	cfg.BindAddr = "127.0.0.1"
	cfg.BindPort = 0
	cfg.Profile = ProfileFast
	cfg.Meta = Meta{InternodePort: 7950, ProtoMin: 1, ProtoMax: 1, RaftRole: RoleVoter}
	if os.Getenv("MEMBERSHIP_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	return cfg
}

// recorder keeps every event a node delivered.
type recorder struct {
	mu   sync.Mutex
	evs  []Event
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) add(ev Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

// find returns the index of the first event from index from on that
// matches, or -1.
func (r *recorder) find(from int, match func(Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := from; i < len(r.evs); i++ {
		if match(r.evs[i]) {
			return i
		}
	}
	return -1
}

// wait waits up to d for an event from index from on that matches and
// returns its index.
func (r *recorder) wait(t *testing.T, d time.Duration, from int, what string, match func(Event) bool) int {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if i := r.find(from, match); i >= 0 {
			return i
		}
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("no %s within %v; events: %v", what, d, r.all())
		}
	}
}

func is(kind EventKind, name string) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == kind && ev.Member.Name == name }
}

func isLife(kind EventKind, name string, boot uint64) func(Event) bool {
	return func(ev Event) bool {
		return ev.Kind == kind && ev.Member.Name == name && ev.Member.Meta.BootID == boot
	}
}

type testNode struct {
	*Membership
	rec *recorder
}

// startNode starts a node and shuts it down when the test ends.
func startNode(t *testing.T, cfg Config) *testNode {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{Membership: m, rec: newRecorder()}
	m.Subscribe(n.rec.add)
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(); err != nil {
			t.Errorf("shutdown %s: %v", cfg.Name, err)
		}
	})
	return n
}

// waitCounts waits up to d for the node's counts to be want.
func (n *testNode) waitCounts(t *testing.T, d time.Duration, want Counts) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for n.Counts() != want {
		select {
		case <-n.rec.wake:
		case <-deadline.C:
			t.Fatalf("%s counts = %+v after %v, want %+v; events %v", n.cfg.Name, n.Counts(), d, want, n.rec.all())
		}
	}
}

func (n *testNode) addr() string { return n.Local().Addr.String() }

func (n *testNode) boot() uint64 { return n.cfg.Meta.BootID }

// cluster starts nodes named n1..nN, joins them all through n1 and waits
// until every node has seen every other join.
func cluster(t *testing.T, names []string, cfgs ...func(*Config)) []*testNode {
	t.Helper()
	var nodes []*testNode
	for i, name := range names {
		cfg := testConfig(name)
		cfg.Meta.InternodePort = uint16(7950 + i)
		for _, f := range cfgs {
			f(&cfg)
		}
		nodes = append(nodes, startNode(t, cfg))
	}
	// Each node joins through every node started before it: a join spreads
	// by gossip retransmitted a bounded number of times, and in an unlucky
	// draw (more likely with the local profile's lower retransmit
	// multiplier) a node would learn of it only at the next push/pull,
	// 15s to 30s later. Contacting everyone makes the test deterministic.
	for i, n := range nodes {
		var addrs []string
		for _, o := range nodes[:i] {
			addrs = append(addrs, o.addr())
		}
		if len(addrs) == 0 {
			continue
		}
		if k, err := n.Join(addrs...); err != nil || k != len(addrs) {
			t.Fatalf("%s joined %d of %v: %v", n.cfg.Name, k, addrs, err)
		}
	}
	for _, n := range nodes {
		for _, o := range nodes {
			n.rec.wait(t, 5*time.Second, 0, fmt.Sprintf("%s joined at %s", o.cfg.Name, n.cfg.Name), isLife(EventJoined, o.cfg.Name, o.boot()))
		}
	}
	return nodes
}

// cutTransport is memberlist's NetTransport on 127.0.0.1 that can stop
// sending to chosen addresses: packets to them vanish, dials fail. Cutting
// both directions between two groups partitions them. Addresses in noDial
// only refuse dials (memberlist's TCP: joins, push/pull, reliable user
// messages), UDP gossip still flows.
type cutTransport struct {
	*memberlist.NetTransport
	mu     sync.Mutex
	cut    map[string]bool
	noDial map[string]bool
}

func newCutTransport(t *testing.T) *cutTransport {
	t.Helper()
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		Logger:    log.New(io.Discard, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &cutTransport{NetTransport: nt, cut: make(map[string]bool), noDial: make(map[string]bool)}
}

var errCut = errors.New("test: link cut")

func (c *cutTransport) set(addr string, cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut[addr] = cut
}

func (c *cutTransport) isCut(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut[addr]
}

func (c *cutTransport) setNoDial(addr string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noDial[addr] = on
}

func (c *cutTransport) dialCut(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut[addr] || c.noDial[addr]
}

func (c *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if c.isCut(addr) {
		return time.Now(), nil
	}
	return c.NetTransport.WriteTo(b, addr)
}

func (c *cutTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if c.isCut(a.Addr) {
		return time.Now(), nil
	}
	return c.NetTransport.WriteToAddress(b, a)
}

func (c *cutTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if c.dialCut(addr) {
		return nil, errCut
	}
	return c.NetTransport.DialTimeout(addr, timeout)
}

func (c *cutTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if c.dialCut(a.Addr) {
		return nil, errCut
	}
	return c.NetTransport.DialAddressTimeout(a, timeout)
}
