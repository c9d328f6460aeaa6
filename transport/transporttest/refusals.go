package transporttest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
)

// Refusals: what a misbehaving or misconfigured peer meets.

// testBadPeers: garbage, oversized frames and failed handshakes are
// refused and logged, and the endpoint keeps serving a good peer.
func testBadPeers(t *testing.T, nw Net) {
	a, b := NewNode(t, nw, "a"), NewNode(t, nw, "b")
	evil := nw.Host("evil")
	hello := func(edit func(Hello)) []byte {
		h := NewHello("test", "evil", "b")
		edit(h)
		return Frame(FrameHello, mustMsgpack(t, map[string]any(h)))
	}
	cases := []struct {
		name   string
		input  []byte
		reject int64 // reject code expected before the close; 0 = none
		log    string
	}{
		{"http", []byte("GET / HTTP/1.1\r\nHost: b\r\n\r\n"), 0, "frame too large"},
		{"oversized", Frame(FrameHello, make([]byte, 70<<10)), 0, "frame too large"},
		{"empty body", Frame(FrameHello, nil), 0, "empty"},
		{"not a hello", Frame(FrameData, Data(0, 1, nil)), 0, "want hello"},
		{"garbage hello", Frame(FrameHello, []byte{0xc1, 0xff}), 1, "malformed"},
		{"missing fields", Frame(FrameHello, mustMsgpack(t, map[string]any{"from": "evil"})), 1, "without"},
		{"other cluster", hello(func(h Hello) { h["cluster"] = "other" }), 2, "cluster name mismatch"},
		{"versions", hello(func(h Hello) { h["vmin"], h["vmax"] = 3, 9 }), 3, "no common protocol version"},
		{"own name", hello(func(h Hello) { h["from"] = "b" }), 5, "this node's name"},
		{"wrong node", hello(func(h Hello) { h["to"] = "c" }), 5, "peer wants"},
		{"long name", hello(func(h Hello) { h["from"] = string(make([]byte, 300)) }), 1, "300 bytes"},
		{"short nonce", hello(func(h Hello) { h["nonce"] = []byte{1} }), 1, "nonce"},
	}
	for _, tc := range cases {
		r := DialRaw(t, evil, b.EP.Addr())
		r.Write(tc.input)
		rejects := r.ExpectClosed()
		switch {
		case tc.reject == 0 && len(rejects) != 0:
			t.Errorf("%s: rejected with %v, want a plain close", tc.name, rejects)
		case tc.reject != 0 && (len(rejects) != 1 || toInt(rejects[0]["code"]) != tc.reject):
			t.Errorf("%s: rejects %v, want code %d", tc.name, rejects, tc.reject)
		}
		await.Until(t, tc.name+" logged", func() bool { return len(b.Logs.Find("handshake failed", tc.log)) > 0 })
	}
	// A dialer that stops mid-handshake is dropped when the peer closes.
	r := DialRaw(t, evil, b.EP.Addr())
	r.Write(Frame(FrameHello, nil)[:3])
	r.Conn.Close()

	if got := b.EP.Stats().HandshakeFailures; got < uint64(len(cases)) {
		t.Fatalf("handshake failures = %d, want >= %d", got, len(cases))
	}
	Connect(t, a, b)
	send(t, a, "b", transport.StreamCluster, Seq(0))
	send(t, b, "a", transport.StreamCluster, Seq(0))
	await.Until(t, "good peer served", func() bool { return countData(b, "a") == 1 && countData(a, "b") == 1 })
}

// testBadSessionFrames: an authenticated peer that breaks the protocol is
// disconnected and logged; the endpoint keeps serving others.
func testBadSessionFrames(t *testing.T, nw Net) {
	a := NewNode(t, nw, "a", WithConfig(func(c *transport.Config) { c.MaxFrame = 4 << 10 }))
	cases := []struct {
		name  string
		input []byte
		log   string
	}{
		{"oversized data", Frame(FrameData, make([]byte, 5<<10)), "frame too large"},
		{"garbage data", Frame(FrameData, []byte{0x93, 0xc1, 1, 2}), "malformed"},
		{"gap", Frame(FrameData, Data(5, transport.StreamCluster, nil)), "expected 0"},
		{"hello again", Frame(FrameHello, []byte{0x80}), "unexpected hello"},
		{"zero stream", Frame(FrameData, Data(0, 0, nil)), "stream type 0"},
		{"trailing bytes", Frame(FrameData, append(Data(0, 1, nil), 0)), "trailing"},
		{"bad ping", Frame(FramePing, []byte{0xdc, 0xff}), "truncated"},
	}
	for i, tc := range cases {
		name := fmt.Sprintf("evil%d", i)
		r := DialRaw(t, nw.Host(name), a.EP.Addr())
		if _, rej := r.Handshake(NewHello("test", name, "a"), nil); rej != nil {
			t.Fatalf("%s: rejected %v", tc.name, rej)
		}
		r.WriteFrame(FramePing, []byte{0x90})
		r.Write(tc.input)
		r.ExpectClosed()
		await.Until(t, tc.name+" logged", func() bool { return len(a.Logs.Find("connection ended", "peer="+name, tc.log)) > 0 })
	}
	if got := a.EP.Stats().ProtocolErrors; got != uint64(len(cases)) {
		t.Fatalf("protocol errors = %d, want %d", got, len(cases))
	}
	b := NewNode(t, nw, "b")
	Connect(t, b, a)
	send(t, b, "a", transport.StreamCluster, Seq(0))
	await.Until(t, "good peer served", func() bool { return countData(a, "b") == 1 })
}

