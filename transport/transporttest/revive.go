package transporttest

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// testDialBackWhenHeard: a peer that connects in has shown it is up, so
// an endpoint waiting out a long backoff before dialing it again dials at
// once: its frames reach the peer as soon as the peer is back, not a
// backoff later. (A node resumed after a pause, or back from a partition,
// dials out at once while the others, whose dials to it failed for as
// long as it was away, wait up to BackoffMax before trying again.)
func testDialBackWhenHeard(t *testing.T, nw Net) {
	dials := &failedDials{Network: nw.Host("a")}
	a := NewNode(t, countedNet{Net: nw, host: "a", nw: dials}, "a", WithConfig(func(c *transport.Config) {
		// Far beyond what the test waits: only a dial at once passes.
		c.BackoffMin, c.BackoffMax = time.Minute, time.Minute
	}))
	b := NewNode(t, nw, "b")
	nw.Partition("a", "b")
	if err := a.EP.Connect("b", b.EP.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := a.EP.Send("b", transport.StreamCluster, Seq(1)); err != nil {
		t.Fatal(err)
	}
	// a's first dial fails; it waits a minute before the next.
	await.Until(t, "a's dial refused", func() bool { return dials.n.Load() > 0 })
	if err := b.EP.Connect("a", a.EP.Addr()); err != nil {
		t.Fatal(err)
	}
	nw.Heal("a", "b")
	// b's dials go on at the test's backoff (at most 100ms): it reaches a.
	a.WaitUp(t, "b", 1)
	await.Until(t, "a's frame delivered to b", func() bool { return countData(b, "a") == 1 })
	if got := SeqOf(b.Rec.Select("data", "a")[0].Body); got != 1 {
		t.Fatalf("b got frame %d", got)
	}
}

// failedDials counts the dials of a network that returned an error.
type failedDials struct {
	transport.Network
	n atomic.Int32
}

func (f *failedDials) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := f.Network.Dial(ctx, addr)
	if err != nil {
		f.n.Add(1)
	}
	return c, err
}
