package transporttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// Attacks: what someone who reaches the port, or a member, can try.

// MemberList is a transport.Members for tests: the peer lives it lists.
type MemberList struct {
	mu    sync.Mutex
	lives map[string]uint64
}

var _ transport.Members = (*MemberList)(nil)

// Add lists the endpoint of n as a member.
func (l *MemberList) Add(n *Node) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lives == nil {
		l.lives = map[string]uint64{}
	}
	l.lives[n.Name] = n.EP.Boot()
}

// IsMember implements transport.Members.
func (l *MemberList) IsMember(name string, boot uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.lives[name]
	return ok && b == boot
}

// WithMembers makes the node ask l about every peer life.
func WithMembers(l *MemberList) Option {
	return WithConfig(func(c *transport.Config) { c.Members = l })
}

// testForgedHello: a stranger who claims a member's name with a new boot
// id is refused, and the member's session goes on untouched. Without the
// member check the endpoint took the hello for a restart of the member and
// dropped its session.
func testForgedHello(t *testing.T, nw Net) {
	var members MemberList
	a, b := NewNode(t, nw, "a", WithMembers(&members)), NewNode(t, nw, "b", WithMembers(&members))
	members.Add(a)
	members.Add(b)
	Connect(t, a, b)
	send(t, a, "b", transport.StreamCluster, Seq(0))
	await.Until(t, "first frame", func() bool { return countData(b, "a") == 1 })

	for _, tc := range []struct {
		name string
		edit func(Hello)
	}{
		{"new boot", func(h Hello) { h["boot"] = a.EP.Boot() + 1 }},
		{"unknown name", func(h Hello) { h["from"] = "c" }},
	} {
		h := NewHello("test", "a", "b")
		h["boot"] = a.EP.Boot()
		tc.edit(h)
		r := DialRaw(t, nw.Host("evil"), b.EP.Addr())
		if _, rej := r.Handshake(h, nil); rej == nil || toInt(rej["code"]) != 7 {
			t.Fatalf("%s: forged hello got %v, want reject code 7 (not a member)", tc.name, rej)
		}
	}
	send(t, a, "b", transport.StreamCluster, Seq(1))
	await.Until(t, "frame after the forgeries", func() bool { return countData(b, "a") == 2 })
	checkOrder(t, b, "a", transport.StreamCluster, 2)
	if lost := b.Rec.Select("lost", "a"); len(lost) != 0 {
		t.Fatalf("b lost its session with a: %+v", lost[0].Event)
	}
	if p := b.Peer("a"); p.Boot != a.EP.Boot() {
		t.Fatalf("b's session is with boot %x, a is %x", p.Boot, a.EP.Boot())
	}
	if len(b.EP.Stats().Peers) != 1 {
		t.Fatalf("b knows peers %+v", b.EP.Stats().Peers)
	}
}

// testGhostNames: hellos with made-up names create no peer, no dialing
// and no counters, however many there are.
func testGhostNames(t *testing.T, nw Net) {
	const ghosts = 2000
	var members MemberList
	dials := &countingHost{Network: nw.Host("b")}
	b := NewNode(t, countedNet{Net: nw, host: "b", nw: dials}, "b", WithMembers(&members),
		WithConfig(func(c *transport.Config) { c.WarnBurst = 5 }))
	members.Add(b)
	SendHellos(t, nw.Host("evil"), b.EP.Addr(), ghosts, func(i int) Hello {
		h := NewHello("test", fmt.Sprintf("ghost-%d", i), "b")
		h["addr"] = b.EP.Addr() // "dial me back" at an address that answers
		return h
	})
	st := b.EP.Stats()
	if len(st.Peers) != 0 {
		t.Fatalf("%d peers after %d ghost hellos, e.g. %+v", len(st.Peers), ghosts, st.Peers[0])
	}
	if st.HandshakeFailures < ghosts {
		t.Fatalf("handshake failures %d, want %d", st.HandshakeFailures, ghosts)
	}
	if n := dials.count(); n != 0 {
		t.Fatalf("b dialed %d times", n)
	}
	if n := len(b.Logs.Find("handshake failed")); n > 5 {
		t.Fatalf("%d log lines for %d refusals, want at most 5 in 10s", n, ghosts)
	}
}

