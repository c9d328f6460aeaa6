package memnet_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	tt "github.com/wippyd/wippyd/transport/transporttest"
)

// Faults only memnet can inject, seen through the transport.

// TestDroppedWrites: whole writes vanish inside a live connection (which
// TCP never does). The receiver notices the gap in sequence numbers, drops
// the connection, and the replay fills it: nothing lost or reordered.
func TestDroppedWrites(t *testing.T) {
	mn := memnet.New()
	h := harness{mn}
	var got atomic.Uint64
	var bad atomic.Value
	check := func(_ transport.Peer, body []byte) {
		if s := tt.SeqOf(body); s != got.Load() {
			bad.CompareAndSwap(nil, fmt.Sprintf("got %d, want %d", s, got.Load()))
		}
		got.Add(1)
	}
	fast := tt.WithConfig(func(c *transport.Config) { c.HandshakeTimeout = 200 * time.Millisecond })
	a := tt.NewNode(t, h, "a", fast)
	b := tt.NewNode(t, h, "b", fast, tt.WithHandler(transport.StreamCluster, check))
	tt.Connect(t, a, b)
	const n, drops = 20_000, 20
	send := func(i uint64) {
		if err := a.EP.Send("b", transport.StreamCluster, tt.Seq(i)); err != nil {
			t.Fatal(err)
		}
	}
	// A lost write shows as a gap only when a later frame arrives: after
	// each drop, trickle frames until everything sent has arrived.
	sent := uint64(0)
	for range drops {
		for range n / drops {
			send(sent)
			sent++
		}
		mn.DropNext("a", "b", 1)
		await.Until(t, "every frame so far", func() bool {
			if got.Load() == sent {
				return true
			}
			send(sent)
			sent++
			return false
		})
	}
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	if pe := b.EP.Stats().ProtocolErrors; pe < drops/2 {
		t.Fatalf("%d gaps detected for %d dropped writes", pe, drops)
	}
	if l := a.Rec.Select("lost", ""); len(l) != 0 {
		t.Fatalf("session lost: %+v", l[0].Event)
	}
	t.Logf("gaps detected by b: %d, a reconnected %d times", b.EP.Stats().ProtocolErrors, a.Peer("b").Reconnects)
}

// TestDelayedLink: a slow link delays frames but keeps their order and the
// session.
func TestDelayedLink(t *testing.T) {
	mn := memnet.New()
	h := harness{mn}
	a, b := tt.NewNode(t, h, "a"), tt.NewNode(t, h, "b")
	tt.Connect(t, a, b)
	mn.Delay("a", "b", 20*time.Millisecond)
	start := time.Now()
	for i := range uint64(100) {
		if err := a.EP.Send("b", transport.StreamCluster, tt.Seq(i)); err != nil {
			t.Fatal(err)
		}
	}
	await.Until(t, "frames", func() bool { return len(b.Rec.Select("data", "a")) == 100 })
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("delayed frames arrived after %v", d)
	}
	for i, it := range b.Rec.Select("data", "a") {
		if tt.SeqOf(it.Body) != uint64(i) {
			t.Fatalf("frame %d is %d", i, tt.SeqOf(it.Body))
		}
	}
	if a.Peer("b").Reconnects != 0 {
		t.Fatal("a delay below the read timeout broke the connection")
	}
}

// TestIdleKeepAlive: an idle session outlives its read timeout many times
// over, kept up by keep-alives: pings (dialer) and acks (acceptor) on
// one-way connections, pings both ways on a duplex one.
func TestIdleKeepAlive(t *testing.T) {
	for _, oneWay := range []bool{false, true} {
		t.Run(fmt.Sprintf("one-way=%v", oneWay), func(t *testing.T) {
			h := harness{memnet.New()}
			short := tt.WithConfig(func(c *transport.Config) {
				c.ReadTimeout = 200 * time.Millisecond
				c.KeepAlive = 20 * time.Millisecond
				c.OneWay = oneWay
			})
			a, b := tt.NewNode(t, h, "a", short), tt.NewNode(t, h, "b", short)
			tt.Connect(t, a, b)
			await.Until(t, "both directions established", func() bool {
				if oneWay {
					return a.Peer("b").Connects == 1 && b.Peer("a").Connects == 1
				}
				return a.Peer("b").Connects == 1 && a.Peer("b").Duplex && b.Peer("a").Duplex
			})
			connects := b.Peer("a").Connects // b may have dialed before a's connection carried it
			inA, inB := a.Peer("b").BytesIn, b.Peer("a").BytesIn
			// 60 keep-alive frames each way: at 20ms each, over a second idle.
			await.Until(t, "keep-alives", func() bool {
				return a.Peer("b").BytesIn-inA >= 60*2*6 && b.Peer("a").BytesIn-inB >= 60*2*6
			})
			if a.Peer("b").Connects != 1 || b.Peer("a").Connects != connects {
				t.Fatalf("idle connections dropped: %d, %d connects", a.Peer("b").Connects, b.Peer("a").Connects)
			}
			if !oneWay && (!a.Peer("b").Duplex || !b.Peer("a").Duplex) {
				t.Fatal("the duplex connection was lost")
			}
		})
	}
}

// TestSilentPeerDropped: a peer that completes the handshake and then
// sends nothing, not even pings, is dropped after the read timeout.
func TestSilentPeerDropped(t *testing.T) {
	h := harness{memnet.New()}
	a := tt.NewNode(t, h, "a", tt.WithConfig(func(c *transport.Config) {
		c.ReadTimeout = 100 * time.Millisecond
		c.KeepAlive = 20 * time.Millisecond
	}))
	r := tt.DialRaw(t, h.Host("x"), a.EP.Addr())
	if _, rej := r.Handshake(tt.NewHello("test", "x", "a"), nil); rej != nil {
		t.Fatalf("rejected: %v", rej)
	}
	r.ExpectClosed()
	await.Until(t, "logged", func() bool { return len(a.Logs.Find("connection ended", "peer=x", "timeout")) > 0 })
}
