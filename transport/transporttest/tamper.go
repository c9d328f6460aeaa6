package transporttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// Sealed connections: what the frames look like on the wire, and what
// someone on the path who alters them achieves (nothing but a reconnect).

// testFrameSizes: frames of every size around the record bound (16 KiB)
// arrive intact, alone or many to a batch.
func testFrameSizes(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	sizes := []int{1, 1000, 16<<10 - 11, 16 << 10, 16<<10 + 1, 64 << 10, 300 << 10, 1 << 20}
	for range 500 {
		sizes = append(sizes, 200) // a batch of many small frames
	}
	body := func(i, n int) []byte {
		p := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, n/2+1)[:n]
		return p
	}
	for i, n := range sizes {
		send(t, a, "b", transport.StreamCluster, body(i, n))
	}
	await.Until(t, "every frame", func() bool { return countData(b, "a") == len(sizes) })
	for i, it := range b.Rec.Select("data", "a") {
		if !bytes.Equal(it.Body, body(i, sizes[i])) {
			t.Fatalf("frame %d (%d bytes) arrived as %d bytes, altered", i, sizes[i], len(it.Body))
		}
	}
}

// testRawSealedPeer pins the sealed wire format: a raw peer that derives
// the keys itself exchanges sealed frames with an endpoint; a frame in
// clear, or a record out of sequence, closes the connection.
func testRawSealedPeer(t *testing.T, nw Net) {
	key := keyOf(nw)
	b := NewNode(t, nw, "b")
	handshake := func(name string) *Raw {
		r := DialRaw(t, nw.Host(name), b.EP.Addr())
		if _, rej := r.Handshake(NewHello("test", name, "b"), key); rej != nil {
			t.Fatalf("%s: rejected: %v", name, rej)
		}
		return r
	}
	r := handshake("x")
	r.WriteSealed(Frame(FrameData, Data(0, transport.StreamCluster, []byte("hello"))),
		Frame(FramePing, []byte{0x90}), Frame(FrameData, Data(1, transport.StreamCluster, []byte("world"))))
	if next := r.ReadAck(); next != 2 {
		t.Fatalf("ack %d, want 2", next)
	}
	await.Until(t, "frames from the raw peer", func() bool { return countData(b, "x") == 2 })
	if got := b.Rec.Select("data", "x"); string(got[0].Body) != "hello" || string(got[1].Body) != "world" {
		t.Fatalf("delivered %q %q", got[0].Body, got[1].Body)
	}
	for _, tc := range []struct {
		name  string
		write func(r *Raw)
	}{
		{"clear frame", func(r *Raw) { r.WriteFrame(FrameData, Data(0, transport.StreamCluster, []byte("forged"))) }},
		{"skipped record", func(r *Raw) {
			r.outSeq++
			r.WriteSealed(Frame(FrameData, Data(0, transport.StreamCluster, []byte("forged"))))
		}},
		{"another key", func(r *Raw) {
			r.out, _ = connKeys(bytes.Repeat([]byte{1}, 32), []byte("h"), []byte("w"))
			r.WriteSealed(Frame(FrameData, Data(0, transport.StreamCluster, []byte("forged"))))
		}},
	} {
		before := b.EP.Stats().SealFailures
		r := handshake("y-" + tc.name)
		tc.write(r)
		r.ExpectClosed()
		if got := b.EP.Stats().SealFailures; got != before+1 {
			t.Fatalf("%s: seal failures %d, want %d", tc.name, got, before+1)
		}
		if n := countData(b, "y-"+tc.name); n != 0 {
			t.Fatalf("%s: %d frames delivered", tc.name, n)
		}
	}
	if len(b.Logs.Find("sealed record failed authentication")) == 0 {
		t.Fatal("no seal failure logged")
	}
}

// testEavesdrop: what a sealed connection carries is not readable on the
// path (the handshake's names and nonces are).
func testEavesdrop(t *testing.T, nw Net) {
	mitm := &interceptor{mode: "watch"}
	mitm.Network = nw.Host("a")
	a, b := NewNode(t, countedNet{Net: nw, host: "a", nw: mitm}, "a"), NewNode(t, nw, "b")
	Connect(t, a, b)
	secret := []byte("the quick brown fox pays the password 0451")
	send(t, a, "b", transport.StreamCluster, secret)
	await.Until(t, "the frame", func() bool { return countData(b, "a") == 1 })
	wire := mitm.seen()
	if !bytes.Contains(wire, []byte("test")) {
		t.Fatal("the interceptor saw nothing of the handshake")
	}
	if bytes.Contains(wire, secret) || bytes.Contains(wire, secret[:8]) {
		t.Fatal("the payload is readable on the wire")
	}
}