// SendHellos sends n hellos to addr, hello(i) the i-th, each on a
// connection of its own that it then reads until the endpoint closes it
// (four at a time).
func SendHellos(t testing.TB, nw transport.Network, addr string, n int, hello func(i int) Hello) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := DialRaw(t, nw, addr)
				r.WriteFrame(FrameHello, mustMsgpack(t, map[string]any(hello(i))))
				r.ExpectClosed()
				r.Conn.Close()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// testReconnectBound: a peer that does not answer is dialed on the
// backoff schedule, however often it is kicked (abandoned, reconnected to
// the same address).
func testReconnectBound(t *testing.T, nw Net) {
	dials := &countingHost{Network: nw.Host("a")}
	a := NewNode(t, countedNet{Net: nw, host: "a", nw: dials}, "a", WithConfig(func(c *transport.Config) {
		c.BackoffMin, c.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}))
	b := NewNode(t, nw, "b")
	addr := b.EP.Addr()
	b.EP.Close() // nobody answers there now
	if err := a.EP.Connect("b", addr); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for time.Since(start) < time.Second {
		a.EP.Abandon("b")
		a.EP.Connect("b", addr)
		time.Sleep(time.Millisecond) // kicking about a thousand times
	}
	// 20, 40, 80, 160, then every 200ms: about 8 attempts in a second.
	if n := dials.count(); n > 15 {
		t.Fatalf("%d dials in a second of kicks, want the backoff schedule (about 8)", n)
	}
}

// countingHost counts the dials of a network.
type countingHost struct {
	transport.Network
	mu sync.Mutex
	n  int
}

func (c *countingHost) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Network.Dial(ctx, addr)
}

func (c *countingHost) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// countedNet is nw with host's network replaced (by one that counts
// dials, or intercepts).
type countedNet struct {
	Net
	host string
	nw   transport.Network
}

func (c countedNet) secret() []byte { return keyOf(c.Net) }

func (c countedNet) Host(name string) transport.Network {
	if name == c.host {
		return c.nw
	}
	return c.Net.Host(name)
}

// testHandshakeFlood: connections that never finish a handshake, kept
// above the pending bound and renewed before they time out, do not keep a
// peer out; the oldest are closed to make room, and the warnings about it
// are throttled.
func testHandshakeFlood(t *testing.T, nw Net) {
	const idle = 80 // over MaxPendingHandshakes (64)
	b := NewNode(t, nw, "b", WithConfig(func(c *transport.Config) { c.WarnBurst = 3 }))
	a := NewNode(t, nw, "a")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		floodHandshakes(t, nw.Host("evil"), b.EP.Addr(), idle, stop)
	}()
	defer func() { close(stop); wg.Wait() }()
	await.Until(t, "flood under way", func() bool { return b.EP.Stats().Accepted >= idle })

	start := time.Now()
	if err := a.EP.Connect("b", b.EP.Addr()); err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(5 * time.Second)
	for len(a.Rec.Select("up", "b")) == 0 || len(b.Rec.Select("up", "a")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no session within 5s under the flood; b: %+v", b.EP.Stats())
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	t.Logf("session up in %v under a flood of %d idle connections", time.Since(start), idle)
	if n := b.EP.Stats().HandshakesEvicted; n == 0 {
		t.Fatal("no pending handshake was evicted")
	}
	if n := len(b.Logs.Find("too many pending handshakes")); n > 3 {
		t.Fatalf("%d warnings about pending handshakes, want at most 3", n)
	}
}

// floodHandshakes keeps n connections to addr open that send half a frame
// header and nothing more, and renews them all at once every second
// (before any handshake timeout): closes them and opens n new ones at
// once, so the endpoint's pending slots are never free for long, until
// stop closes.
func floodHandshakes(t *testing.T, nw transport.Network, addr string, n int, stop <-chan struct{}) {
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
		conns = conns[:0]
	}
	defer closeAll()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		closeAll()
		for range n {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, err := nw.Dial(ctx, addr)
			cancel()
			if err == nil {
				c.Write([]byte{0, 0})
				conns = append(conns, c)
			}
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}
