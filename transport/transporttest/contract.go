// Package transporttest is the contract every transport.Network must pass
// under a transport.Endpoint, written once and run against transport/tcp
// and transport/memnet, plus the helpers it is built from: test nodes that
// record deliveries, session events and logs; a fault wrapper adding Cut
// and Partition to any network; and Raw, a hand-driven protocol peer that
// speaks the wire format through a general msgpack library.
package transporttest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// Run runs the contract suite; newNet returns a fresh network per test.
func Run(t *testing.T, newNet func(t *testing.T) Net) {
	tests := []contractTest{
		{"SendReceive", testSendReceive},
		{"Mesh", testMesh},
		{"UnknownStream", testUnknownStream},
		{"NoLossAcrossCuts", testNoLossAcrossCuts},
		{"NoLossAcrossCutsCarried", testNoLossAcrossCutsCarried},
		{"DuplexCarriesBoth", testDuplexCarriesBoth},
		{"DuplexTakeover", testDuplexTakeover},
		{"DuplexMixed", testDuplexMixed},
		{"QueueOverflow", testQueueOverflow},
		{"Abandon", testAbandon},
		{"Forget", testForget},
		{"PeerRestart", testPeerRestart},
		{"PartitionHeal", testPartitionHeal},
		{"BadPeers", testBadPeers},
		{"BadSessionFrames", testBadSessionFrames},
		{"Auth", testAuth},
		{"Versions", testVersions},
		{"Lifecycle", testLifecycle},
		{"Backpressure", testBackpressure},
		{"BackpressureAcrossCuts", testBackpressureAcrossCuts},
		{"Churn", testChurn},
		{"SimultaneousConnect", testSimultaneousConnect},
		{"ForgedHello", testForgedHello},
		{"GhostNames", testGhostNames},
		{"HandshakeFlood", testHandshakeFlood},
		{"ReconnectBound", testReconnectBound},
		{"DialBackWhenHeard", testDialBackWhenHeard},
	}
	runTests(t, tests, newNet)
}

// contractTest is one test of the suite.
type contractTest struct {
	name string
	f    func(*testing.T, Net)
}

// runTests runs each test as a subtest on a fresh network.
func runTests(t *testing.T, tests []contractTest, newNet func(t *testing.T) Net) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, newNet(t)) })
	}
}

// RunSealed runs the contract tests that need no raw peer with a secret
// key on every node, so every frame travels sealed, and the attacks on
// sealed connections.
func RunSealed(t *testing.T, newNet func(t *testing.T) Net) {
	tests := []contractTest{
		{"SendReceive", testSendReceive},
		{"Mesh", testMesh},
		{"NoLossAcrossCuts", testNoLossAcrossCuts},
		{"NoLossAcrossCutsCarried", testNoLossAcrossCutsCarried},
		{"DuplexCarriesBoth", testDuplexCarriesBoth},
		{"DuplexTakeover", testDuplexTakeover},
		{"DuplexMixed", testDuplexMixed},
		{"QueueOverflow", testQueueOverflow},
		{"PeerRestart", testPeerRestart},
		{"PartitionHeal", testPartitionHeal},
		{"Backpressure", testBackpressure},
		{"Churn", testChurn},
		{"SimultaneousConnect", testSimultaneousConnect},
		{"FrameSizes", testFrameSizes},
		{"RawSealedPeer", testRawSealedPeer},
		{"Eavesdrop", testEavesdrop},
		{"Tamper", testTamper},
	}
	runTests(t, tests, func(t *testing.T) Net { return keyedNet{newNet(t), sealKey()} })
}

// sealKey is the secret of the nodes RunSealed starts.
func sealKey() []byte { return bytes.Repeat([]byte{0x5e}, 32) }

// keyedNet gives every node NewNode starts on it a secret key.
type keyedNet struct {
	Net
	key []byte
}

func (k keyedNet) secret() []byte { return k.key }

