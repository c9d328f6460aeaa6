package transport

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The frame and handshake bodies are msgpack a general library reads.
func TestBodiesAreMsgpack(t *testing.T) {
	frame := appendData(nil, 300, StreamRaft, []byte("hello"))
	var fields []any
	if err := msgpack.Unmarshal(frame[headerSize:], &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 || toU64(fields[0]) != 300 || toU64(fields[1]) != 2 || !bytes.Equal(fields[2].([]byte), []byte("hello")) {
		t.Fatalf("data frame read as %v", fields)
	}
	var ack []uint64
	if err := msgpack.Unmarshal(appendAck(nil, 1<<40)[headerSize:], &ack); err != nil || !reflect.DeepEqual(ack, []uint64{1 << 40}) {
		t.Fatalf("ack read as %v, %v", ack, err)
	}
	h := testHello()
	var m map[string]any
	if err := msgpack.Unmarshal(h.encode(), &m); err != nil || m["from"] != "a" || m["cluster"] != "c" {
		t.Fatalf("hello read as %v, %v", m, err)
	}
}

func toU64(v any) uint64 {
	switch x := v.(type) {
	case int8:
		return uint64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case int64:
		return uint64(x)
	case uint64:
		return x
	}
	return math.MaxUint64
}

// Every kind of bad body is a protocol error, with the field it was in.
func TestDecodersRefuse(t *testing.T) {
	cases := map[string]error{
		"data, two fields": func() error { _, _, _, err := decodeData([]byte{0x92, 1, 1}); return err }(),
		"data, stream 0":   func() error { _, _, _, err := decodeData([]byte{0x93, 1, 0, 0xc4, 0}); return err }(),
		"data, stream 256": func() error { _, _, _, err := decodeData([]byte{0x93, 1, 0xcd, 1, 0, 0xc4, 0}); return err }(),
		"data, truncated":  func() error { _, _, _, err := decodeData([]byte{0x93, 1, 1, 0xc4, 9}); return err }(),
		"ack, negative":    func() error { _, err := decodeAck([]byte{0x91, 0xff}); return err }(),
		"hello, not a map": func() error { _, err := decodeHello([]byte{0x90}); return err }(),
		"hello, vmax 70000": func() error {
			_, err := decodeHello([]byte{0x81, 0xa4, 'v', 'm', 'a', 'x', 0xce, 0, 1, 0x11, 0x70})
			return err
		}(),
		"proof, reserved": func() error { _, err := decodeProof([]byte{0x81, 0xa1, 'x', 0xc1}); return err }(),
	}
	for name, err := range cases {
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol error", name, err)
		}
	}
	if _, err := decodeHello([]byte{0x81, 0xa4, 'v', 'm', 'a', 'x', 0xce, 0, 1, 0x11, 0x70}); err == nil || !strings.Contains(err.Error(), `field "vmax"`) {
		t.Errorf("error does not name the field: %v", err)
	}
}

func TestDataRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 65536} {
		payload := bytes.Repeat([]byte{7}, n)
		for _, seq := range []uint64{0, 127, 1 << 33} {
			f := appendData(nil, seq, StreamRegistry, payload)
			if len(f) != headerSize+dataBodySize(seq, StreamRegistry, n) {
				t.Fatalf("size of data frame seq %d len %d", seq, n)
			}
			s, st, p, err := decodeData(f[headerSize:])
			if err != nil || s != seq || st != StreamRegistry || !bytes.Equal(p, payload) {
				t.Fatalf("decode seq %d len %d: %d %v %d, %v", seq, n, s, st, len(p), err)
			}
		}
	}
	// Another encoder's choices (fixed-size ints, nil body) are accepted.
	b, _ := msgpack.Marshal([]any{uint64(5), uint64(1), nil})
	if s, st, p, err := decodeData(b); err != nil || s != 5 || st != 1 || len(p) != 0 {
		t.Fatalf("general encoding: %d %v %v %v", s, st, p, err)
	}
}

func TestFrameReader(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := range 200 {
		body := bytes.Repeat([]byte{byte(i)}, i*97)
		want = append(want, body)
		stream = appendData(stream, uint64(i), StreamCluster, body)
	}
	// One byte per read: frames split across reads and chunks.
	fr := &frameReader{r: iotest.OneByteReader(bytes.NewReader(stream)), max: 1 << 20}
	var got [][]byte
	for {
		typ, body, err := fr.read()
		if err == io.EOF {
			break
		}
		if err != nil || typ != frameData {
			t.Fatalf("frame %d: %v %v", len(got), typ, err)
		}
		_, _, p, err := decodeData(body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	// Bodies returned earlier are intact after later reads.
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("body %d changed", i)
		}
	}
}

