package transporttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// gatedHost refuses every dial while closed is set.
type gatedHost struct {
	transport.Network
	closed atomic.Bool
}

var errGated = errors.New("transporttest: dials refused")

func (g *gatedHost) Dial(ctx context.Context, addr string) (net.Conn, error) {
	if g.closed.Load() {
		return nil, errGated
	}
	return g.Network.Dial(ctx, addr)
}

// exchange has a and b send n frames each to the other, concurrently, and
// waits until every one has arrived; then it checks their order.
func exchange(t *testing.T, a, b *Node, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for _, pair := range [][2]*Node{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint64(n) {
				if err := pair[0].EP.Send(pair[1].Name, transport.StreamCluster, Seq(i)); err != nil {
					t.Errorf("%s send: %v", pair[0].Name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	await.Until(t, "every frame both ways", func() bool { return countData(a, b.Name) == n && countData(b, a.Name) == n })
	checkOrder(t, a, b.Name, transport.StreamCluster, n)
	checkOrder(t, b, a.Name, transport.StreamCluster, n)
}

// noLoss fails the test if n lost a session, dropped a frame for any
// reason but a duplicate, or warned about a connection.
func noLoss(t *testing.T, nodes ...*Node) {
	t.Helper()
	for _, x := range nodes {
		if l := x.Rec.Select("lost", ""); len(l) != 0 {
			t.Fatalf("%s lost a session: %+v", x.Name, l[0].Event)
		}
		for r, c := range x.EP.Stats().Dropped {
			if r != transport.DropDuplicate && c != 0 {
				t.Fatalf("%s dropped %d frames: %v", x.Name, c, r)
			}
		}
		if w := x.Logs.Find("connection"); len(w) != 0 {
			t.Fatalf("%s warned: %q", x.Name, w)
		}
	}
}

// testDuplexCarriesBoth: the connection a dials to b carries b's frames
// too. b cannot dial a at all here, so every frame of b's that arrives
// came on a's connection; and b never needed a connection of its own.
func testDuplexCarriesBoth(t *testing.T, nw Net) {
	const n = 5_000
	gate := &gatedHost{Network: nw.Host("b")}
	gate.closed.Store(true)
	a := NewNode(t, nw, "a")
	b := NewNode(t, countedNet{Net: nw, host: "b", nw: gate}, "b")
	Connect(t, a, b)
	exchange(t, a, b, n)
	if pa, pb := a.Peer("b"), b.Peer("a"); !pa.Duplex || !pb.Duplex || pb.Connects != 0 {
		t.Fatalf("a: duplex %v; b: duplex %v, %d connections of its own", pa.Duplex, pb.Duplex, pb.Connects)
	}
	noLoss(t, a, b)
}

// testDuplexTakeover: the node whose name sorts last dials first and
// streams on its own connection; the other learns its address from that
// handshake, dials back, and its connection takes both directions over
// while both stream. Nothing is lost, duplicated or reordered, each side
// sees one session, and the connection given up ends without a warning.
func testDuplexTakeover(t *testing.T, nw Net) {
	const rounds, n = 10, 2_000
	for r := range rounds {
		a := NewNode(t, nw, fmt.Sprintf("ta%d", r))
		b := NewNode(t, nw, fmt.Sprintf("tb%d", r))
		if err := b.EP.Connect(a.Name, a.EP.Addr()); err != nil {
			t.Fatal(err)
		}
		a.WaitUp(t, b.Name, 1)
		exchange(t, a, b, n)
		await.Until(t, "duplex", func() bool { return a.Peer(b.Name).Duplex && b.Peer(a.Name).Duplex })
		for _, x := range []*Node{a, b} {
			if u := x.Rec.Select("up", ""); len(u) != 1 {
				t.Fatalf("round %d: %s saw %d session-up events, want 1", r, x.Name, len(u))
			}
		}
		noLoss(t, a, b)
		a.EP.Close()
		b.EP.Close()
	}
}

// testDuplexMixed: a node configured one-way (as nodes before duplex
// connections were) and one that can do duplex talk over one connection
// per direction, across a cut, whichever of them dials first.
func testDuplexMixed(t *testing.T, nw Net) {
	for _, oneWay := range []string{"a", "b"} {
		t.Run("one-way "+oneWay, func(t *testing.T) {
			opt := func(name string) Option {
				return WithConfig(func(c *transport.Config) { c.OneWay = name == oneWay })
			}
			a, b := NewNode(t, nw, "a", opt("a")), NewNode(t, nw, "b", opt("b"))
			Connect(t, a, b)
			exchange(t, a, b, 1_000)
			nw.Cut("a", "b")
			for i := uint64(1_000); i < 2_000; i++ {
				send(t, a, "b", transport.StreamCluster, Seq(i))
				send(t, b, "a", transport.StreamCluster, Seq(i))
			}
			await.Until(t, "every frame both ways", func() bool { return countData(a, "b") == 2_000 && countData(b, "a") == 2_000 })
			checkOrder(t, a, "b", transport.StreamCluster, 2_000)
			checkOrder(t, b, "a", transport.StreamCluster, 2_000)
			if a.Peer("b").Duplex || b.Peer("a").Duplex {
				t.Fatal("duplex with a one-way node")
			}
			if a.Peer("b").Connects == 0 || b.Peer("a").Connects == 0 {
				t.Fatalf("connections: a %d, b %d", a.Peer("b").Connects, b.Peer("a").Connects)
			}
		})
	}
}