// keyOf returns the secret nodes on nw get, if any.
func keyOf(nw Net) []byte {
	if k, ok := nw.(interface{ secret() []byte }); ok {
		return k.secret()
	}
	return nil
}

// checkOrder verifies that the data a node got from peer on stream st is
// exactly Seq(0..n-1), in order.
func checkOrder(t testing.TB, n *Node, peer string, st transport.StreamType, want int) {
	t.Helper()
	var i uint64
	for _, it := range n.Rec.Select("data", peer) {
		if it.Stream != st {
			continue
		}
		if got := SeqOf(it.Body); got != i {
			t.Fatalf("%s got %d from %s on %v, want %d", n.Name, got, peer, st, i)
		}
		i++
	}
	if i != uint64(want) {
		t.Fatalf("%s got %d frames from %s on %v, want %d", n.Name, i, peer, st, want)
	}
}

func countData(n *Node, peer string) int { return len(n.Rec.Select("data", peer)) }

func send(t testing.TB, n *Node, peer string, st transport.StreamType, body []byte) {
	t.Helper()
	if err := n.EP.Send(peer, st, body); err != nil {
		t.Fatalf("%s send to %s: %v", n.Name, peer, err)
	}
}

func testSendReceive(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	const n = 200
	for i := range uint64(n) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
		send(t, a, "b", transport.StreamRaft, Seq(i))
		// b never called Connect: it dials back the address a advertised.
		send(t, b, "a", transport.StreamCluster, Seq(i))
	}
	await.Until(t, "all frames", func() bool { return countData(b, "a") == 2*n && countData(a, "b") == n })
	checkOrder(t, b, "a", transport.StreamCluster, n)
	checkOrder(t, b, "a", transport.StreamRaft, n)
	checkOrder(t, a, "b", transport.StreamCluster, n)

	// Order across streams is Send order too, and the session comes up
	// before the first frame, with the right boot ids.
	items := b.Rec.Items()
	if items[0].Kind != "up" || items[0].Event.Peer != (transport.Peer{Name: "a", Boot: a.EP.Boot()}) {
		t.Fatalf("first item on b: %+v, want up from a/%x", items[0], a.EP.Boot())
	}
	var prev transport.StreamType = transport.StreamRaft
	for _, it := range items[1:] {
		if it.Kind != "data" || it.From != (transport.Peer{Name: "a", Boot: a.EP.Boot()}) || it.Stream == prev {
			t.Fatalf("unexpected item on b: %+v after stream %v", it, prev)
		}
		prev = it.Stream
	}
	st := a.Peer("b")
	if st.Boot != b.EP.Boot() || st.SendSeq != 2*n || st.FramesOut != 2*n || st.BytesOut == 0 || st.BytesIn == 0 {
		t.Fatalf("a's stats for b: %+v", st)
	}
	await.Until(t, "acks", func() bool { return a.Peer("b").Acked == 2*n })
	if rs := b.Peer("a"); rs.RecvSeq != 2*n || rs.FramesIn != 2*n {
		t.Fatalf("b's stats for a: %+v", rs)
	}
	if len(a.Rec.Select("lost", "")) != 0 || len(b.Rec.Select("lost", "")) != 0 {
		t.Fatal("session lost without cause")
	}
}

