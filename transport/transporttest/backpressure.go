package transporttest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// testBackpressureAcrossCuts: connections replaced while the receiver
// holds back reading (its handler stalls, the delivery queue is over its
// bound) leave no reader behind: once the handler moves again every frame
// arrives, and so do frames sent after. Each replaced connection's reader
// was still waiting for queue space when the next one started; a single
// wake-up went to the oldest waiter, whose connection was closed, and the
// current connection was never read again, while both sides showed the
// session up and the sender's acks kept coming.
func testBackpressureAcrossCuts(t *testing.T, nw Net) {
	const n, cuts = 3000, 3
	release := make(chan struct{})
	var once sync.Once
	unstall := func() { once.Do(func() { close(release) }) }
	var got atomic.Uint64
	stall := func(_ transport.Peer, body []byte) {
		if SeqOf(body) == 0 {
			<-release
		}
		got.Add(1)
	}
	small := WithConfig(func(c *transport.Config) {
		c.MaxFrame = 64 << 10
		c.RecvQueueBytes = 64 << 10
		// The sender keeps its connection however long acks stall.
		c.ReadTimeout, c.WriteTimeout = time.Minute, time.Minute
	})
	a := NewNode(t, nw, "a", small)
	b := NewNode(t, nw, "b", small, WithHandler(transport.StreamCluster, stall))
	// After the nodes: cleanups run last first, so the handler is let go
	// before the endpoints close.
	t.Cleanup(unstall)
	Connect(t, a, b)
	body := make([]byte, 1000)
	for i := range uint64(n) {
		binaryPut(body, i)
		send(t, a, "b", transport.StreamCluster, body)
	}
	// Frame 0 holds the handler, and the reader that delivers it: b reads
	// nothing more from that connection.
	await.Until(t, "b's handler holding frame 0", func() bool { return b.Peer("a").RecvSeq > 0 })
	for c := range cuts {
		read, connects := b.Peer("a").RecvSeq, a.Peer("b").Connects
		nw.Cut("a", "b")
		// a replays on a new connection; its reader queues frames behind
		// the held one until the queue is over its bound (the bound counts
		// bodies: 66 of 1000 bytes), then waits for space. It may queue a
		// few more, a read's worth, never fewer. The first one fills the
		// queue; the later ones find it full.
		more := uint64(1)
		if c == 0 {
			more = 64<<10/uint64(len(body)) + 1
		}
		await.Until(t, "a reconnected and b queued more", func() bool {
			return a.Peer("b").Connects > connects && b.Peer("a").RecvSeq >= read+more
		})
		t.Logf("cut %d: b had read %d frames, now %d", c, read, b.Peer("a").RecvSeq)
	}
	unstall()
	await.Until(t, "every frame delivered", func() bool { return got.Load() == n })
	for i := range uint64(10) {
		binaryPut(body, n+i)
		send(t, a, "b", transport.StreamCluster, body)
	}
	await.Until(t, "frames sent after delivered", func() bool { return got.Load() == n+10 })
	await.Until(t, "all acked", func() bool { return a.Peer("b").Acked == n+10 })
	if l := b.Rec.Select("lost", ""); len(l) != 0 {
		t.Fatalf("b lost a session: %+v", l[0].Event)
	}
}