func testAuth(t *testing.T, nw Net) {
	k1 := bytes.Repeat([]byte{1}, 32)
	k2 := bytes.Repeat([]byte{2}, 32)
	key := func(k []byte) Option { return WithConfig(func(c *transport.Config) { c.SecretKey = k }) }
	cases := []struct {
		name   string
		ka, kb []byte
		log    string
	}{
		{"wrong key", k1, k2, "wrong secret key"},
		{"dialer has none", nil, k1, "secret key"},
		{"acceptor has none", k1, nil, "secret key"},
	}
	for i, tc := range cases {
		an, bn := fmt.Sprintf("a%d", i), fmt.Sprintf("b%d", i)
		a, b := NewNode(t, nw, an, key(tc.ka)), NewNode(t, nw, bn, key(tc.kb))
		// Both dial: each direction must be refused by both sides.
		if err := a.EP.Connect(bn, b.EP.Addr()); err != nil {
			t.Fatal(err)
		}
		if err := b.EP.Connect(an, a.EP.Addr()); err != nil {
			t.Fatal(err)
		}
		await.Until(t, tc.name+" refusals", func() bool {
			return a.EP.Stats().HandshakeFailures >= 2 && b.EP.Stats().HandshakeFailures >= 2
		})
		for _, n := range []*Node{a, b} {
			if len(n.Rec.Select("up", "")) != 0 {
				t.Fatalf("%s: %s came up", tc.name, n.Name)
			}
			if len(n.Logs.Find("authentication failed", tc.log)) == 0 {
				t.Fatalf("%s: %s logged no authentication failure", tc.name, n.Name)
			}
		}
		a.EP.Close()
		b.EP.Close()
	}

	// Raw dialer with the wrong proof against a keyed node.
	a := NewNode(t, nw, "keyed", key(k1))
	r := DialRaw(t, nw.Host("x"), a.EP.Addr())
	r.WriteFrame(FrameHello, mustMsgpack(t, map[string]any(NewHello("test", "x", "keyed"))))
	for _, want := range []byte{FrameWelcome, FrameProof} {
		if typ, _, err := r.ReadFrame(); err != nil || typ != want {
			t.Fatalf("frame %d, %v; want %d", typ, err, want)
		}
	}
	r.WriteProof(bytes.Repeat([]byte{9}, 32))
	if rej := r.ExpectClosed(); len(rej) != 1 || toInt(rej[0]["code"]) != 4 {
		t.Fatalf("bad proof: rejects %v, want code 4", rej)
	}

	// The same key on both sides works, and the raw peer checks the MAC.
	b := NewNode(t, nw, "keyed2", key(k1))
	Connect(t, a, b)
	send(t, a, "keyed2", transport.StreamCluster, Seq(0))
	await.Until(t, "frame", func() bool { return countData(b, "keyed") == 1 })
	r = DialRaw(t, nw.Host("y"), a.EP.Addr())
	if _, rej := r.Handshake(NewHello("test", "y", "keyed"), k1); rej != nil {
		t.Fatalf("good key rejected: %v", rej)
	}
}

// testVersions: the highest common version is chosen; with a key only
// version 2 (sealed) is spoken, so a peer that cannot seal is refused.
func testVersions(t *testing.T, nw Net) {
	key := bytes.Repeat([]byte{7}, 32)
	plain := NewNode(t, nw, "a")
	keyed := NewNode(t, nw, "k", WithConfig(func(c *transport.Config) { c.SecretKey = key }))
	for _, tc := range []struct {
		keyed    bool
		min, max uint16
		want     int64 // chosen version; 0 = refused
	}{
		{false, 1, 1, 1}, {false, 1, 9, 2}, {false, 0, 3, 2}, {false, 2, 2, 2}, {false, 3, 9, 0}, {false, 0, 0, 0},
		{true, 1, 1, 0}, {true, 1, 2, 2}, {true, 2, 9, 2}, {true, 3, 9, 0},
	} {
		n, k := plain, []byte(nil)
		if tc.keyed {
			n, k = keyed, key
		}
		r := DialRaw(t, nw.Host("x"), n.EP.Addr())
		h := NewHello("test", "x", n.Name)
		h["vmin"], h["vmax"] = tc.min, tc.max
		w, rej := r.Handshake(h, k)
		switch {
		case tc.want == 0 && (rej == nil || toInt(rej["code"]) != 3):
			t.Fatalf("keyed %v, versions %d..%d: welcome %v, reject %v; want reject code 3", tc.keyed, tc.min, tc.max, w, rej)
		case tc.want != 0 && (rej != nil || toInt(w["v"]) != tc.want):
			t.Fatalf("keyed %v, versions %d..%d: welcome %v, reject %v; want version %d", tc.keyed, tc.min, tc.max, w, rej, tc.want)
		}
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return -1
}