func testMesh(t *testing.T, nw Net) {
	names := []string{"m1", "m2", "m3", "m4"}
	nodes := map[string]*Node{}
	for _, name := range names {
		nodes[name] = NewNode(t, nw, name)
	}
	for i, x := range names {
		for _, y := range names[i+1:] {
			if err := nodes[x].EP.Connect(y, nodes[y].EP.Addr()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, x := range names {
		for _, y := range names {
			if x != y {
				nodes[x].WaitUp(t, y, 1)
			}
		}
	}
	const n = 2000
	var wg sync.WaitGroup
	for _, x := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range uint64(n) {
				for _, y := range names {
					if y != x {
						if err := nodes[x].EP.Send(y, transport.StreamCluster, Seq(i)); err != nil {
							t.Errorf("%s -> %s: %v", x, y, err)
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, x := range names {
		for _, y := range names {
			if x != y {
				await.Until(t, fmt.Sprintf("%s from %s", x, y), func() bool { return countData(nodes[x], y) == n })
				checkOrder(t, nodes[x], y, transport.StreamCluster, n)
			}
		}
	}
}

func testUnknownStream(t *testing.T, nw Net) {
	a := NewNode(t, nw, "a")
	b := NewNode(t, nw, "b", WithHandler(transport.StreamRaft, nil))
	Connect(t, a, b)
	if err := a.EP.Send("b", transport.StreamRaft, []byte("x")); !errors.Is(err, transport.ErrUnknownStream) {
		t.Fatalf("send on a stream b does not serve: %v", err)
	}
	if err := a.EP.Send("b", 0, []byte("x")); !errors.Is(err, transport.ErrUnknownStream) {
		t.Fatalf("send on stream 0: %v", err)
	}
	if err := a.EP.Send("nobody", transport.StreamCluster, nil); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Fatalf("send to unknown peer: %v", err)
	}
	// Frames are held to the smaller of both sides' MaxFrame.
	c := NewNode(t, nw, "c", WithConfig(func(c *transport.Config) { c.MaxFrame = 4 << 10 }))
	Connect(t, a, c)
	if err := a.EP.Send("c", transport.StreamCluster, make([]byte, 5<<10)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("send beyond the peer's max frame: %v", err)
	}
	if err := c.EP.Send("a", transport.StreamCluster, make([]byte, 5<<10)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("send beyond the local max frame: %v", err)
	}
	send(t, a, "c", transport.StreamCluster, make([]byte, 4<<10-16))
	await.Until(t, "largest frame", func() bool { return countData(c, "a") == 1 })
	// A peer that sends it anyway (Raw ignores the welcome) has the frame
	// refused: dropped, counted, logged, the rest delivered.
	r := DialRaw(t, nw.Host("x"), b.EP.Addr())
	if _, rej := r.Handshake(NewHello("test", "x", "b"), nil); rej != nil {
		t.Fatalf("rejected: %v", rej)
	}
	r.WriteFrame(FrameData, Data(0, transport.StreamRaft, []byte("refused")))
	r.WriteFrame(FrameData, Data(1, transport.StreamCluster, Seq(7)))
	await.Until(t, "frame after the refused one", func() bool { return countData(b, "x") == 1 })
	if got := b.EP.Stats().Dropped[transport.DropUnknownStream]; got != 1 {
		t.Fatalf("unknown-stream drops = %d, want 1", got)
	}
	// The reader logs once the batch it read is handed over, which may
	// be after the next frame has been delivered.
	await.Until(t, "the unknown stream logged", func() bool { return len(b.Logs.Find("unregistered stream", "peer=x")) > 0 })
	if r.ReadAck() == 0 {
		t.Fatal("ack did not move past the refused frame")
	}
}

// testNoLossAcrossCuts cuts the connections 50 times while 100k frames
// flow one way and 20k the other: every frame must arrive exactly once, in
// order, and no session may be lost.
func testNoLossAcrossCuts(t *testing.T, nw Net) { noLossAcrossCuts(t, nw, false) }

// testNoLossAcrossCutsCarried: the same with the bulk sent by b, the node
// whose frames travel on a's connection when it is up (duplex) and on its
// own while a's is down, so they change connections at every cut.
func testNoLossAcrossCutsCarried(t *testing.T, nw Net) { noLossAcrossCuts(t, nw, true) }

// noLossAcrossCuts streams frames one way (a to b, or b to a when
// fromB) and fewer the other, while the connections between a and b are
// cut again and again: every frame arrives once and in order.
func noLossAcrossCuts(t *testing.T, nw Net, fromB bool) {
	const n, back, cuts = 100_000, 20_000, 50
	var got [2]atomic.Uint64
	var bad atomic.Value
	check := func(i int) transport.Handler {
		return func(_ transport.Peer, body []byte) {
			want := got[i].Load()
			if s := SeqOf(body); s != want {
				bad.CompareAndSwap(nil, fmt.Sprintf("node %d got %d, want %d", i, s, want))
			}
			got[i].Add(1)
		}
	}
	a := NewNode(t, nw, "a", WithHandler(transport.StreamCluster, check(0)))
	b := NewNode(t, nw, "b", WithHandler(transport.StreamCluster, check(1)))
	Connect(t, a, b)
	// bulk sends n frames to peer, whose count is got[rx]; the other
	// node sends back frames.
	bulk, peer, rx, other := a, "b", 1, b
	if fromB {
		bulk, peer, rx, other = b, "a", 0, a
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range uint64(back) {
			if err := other.EP.Send(bulk.Name, transport.StreamCluster, Seq(i)); err != nil {
				bad.CompareAndSwap(nil, fmt.Sprintf("%s send: %v", other.Name, err))
				return
			}
		}
	}()
	const step = n / cuts
	for c := range cuts {
		for i := c * step; i < (c+1)*step; i++ {
			send(t, bulk, peer, transport.StreamCluster, Seq(uint64(i)))
		}
		// Cut with about half a step still in flight or queued.
		mark := uint64(c*step + step/2)
		await.Until(t, "progress", func() bool { return got[rx].Load() >= mark })
		nw.Cut("a", "b")
	}
	await.Until(t, "every frame", func() bool { return got[rx].Load() == n && got[1-rx].Load() == back })
	<-done
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	for _, x := range []*Node{a, b} {
		if l := x.Rec.Select("lost", ""); len(l) != 0 {
			t.Fatalf("%s lost a session: %+v", x.Name, l[0].Event)
		}
		st := x.EP.Stats()
		for r, c := range st.Dropped {
			if r != transport.DropDuplicate {
				t.Fatalf("%s dropped %d frames: %v", x.Name, c, r)
			}
		}
	}
	// The cuts did cut: a dialed again after most of them, or (b's
	// frames) b dialed in the meantime, while a's connection was down.
	rc := a.Peer("b").Reconnects
	if fromB {
		rc += b.Peer("a").Connects
	}
	if rc < cuts/2 {
		t.Fatalf("%d new connections over %d cuts", rc, cuts)
	}
	t.Logf("a->b reconnects %d, b->a connections %d, duplicates dropped: by a %d, by b %d", a.Peer("b").Reconnects, b.Peer("a").Connects,
		a.EP.Stats().Dropped[transport.DropDuplicate], b.EP.Stats().Dropped[transport.DropDuplicate])
}

func testQueueOverflow(t *testing.T, nw Net) {
	small := WithConfig(func(c *transport.Config) {
		c.MaxFrame = 4 << 10
		c.SendQueueBytes = 64 << 10
	})
	a, b := NewNode(t, nw, "a", small), NewNode(t, nw, "b", small)
	Connect(t, a, b)
	send(t, a, "b", transport.StreamCluster, Seq(0))
	await.Until(t, "first frame acked", func() bool { return a.Peer("b").Acked == 1 })

	nw.Partition("a", "b")
	body := bytes.Repeat([]byte{1}, 1000)
	var err error
	sent := uint64(0)
	for ; sent < 1000 && err == nil; sent++ {
		err = a.EP.Send("b", transport.StreamCluster, body)
	}
	if !errors.Is(err, transport.ErrQueueFull) {
		t.Fatalf("after %d sends: %v, want ErrQueueFull", sent, err)
	}
	ev := a.WaitLost(t, "b", 1)
	if !errors.Is(ev.Reason, transport.ErrQueueFull) || ev.Peer != (transport.Peer{Name: "b", Boot: b.EP.Boot()}) || ev.Dropped != sent {
		t.Fatalf("a's loss: %+v, want queue full of b/%x with %d dropped", ev, b.EP.Boot(), sent)
	}
	if st := a.EP.Stats(); st.Dropped[transport.DropQueueFull] != sent || a.Peer("b").Dropped != sent {
		t.Fatalf("a's drop counters: %v, peer %d; want %d", st.Dropped, a.Peer("b").Dropped, sent)
	}
	// The next send opens a new session, which waits for the partition.
	send(t, a, "b", transport.StreamCluster, Seq(1))
	if len(b.Rec.Select("lost", "")) != 0 {
		t.Fatal("b lost the session while partitioned")
	}
	nw.Heal("a", "b")
	ev = b.WaitLost(t, "a", 1)
	if !errors.Is(ev.Reason, transport.ErrPeerAbandoned) || ev.Peer != (transport.Peer{Name: "a", Boot: a.EP.Boot()}) {
		t.Fatalf("b's loss: %+v", ev)
	}
	a.WaitUp(t, "b", 2)
	b.WaitUp(t, "a", 2)
	await.Until(t, "frame of the new session", func() bool { return countData(b, "a") == 2 })
	checkOrder(t, b, "a", transport.StreamCluster, 2)
	// The loss comes after the old session's frames, before the new one's.
	var kinds []string
	for _, it := range b.Rec.Items() {
		kinds = append(kinds, it.Kind)
	}
	if fmt.Sprint(kinds) != "[up data lost up data]" {
		t.Fatalf("b saw %v", kinds)
	}
	if rs := b.Peer("a").RecvSeq; rs != 1 {
		t.Fatalf("new session on b at frame %d, want 1", rs)
	}
}

func testAbandon(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	for i := range uint64(10) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
		send(t, b, "a", transport.StreamCluster, Seq(i))
	}
	await.Until(t, "frames", func() bool { return countData(b, "a") == 10 && countData(a, "b") == 10 })
	if err := a.EP.Abandon("b"); err != nil {
		t.Fatal(err)
	}
	if ev := a.WaitLost(t, "b", 1); !errors.Is(ev.Reason, transport.ErrAbandoned) || ev.Peer.Boot != b.EP.Boot() {
		t.Fatalf("a's loss: %+v", ev)
	}
	if ev := b.WaitLost(t, "a", 1); !errors.Is(ev.Reason, transport.ErrPeerAbandoned) || ev.Peer.Boot != a.EP.Boot() {
		t.Fatalf("b's loss: %+v", ev)
	}
	a.WaitUp(t, "b", 2)
	b.WaitUp(t, "a", 2)
	// Fresh sessions both ways: numbering restarts at 0.
	for i := range uint64(5) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
		send(t, b, "a", transport.StreamCluster, Seq(i))
	}
	await.Until(t, "new frames", func() bool { return countData(b, "a") == 15 && countData(a, "b") == 15 })
	if x, y := b.Peer("a").RecvSeq, a.Peer("b").RecvSeq; x != 5 || y != 5 {
		t.Fatalf("receive sequence after abandon: b %d, a %d; want 5", x, y)
	}
	if err := a.EP.Abandon("nobody"); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Fatalf("abandon unknown: %v", err)
	}
	if len(a.Rec.Select("lost", "")) != 1 || len(b.Rec.Select("lost", "")) != 1 {
		t.Fatal("a session was reported lost more than once")
	}
}

func testForget(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	if err := a.EP.Forget("b"); err != nil {
		t.Fatal(err)
	}
	if ev := a.WaitLost(t, "b", 1); !errors.Is(ev.Reason, transport.ErrAbandoned) {
		t.Fatalf("a's loss: %+v", ev)
	}
	// Unknown now, unless b has already dialed back in.
	if err := a.EP.Send("b", transport.StreamCluster, Seq(0)); err != nil && !errors.Is(err, transport.ErrUnknownPeer) {
		t.Fatalf("send after forget: %v", err)
	}
	// b still knows a and reconnects; a meets it as new, b learns its
	// session was abandoned.
	if ev := b.WaitLost(t, "a", 1); !errors.Is(ev.Reason, transport.ErrPeerAbandoned) {
		t.Fatalf("b's loss: %+v", ev)
	}
	a.WaitUp(t, "b", 2)
	send(t, a, "b", transport.StreamCluster, Seq(1))
	await.Until(t, "frame after forget", func() bool {
		d := b.Rec.Select("data", "a")
		return len(d) > 0 && SeqOf(d[len(d)-1].Body) == 1
	})
}

func testPeerRestart(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	for i := range uint64(10) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
	}
	await.Until(t, "frames", func() bool { return countData(b, "a") == 10 })
	await.Until(t, "acks", func() bool { return a.Peer("b").Acked == 10 })
	oldBoot := b.EP.Boot()
	b.EP.Close()
	// Frames for the old life of b are queued, then dropped at restart.
	for i := range uint64(3) {
		send(t, a, "b", transport.StreamCluster, Seq(100+i))
	}
	b2 := NewNode(t, nw, "b")
	if b2.EP.Boot() == oldBoot {
		t.Fatal("restart kept the boot id")
	}
	if err := a.EP.Connect("b", b2.EP.Addr()); err != nil {
		t.Fatal(err)
	}
	ev := a.WaitLost(t, "b", 1)
	if !errors.Is(ev.Reason, transport.ErrPeerRestarted) || ev.Peer != (transport.Peer{Name: "b", Boot: oldBoot}) || ev.Dropped != 3 {
		t.Fatalf("a's loss: %+v, want restart of b/%x with 3 dropped", ev, oldBoot)
	}
	a.WaitUp(t, "b", 2)
	if up := a.Rec.Select("up", "b"); up[1].Event.Peer.Boot != b2.EP.Boot() {
		t.Fatalf("second session with %+v", up[1].Event.Peer)
	}
	for i := range uint64(5) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
	}
	await.Until(t, "frames to the new life", func() bool { return countData(b2, "a") == 5 })
	checkOrder(t, b2, "a", transport.StreamCluster, 5)
	if rs, ss := b2.Peer("a").RecvSeq, a.Peer("b").SendSeq; rs != 5 || ss != 5 {
		t.Fatalf("new session numbering: b2 received up to %d, a sent up to %d; want 5", rs, ss)
	}
	if got := a.EP.Stats().Dropped[transport.DropPeerRestarted]; got != 3 {
		t.Fatalf("peer-restart drops = %d, want 3", got)
	}
	if len(b2.Rec.Select("lost", "")) != 0 {
		t.Fatal("the new life reported a loss")
	}
}

func testPartitionHeal(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	nw.Partition("a", "b")
	for i := range uint64(100) {
		send(t, a, "b", transport.StreamCluster, Seq(i))
		send(t, b, "a", transport.StreamCluster, Seq(i))
	}
	if q := a.Peer("b").QueueBytes; q == 0 {
		t.Fatal("nothing queued during the partition")
	}
	nw.Heal("a", "b")
	await.Until(t, "queued frames after heal", func() bool { return countData(b, "a") == 100 && countData(a, "b") == 100 })
	checkOrder(t, b, "a", transport.StreamCluster, 100)
	checkOrder(t, a, "b", transport.StreamCluster, 100)
	await.Until(t, "queue drained", func() bool { return a.Peer("b").QueueBytes == 0 })
	if len(a.Rec.Select("lost", "")) != 0 || len(b.Rec.Select("lost", "")) != 0 {
		t.Fatal("a partition within the queue bound lost the session")
	}
}

func testLifecycle(t *testing.T, nw Net) {
	cfg := TestConfig("a", nw.BindAddr("a"))
	ep, err := transport.New(cfg, nw.Host("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Send("b", transport.StreamCluster, nil); !errors.Is(err, transport.ErrNotStarted) {
		t.Fatalf("send before start: %v", err)
	}
	if err := ep.Connect("b", "x"); !errors.Is(err, transport.ErrNotStarted) {
		t.Fatalf("connect before start: %v", err)
	}
	if err := ep.Register(transport.StreamCluster, func(transport.Peer, []byte) {}); err != nil {
		t.Fatal(err)
	}
	if err := ep.Register(transport.StreamCluster, func(transport.Peer, []byte) {}); !errors.Is(err, transport.ErrStreamRegistered) {
		t.Fatalf("register twice: %v", err)
	}
	if err := ep.Start(); err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(); !errors.Is(err, transport.ErrStarted) {
		t.Fatalf("start twice: %v", err)
	}
	if err := ep.Register(transport.StreamRaft, func(transport.Peer, []byte) {}); !errors.Is(err, transport.ErrStarted) {
		t.Fatalf("register after start: %v", err)
	}
	if err := ep.OnSessionUp(func(transport.SessionEvent) {}); !errors.Is(err, transport.ErrStarted) {
		t.Fatalf("hook after start: %v", err)
	}
	if err := ep.Connect("a", "x"); !errors.Is(err, transport.ErrSelf) {
		t.Fatalf("connect to self: %v", err)
	}
	// Frames queued to a peer that never answers are dropped at Close.
	if err := ep.Connect("b", nw.BindAddr("nobody")); err != nil {
		t.Fatal(err)
	}
	if err := ep.Send("b", transport.StreamCluster, []byte("x")); err != nil {
		t.Fatal(err)
	}
	ep.Close()
	ep.Close()
	if err := ep.Send("b", transport.StreamCluster, nil); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := ep.Connect("c", "x"); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("connect after close: %v", err)
	}
	if got := ep.Stats().Dropped[transport.DropClosed]; got != 1 {
		t.Fatalf("closed drops = %d, want 1", got)
	}
	// Close before Start is fine too.
	ep2, err := transport.New(cfg, nw.Host("a"))
	if err != nil {
		t.Fatal(err)
	}
	ep2.Close()
	if err := ep2.Start(); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
}

// testBackpressure: a handler that stalls makes the receiver stop reading
// instead of buffering without bound; nothing is lost when it resumes.
func testBackpressure(t *testing.T, nw Net) {
	release := make(chan struct{})
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
	})
	a := NewNode(t, nw, "a", small)
	b := NewNode(t, nw, "b", small, WithHandler(transport.StreamCluster, stall))
	Connect(t, a, b)
	const n = 2000
	body := make([]byte, 1000)
	for i := range uint64(n) {
		binaryPut(body, i)
		send(t, a, "b", transport.StreamCluster, body)
	}
	// b's reader stops once its delivery queue is over the bound, so the
	// acks stop short of n: frames stay in a's queue, not in b's memory.
	await.Until(t, "acks stall", func() bool {
		acked := a.Peer("b").Acked
		return acked > 0 && acked < n
	})
	close(release)
	await.Until(t, "all delivered", func() bool { return got.Load() == n })
	await.Until(t, "all acked", func() bool { return a.Peer("b").Acked == n })
}