// testTamper: someone on the path between two nodes alters, replays,
// reorders, truncates or injects a record of a sealed connection. The
// receiver closes the connection and counts it; the frames are sent again
// on the next connection, so the handler sees every frame once, unaltered
// and in order.
func testTamper(t *testing.T, nw Net) {
	for _, mode := range []string{"flip", "replay", "reorder", "truncate", "inject", "cut"} {
		t.Run(mode, func(t *testing.T) {
			mitm := &interceptor{mode: mode}
			tn := countedNet{Net: nw, host: "a", nw: mitm}
			mitm.Network = nw.Host("a")
			a, b := NewNode(t, tn, "a"), NewNode(t, nw, "b")
			Connect(t, a, b)
			mitm.arm()
			for i := range uint64(5) {
				send(t, a, "b", transport.StreamCluster, Seq(i))
			}
			if mode == "reorder" {
				// The frames above may leave in one record, held until
				// the next one goes out, or in several (the writer takes
				// what is queued when it wakes), in which case the second
				// has already released the first: wait for either, not
				// for a hold that may be over.
				await.Until(t, "a record held back", mitm.taken)
			}
			for i := uint64(5); i < 10; i++ {
				send(t, a, "b", transport.StreamCluster, Seq(i))
			}
			await.Until(t, "every frame", func() bool { return countData(b, "a") == 10 })
			checkOrder(t, b, "a", transport.StreamCluster, 10)
			if !mitm.done() {
				t.Fatal("the interceptor never acted")
			}
			if mode != "cut" && b.EP.Stats().SealFailures == 0 {
				t.Fatalf("%s: no seal failure counted; b: %+v", mode, b.EP.Stats())
			}
			if l := append(a.Rec.Select("lost", ""), b.Rec.Select("lost", "")...); len(l) != 0 {
				t.Fatalf("%s: session lost: %+v", mode, l[0].Event)
			}
		})
	}
}

// interceptor is a host's network whose connections pass what they write
// through tamper, frame by frame, after the handshake's two frames.
type interceptor struct {
	transport.Network
	mode string

	mu    sync.Mutex
	armed bool
	acted bool
	held  []byte // a record kept back (reorder)
	wire  []byte // everything written (watch)
}

func (m *interceptor) seen() []byte { m.mu.Lock(); defer m.mu.Unlock(); return bytes.Clone(m.wire) }

func (m *interceptor) arm() { m.mu.Lock(); m.armed = true; m.mu.Unlock() }

// taken tells whether the interceptor holds a record back or has already
// sent it after the next one (reorder).
func (m *interceptor) taken() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.held != nil || m.acted }

func (m *interceptor) done() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.acted }

func (m *interceptor) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := m.Network.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	return &interceptConn{Conn: c, m: m}, nil
}

// tamper returns what to write instead of frame f, and whether to close
// the connection after it.
func (m *interceptor) tamper(f []byte) (out [][]byte, closeAfter bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode == "watch" {
		m.wire = append(m.wire, f...)
		return [][]byte{f}, false
	}
	if m.held != nil { // reorder: the record after the held one goes first
		out, m.held, m.acted = [][]byte{f, m.held}, nil, true
		return out, false
	}
	if !m.armed || (f[4] != FrameSealed && f[4] != FrameData) {
		return [][]byte{f}, false
	}
	m.armed, m.acted = false, true
	switch m.mode {
	case "flip":
		g := bytes.Clone(f)
		g[len(g)-1] ^= 0x01
		return [][]byte{g}, false
	case "replay":
		return [][]byte{f, f}, false
	case "reorder":
		m.held, m.acted = f, false
		return nil, false
	case "truncate":
		g := bytes.Clone(f[:len(f)-1])
		binary.BigEndian.PutUint32(g, uint32(len(g)-5))
		return [][]byte{g}, false
	case "inject":
		return [][]byte{Frame(FrameData, Data(0, transport.StreamCluster, Seq(99)))}, false
	case "cut":
		return [][]byte{f[:len(f)/2]}, true
	}
	panic(fmt.Sprintf("interceptor mode %q", m.mode))
}

// interceptConn splits what is written into frames for the interceptor.
type interceptConn struct {
	net.Conn
	m      *interceptor
	pend   []byte
	frames int
}

func (c *interceptConn) Write(b []byte) (int, error) {
	c.pend = append(c.pend, b...)
	for len(c.pend) >= 5 {
		n := 5 + int(binary.BigEndian.Uint32(c.pend))
		if len(c.pend) < n {
			break
		}
		f := bytes.Clone(c.pend[:n])
		c.pend = c.pend[n:]
		c.frames++
		out, closeAfter := [][]byte{f}, false
		if c.frames > 2 || c.m.mode == "watch" { // hello and proof go through
			out, closeAfter = c.m.tamper(f)
		}
		for _, o := range out {
			if _, err := c.Conn.Write(o); err != nil {
				return 0, err
			}
		}
		if closeAfter {
			c.Conn.Close()
			return 0, net.ErrClosed
		}
	}
	return len(b), nil
}