func TestFrameReaderLimits(t *testing.T) {
	huge := appendHeader(nil, frameData, 1<<30)
	fr := &frameReader{r: bytes.NewReader(huge), max: 16 << 20}
	if _, _, err := fr.read(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("1 GiB frame: %v", err)
	}
	if cap(fr.buf) > readChunk {
		t.Fatalf("reader sized a %d-byte buffer for a refused frame", cap(fr.buf))
	}
	fr = &frameReader{r: bytes.NewReader(appendHeader(nil, frameData, 0)), max: 100}
	if _, _, err := fr.read(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("empty frame: %v", err)
	}
	// Exactly max is fine; a large frame gets its own buffer.
	big := appendFrame(nil, framePing, append([]byte{0xc6, 0, 2, 0, 0}, make([]byte, 128<<10)...))
	fr = &frameReader{r: bytes.NewReader(big), max: len(big) - headerSize}
	if typ, body, err := fr.read(); err != nil || typ != framePing || len(body) != len(big)-headerSize {
		t.Fatalf("max-size frame: %v %d %v", typ, len(body), err)
	}
}

func TestAckPing(t *testing.T) {
	for _, v := range []uint64{0, 1, 1 << 50} {
		if got, err := decodeAck(appendAck(nil, v)[headerSize:]); err != nil || got != v {
			t.Fatalf("ack %d: %d %v", v, got, err)
		}
	}
	if _, err := decodeAck([]byte{0x92, 1, 2}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("two-field ack: %v", err)
	}
	if err := checkPing(pingFrame[headerSize:]); err != nil {
		t.Fatal(err)
	}
	if err := checkPing([]byte{0x90, 0x90}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("ping with trailing bytes: %v", err)
	}
}

func testHello() *hello {
	h := &hello{VMin: 1, VMax: 3, Cluster: "c", From: "a", To: "b", Boot: 7, Gen: 9, Addr: "10.0.0.1:7950", Nonce: bytes.Repeat([]byte{5}, nonceSize), MaxFrame: 1 << 20, Duplex: true}
	h.Streams.add(StreamCluster)
	h.Streams.add(255)
	return h
}

func TestHandshakeRoundTrip(t *testing.T) {
	h := testHello()
	got, err := decodeHello(h.encode())
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("hello: %+v, %v", got, err)
	}
	w := &welcome{Version: 1, Cluster: "c", Name: "b", Boot: 8, Gen: 2, Next: 1 << 40, Nonce: bytes.Repeat([]byte{6}, 32), MaxFrame: 4096, Duplex: true}
	w.Streams.add(StreamRaft)
	gw, err := decodeWelcome(w.encode())
	if err != nil || !reflect.DeepEqual(gw, w) || !gw.Streams.has(StreamRaft) || gw.Streams.has(StreamCluster) {
		t.Fatalf("welcome: %+v, %v", gw, err)
	}
	mac := bytes.Repeat([]byte{1}, 32)
	if got, err := decodeProof(encodeProof(mac)); err != nil || !bytes.Equal(got, mac) {
		t.Fatalf("proof: %x %v", got, err)
	}
	code, reason, err := decodeReject(encodeReject(rejectAuth, "no"))
	if err != nil || code != rejectAuth || reason != "no" {
		t.Fatalf("reject: %v %q %v", code, reason, err)
	}
	if err := rejectError(encodeReject(rejectCluster, "x")); !errors.Is(err, ErrRejected) || !errors.Is(err, ErrClusterMismatch) {
		t.Fatalf("reject error: %v", err)
	}
	// A later version's extra fields are skipped.
	m := map[string]any{}
	msgpack.Unmarshal(h.encode(), &m)
	m["future"] = map[string]any{"x": []any{1, 2}}
	b, _ := msgpack.Marshal(m)
	if got, err := decodeHello(b); err != nil || got.From != "a" || !got.Streams.has(255) {
		t.Fatalf("hello with an extra field: %+v, %v", got, err)
	}
	// One from before duplex connections says nothing about them: no
	// duplex.
	delete(m, "duplex")
	b, _ = msgpack.Marshal(m)
	if got, err := decodeHello(b); err != nil || got.Duplex {
		t.Fatalf("hello without duplex: %+v, %v", got, err)
	}
	m["duplex"] = 1
	b, _ = msgpack.Marshal(m)
	if _, err := decodeHello(b); !errors.Is(err, ErrProtocol) {
		t.Fatalf("hello with a number for duplex: %v", err)
	}
	delete(m, "duplex")
	delete(m, "nonce")
	b, _ = msgpack.Marshal(m)
	if _, err := decodeHello(b); !errors.Is(err, ErrProtocol) {
		t.Fatalf("hello without nonce: %v", err)
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		a0, a1, b0, b1, want uint16
	}{
		{1, 1, 1, 1, 1}, {1, 3, 2, 5, 3}, {2, 5, 1, 3, 3}, {1, 9, 4, 4, 4},
		{1, 1, 2, 3, 0}, {3, 4, 1, 2, 0}, {0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		got, err := negotiate(c.a0, c.a1, c.b0, c.b1)
		if c.want == 0 {
			if !errors.Is(err, ErrVersionMismatch) {
				t.Errorf("%v: %d, %v; want mismatch", c, got, err)
			}
		} else if err != nil || got != c.want {
			t.Errorf("%v: %d, %v; want %d", c, got, err, c.want)
		}
	}
}