// testChurn abandons, forgets and reconnects while frames flow both ways,
// then checks what each side saw: sessions alternate up and lost, and
// every frame arrives inside the session of the peer life that sent it.
func testChurn(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, pair := range [][2]*Node{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for i := uint64(0); ; i++ {
				if i%20 == 0 {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
				err := pair[0].EP.Send(pair[1].Name, transport.StreamCluster, Seq(i))
				if err != nil && !errors.Is(err, transport.ErrUnknownPeer) && !errors.Is(err, transport.ErrQueueFull) {
					t.Errorf("send: %v", err)
					return
				}
			}
		}()
	}
	isUp := func(n *Node, peer string) bool {
		var last string
		for _, it := range n.Rec.Items() {
			if it.Kind != "data" && it.Event.Peer.Name == peer {
				last = it.Kind
			}
		}
		return last == "up"
	}
	for i := range 30 {
		ups := len(a.Rec.Select("up", "b"))
		switch i % 3 {
		case 0:
			a.EP.Abandon("b")
		case 1:
			a.EP.Forget("b")
			a.EP.Connect("b", b.EP.Addr())
		case 2:
			b.EP.Abandon("a")
		}
		await.Until(t, "both up again", func() bool {
			return len(a.Rec.Select("up", "b")) > ups && isUp(a, "b") && isUp(b, "a")
		})
	}
	close(stop)
	wg.Wait()
	checkSessions(t, a, "b", b.EP.Boot())
	checkSessions(t, b, "a", a.EP.Boot())
	if n := len(a.Rec.Select("lost", "b")); n < 30 {
		t.Fatalf("a saw %d losses for 30 abandonments", n)
	}
}

