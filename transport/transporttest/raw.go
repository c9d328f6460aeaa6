package transporttest

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wippyd/wippyd/transport"
)

// The wire protocol, restated independently of the package so the tests
// pin it: frame type numbers, handshake keys, MAC labels and the key
// schedule of sealed connections. Bodies are built and parsed with a
// general msgpack library.
const (
	FrameHello   = 1
	FrameWelcome = 2
	FrameProof   = 3
	FrameReject  = 4
	FrameData    = 5
	FrameAck     = 6
	FramePing    = 7
	FrameSealed  = 8

	labelAcceptor = "wippyd transport acceptor\x00"
	labelDialer   = "wippyd transport dialer\x00"

	infoTransport = "wippyd internode v2"
	infoDialer    = "wippyd internode v2 dialer to acceptor"
	infoAcceptor  = "wippyd internode v2 acceptor to dialer"
)

// Raw is a hand-driven protocol peer for tests: it sends exactly what it
// is told to, well-formed or not. After a handshake with a key, ReadFrame
// opens the endpoint's sealed records and WriteSealed seals.
type Raw struct {
	t    testing.TB
	Conn net.Conn

	in, out      cipher.AEAD // nil until a keyed handshake
	inSeq        uint64
	outSeq       uint64
	pendingPlain []byte // frames of an opened record not read yet
}

// TransportKey derives the key of handshake proofs and connection keys
// from the cluster secret.
func TransportKey(secret []byte) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, infoTransport, 32)
	if err != nil {
		panic(err)
	}
	return k
}

// connKeys derives the two AEADs of a connection from the secret and the
// handshake bodies.
func connKeys(secret, hello, welcome []byte) (dialer, acceptor cipher.AEAD) {
	th := sha256.New()
	th.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hello))))
	th.Write(hello)
	th.Write(binary.BigEndian.AppendUint32(nil, uint32(len(welcome))))
	th.Write(welcome)
	salt := th.Sum(nil)
	aead := func(info string) cipher.AEAD {
		k, err := hkdf.Key(sha256.New, TransportKey(secret), salt, info, 32)
		if err != nil {
			panic(err)
		}
		b, err := aes.NewCipher(k)
		if err != nil {
			panic(err)
		}
		g, err := cipher.NewGCM(b)
		if err != nil {
			panic(err)
		}
		return g
	}
	return aead(infoDialer), aead(infoAcceptor)
}

func seqNonce(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 4, 12), seq) }

// SealRecord seals frames (whole frames, back to back) as the record
// numbered seq of a direction keyed by aead.
func SealRecord(aead cipher.AEAD, seq uint64, frames []byte) []byte {
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(frames)+aead.Overhead()))
	hdr = append(hdr, FrameSealed)
	return aead.Seal(hdr, seqNonce(seq), frames, hdr)
}

// WriteSealed sends frames as the next sealed record.
func (r *Raw) WriteSealed(frames ...[]byte) {
	r.t.Helper()
	var plain []byte
	for _, f := range frames {
		plain = append(plain, f...)
	}
	r.Write(SealRecord(r.out, r.outSeq, plain))
	r.outSeq++
}

// DialRaw opens a raw connection from host to addr.
func DialRaw(t testing.TB, nw transport.Network, addr string) *Raw {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := nw.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("raw dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Raw{t: t, Conn: c}
}

// Write sends bytes as they are. A failed write is only logged: the
// endpoint may rightly close before reading everything.
func (r *Raw) Write(b []byte) {
	r.t.Helper()
	r.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.Conn.Write(b); err != nil {
		r.t.Logf("raw write: %v", err)
	}
}

// Frame builds a frame: 4-byte big-endian body length, type, body.
func Frame(typ byte, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	return append(append(b, typ), body...)
}

// WriteFrame sends one frame.
func (r *Raw) WriteFrame(typ byte, body []byte) { r.Write(Frame(typ, body)) }

// ReadFrame reads one frame, failing the test on a timeout. On a sealed
// connection it opens records and returns the frames inside.
func (r *Raw) ReadFrame() (byte, []byte, error) {
	for r.in != nil {
		if len(r.pendingPlain) > 0 {
			n := binary.BigEndian.Uint32(r.pendingPlain)
			typ, body := r.pendingPlain[4], r.pendingPlain[5:5+n]
			r.pendingPlain = r.pendingPlain[5+n:]
			return typ, body, nil
		}
		typ, body, err := r.readOuter()
		if err != nil || typ != FrameSealed {
			return typ, body, err
		}
		hdr := append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), FrameSealed)
		plain, err := r.in.Open(nil, seqNonce(r.inSeq), body, hdr)
		if err != nil {
			r.t.Fatalf("raw: record %d from the endpoint does not open: %v", r.inSeq, err)
		}
		r.inSeq++
		r.pendingPlain = plain
	}
	return r.readOuter()
}