func TestProof(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	hb, wb := []byte("hello"), []byte("welcome")
	good := proofMAC(k1, labelAcceptor, hb, wb)
	cases := []struct {
		name string
		key  []byte
		mac  []byte
		ok   bool
	}{
		{"no keys", nil, nil, true},
		{"same key", k1, good, true},
		{"wrong key", k2, good, false},
		{"peer has none", k1, nil, false},
		{"this side has none", nil, good, false},
		{"other label", k1, proofMAC(k1, labelDialer, hb, wb), false},
		{"other transcript", k1, proofMAC(k1, labelAcceptor, wb, hb), false},
	}
	for _, c := range cases {
		err := checkProof(c.key, labelAcceptor, hb, wb, c.mac)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrAuth)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if proofMAC(nil, labelAcceptor, hb, wb) != nil {
		t.Fatal("MAC without a key")
	}
}

// A chunk whose bodies were all released and none kept is read into
// again; a body kept stays intact, and so does every body of its chunk.
func TestFrameReaderReusesReleasedChunks(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := range 6000 {
		body := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 50+i%40)
		want = append(want, body)
		stream = appendData(stream, uint64(i), StreamCluster, body)
	}
	// 1000-byte reads: frames cut by reads and by chunk ends.
	fr := &frameReader{r: &chunkedReader{b: stream, n: 1000}, max: 1 << 20}
	kept := map[int][]byte{}   // frame index -> payload kept past its release
	chunks := map[*byte]bool{} // distinct chunk memory
	switches := 0
	var last *byte
	n := 0
	for {
		if len(fr.buf) > 0 && &fr.buf[0] != last {
			last = &fr.buf[0]
			chunks[last] = true
			switches++
		}
		var batch []int
		for {
			_, body, ok, err := fr.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			_, _, p, err := decodeData(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, want[n]) {
				t.Fatalf("frame %d: wrong body", n)
			}
			if n%3000 == 0 {
				kept[n] = p
			}
			batch = append(batch, n)
			n++
		}
		keep := false
		for _, i := range batch {
			keep = keep || kept[i] != nil
		}
		fr.release(keep)
		if _, err := fr.fill(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n != len(want) {
		t.Fatalf("%d frames, want %d", n, len(want))
	}
	for i, p := range kept {
		if !bytes.Equal(p, want[i]) {
			t.Fatalf("kept body %d changed", i)
		}
	}
	// Two chunks pinned by a kept body, two taking turns for the rest,
	// and the first.
	if switches < 10 || len(chunks) > 5 {
		t.Fatalf("%d chunks of memory for %d chunks read", len(chunks), switches)
	}
}

// chunkedReader reads at most n bytes at a time.
type chunkedReader struct {
	b []byte
	n int
}

func (r *chunkedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// splitData reads every data frame appendData writes, as decodeDataAny
// does.
func TestSplitData(t *testing.T) {
	for _, seq := range []uint64{0, 127, 128, 255, 256, 65535, 65536, 1 << 32, 1 << 63} {
		for _, n := range []int{0, 1, 255, 256, 65535, 65536} {
			payload := bytes.Repeat([]byte{byte(n)}, n)
			frame := appendData(nil, seq, StreamGroups, payload)
			body := frame[headerSize:]
			s, st, p, ok := splitData(body)
			if !ok || s != seq || st != StreamGroups || !bytes.Equal(p, payload) || cap(p) != len(p) {
				t.Fatalf("seq %d, %d bytes: %v %d %v", seq, n, ok, s, st)
			}
			if s2, st2, p2, err := decodeDataAny(body); err != nil || s2 != s || st2 != st || !bytes.Equal(p2, p) {
				t.Fatalf("seq %d, %d bytes: general path %d %v %v", seq, n, s2, st2, err)
			}
		}
	}
}