// testSimultaneousConnect has two endpoints that have never met Connect
// to each other at the same moment, as two nodes do when membership tells
// both about the other, and send at once: whichever connection's
// handshake lands first, one session comes up on each side, it is never
// lost, and every frame arrives in order.
func testSimultaneousConnect(t *testing.T, nw Net) {
	const rounds, frames = 40, 50
	for r := range rounds {
		a := NewNode(t, nw, fmt.Sprintf("sa%d", r))
		b := NewNode(t, nw, fmt.Sprintf("sb%d", r))
		var wg sync.WaitGroup
		for _, pair := range [][2]*Node{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := pair[0].EP.Connect(pair[1].Name, pair[1].EP.Addr()); err != nil {
					t.Errorf("connect: %v", err)
					return
				}
				for i := range uint64(frames) {
					if err := pair[0].EP.Send(pair[1].Name, transport.StreamCluster, Seq(i)); err != nil {
						t.Errorf("%s send: %v", pair[0].Name, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		await.Until(t, "all frames", func() bool { return countData(a, b.Name) == frames && countData(b, a.Name) == frames })
		checkOrder(t, a, b.Name, transport.StreamCluster, frames)
		checkOrder(t, b, a.Name, transport.StreamCluster, frames)
		for _, n := range []*Node{a, b} {
			if l := n.Rec.Select("lost", ""); len(l) != 0 {
				t.Fatalf("round %d: %s lost a session: %+v", r, n.Name, l[0].Event)
			}
			if u := n.Rec.Select("up", ""); len(u) != 1 {
				t.Fatalf("round %d: %s saw %d session-up events, want 1", r, n.Name, len(u))
			}
		}
		a.EP.Close()
		b.EP.Close()
	}
}

// checkSessions verifies the order of what n saw from peer: up and lost
// alternate (a loss of a session never up stands alone), and data only
// arrives inside a session, from the life it is with.
func checkSessions(t testing.TB, n *Node, peer string, boot uint64) {
	t.Helper()
	up := false
	for i, it := range n.Rec.Items() {
		name := it.From.Name
		if it.Kind != "data" {
			name = it.Event.Peer.Name
		}
		if name != peer {
			continue
		}
		switch {
		case it.Kind == "up" && !up && it.Event.Peer.Boot == boot:
			up = true
		case it.Kind == "lost" && up && it.Event.Peer.Boot == boot:
			up = false
		case it.Kind == "lost" && !up && it.Event.Peer.Boot == 0:
		case it.Kind == "data" && up && it.From.Boot == boot:
		default:
			t.Fatalf("%s item %d from %s out of order: %+v (session up: %v)", n.Name, i, peer, it, up)
		}
	}
}

func binaryPut(b []byte, i uint64) { copy(b, Seq(i)) }