func (r *Raw) readOuter() (byte, []byte, error) {
	r.Conn.SetReadDeadline(time.Now().Add(waitFor))
	var h [5]byte
	if _, err := io.ReadFull(r.Conn, h[:]); err != nil {
		return 0, nil, r.checkTimeout(err)
	}
	n := binary.BigEndian.Uint32(h[:4])
	if n > 1<<20 {
		r.t.Fatalf("raw read: %d-byte frame", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.Conn, body); err != nil {
		return 0, nil, r.checkTimeout(err)
	}
	return h[4], body, nil
}

func (r *Raw) checkTimeout(err error) error {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.t.Fatalf("raw read timed out: the endpoint neither answered nor closed")
	}
	return err
}

// ExpectClosed reads until the endpoint closes the connection and returns
// the reject frames it sent first, decoded.
func (r *Raw) ExpectClosed() []map[string]any {
	r.t.Helper()
	var rejects []map[string]any
	for {
		typ, body, err := r.ReadFrame()
		if err != nil {
			return rejects
		}
		if typ == FrameReject {
			var m map[string]any
			if err := msgpack.Unmarshal(body, &m); err != nil {
				r.t.Fatalf("reject body is not msgpack: %v", err)
			}
			rejects = append(rejects, m)
		}
	}
}

// Hello is the dialer's first message, as a msgpack map.
type Hello map[string]any

// NewHello returns a well-formed hello from node from.
func NewHello(cluster, from, to string) Hello {
	nonce := make([]byte, 16)
	rand.Read(nonce)
	streams := make([]byte, 32)
	streams[0] = 1<<transport.StreamCluster | 1<<transport.StreamRaft
	return Hello{
		"vmin": uint16(1), "vmax": uint16(2), "cluster": cluster, "from": from, "to": to,
		"boot": uint64(0x1234), "gen": uint64(1), "addr": "", "nonce": nonce, "streams": streams,
	}
}

// Handshake sends hello, reads the welcome and proof, checks the proof
// with key and answers with its own. It returns the decoded welcome, or
// the reject fields if the endpoint refused.
func (r *Raw) Handshake(h Hello, key []byte) (welcome, reject map[string]any) {
	r.t.Helper()
	hb, err := msgpack.Marshal(map[string]any(h))
	if err != nil {
		r.t.Fatal(err)
	}
	r.WriteFrame(FrameHello, hb)
	typ, wb, err := r.ReadFrame()
	if err != nil {
		r.t.Fatalf("raw handshake: %v", err)
	}
	if typ == FrameReject {
		msgpack.Unmarshal(wb, &reject)
		return nil, reject
	}
	if typ != FrameWelcome {
		r.t.Fatalf("raw handshake: frame type %d, want welcome", typ)
	}
	if err := msgpack.Unmarshal(wb, &welcome); err != nil {
		r.t.Fatalf("welcome is not msgpack: %v", err)
	}
	typ, pb, err := r.ReadFrame()
	if err != nil || typ != FrameProof {
		r.t.Fatalf("raw handshake: frame %d, %v; want proof", typ, err)
	}
	var proof map[string]any
	if err := msgpack.Unmarshal(pb, &proof); err != nil {
		r.t.Fatalf("proof is not msgpack: %v", err)
	}
	mac, _ := proof["mac"].([]byte)
	if want := MAC(key, labelAcceptor, hb, wb); !hmac.Equal(mac, want) {
		r.t.Fatalf("acceptor proof %x, want %x", mac, want)
	}
	r.WriteProof(MAC(key, labelDialer, hb, wb))
	if len(key) > 0 {
		r.out, r.in = connKeys(key, hb, wb)
	}
	return welcome, nil
}

// WriteProof sends a proof frame carrying mac.
func (r *Raw) WriteProof(mac []byte) {
	pb, err := msgpack.Marshal(map[string]any{"mac": mac})
	if err != nil {
		r.t.Fatal(err)
	}
	r.WriteFrame(FrameProof, pb)
}

// MAC computes a handshake proof: HMAC-SHA256 keyed with the transport
// key derived from the secret, over the label and both length-prefixed
// bodies; nil without a secret.
func MAC(secret []byte, label string, hello, welcome []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, TransportKey(secret))
	m.Write([]byte(label))
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hello))))
	m.Write(hello)
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(welcome))))
	m.Write(welcome)
	return m.Sum(nil)
}

func mustMsgpack(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Data builds a data frame body: msgpack [seq, stream, bin body].
func Data(seq uint64, st transport.StreamType, body []byte) []byte {
	b, err := msgpack.Marshal([]any{seq, uint8(st), body})
	if err != nil {
		panic(fmt.Sprint("msgpack:", err))
	}
	return b
}

// ReadAck reads frames until an ack and returns its value.
func (r *Raw) ReadAck() uint64 {
	r.t.Helper()
	for {
		typ, body, err := r.ReadFrame()
		if err != nil {
			r.t.Fatalf("waiting for ack: %v", err)
		}
		if typ != FrameAck {
			continue
		}
		var v []uint64
		if err := msgpack.Unmarshal(body, &v); err != nil || len(v) != 1 {
			r.t.Fatalf("ack body %x: %v", body, err)
		}
		return v[0]
	}
}
