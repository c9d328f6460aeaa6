package wire_test

import (
	"bytes"
	"os"
	"reflect"
	"sync"
	"testing"

	"github.com/wippyd/wippyd/cluster/wire"
)

// seed adds every golden sample of one message type, and its prefixes, to
// a fuzz corpus.
func seed(f *testing.F, keep func(m any) bool) {
	e := wire.NewEncoder()
	for _, s := range samples() {
		if !keep(s.msg) {
			continue
		}
		body, err := encode(e, s.msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
		f.Add(body[:len(body)/2])
	}
	if data, err := os.ReadFile(goldenFile); err == nil {
		for _, b := range readGolden(f, data) {
			f.Add(b)
		}
	}
}

// fuzzRoundTrip checks, for a body that decodes, that its re-encoding
// decodes too and encodes to the same bytes again: decoding is total on
// what encoding produces, and encoding is deterministic.
func fuzzRoundTrip(t *testing.T, body []byte, like any) {
	d, e := wire.NewDecoder(), wire.NewEncoder()
	m, err := decode(d, body, like)
	// A decoder that has seen every earlier input (its caches and
	// interned strings full of them) must agree with a fresh one.
	shared.Lock()
	ms, errShared := decode(shared.d, body, like)
	shared.Unlock()
	if (err == nil) != (errShared == nil) || err == nil && !reflect.DeepEqual(m, ms) && !hasNaN(body) {
		t.Fatalf("long-lived decoder disagrees: %v %#v / %v %#v", errShared, ms, err, m)
	}
	if err != nil {
		return
	}
	b1, err := encode(e, m)
	if err != nil {
		t.Fatalf("re-encode %#v: %v", m, err)
	}
	m2, err := decode(d, b1, like)
	if err != nil {
		t.Fatalf("decode of re-encoding %x: %v", b1, err)
	}
	b2, err := encode(e, m2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("unstable encoding:\n%x\n%x", b1, b2)
	}
}

func FuzzEnvelope(f *testing.F) {
	seed(f, func(m any) bool { _, ok := m.(*wire.Envelope); return ok })
	f.Fuzz(func(t *testing.T, body []byte) { fuzzRoundTrip(t, body, (*wire.Envelope)(nil)) })
}

func FuzzSpawnRequest(f *testing.F) {
	seed(f, func(m any) bool { _, ok := m.(*wire.SpawnRequest); return ok })
	f.Fuzz(func(t *testing.T, body []byte) { fuzzRoundTrip(t, body, (*wire.SpawnRequest)(nil)) })
}

func FuzzGroupcast(f *testing.F) {
	seed(f, func(m any) bool { _, ok := m.(*wire.Groupcast); return ok })
	f.Fuzz(func(t *testing.T, body []byte) { fuzzRoundTrip(t, body, (*wire.Groupcast)(nil)) })
}

func FuzzSpawnReply(f *testing.F) {
	seed(f, func(m any) bool { _, ok := m.(*wire.SpawnReply); return ok })
	f.Fuzz(func(t *testing.T, body []byte) { fuzzRoundTrip(t, body, (*wire.SpawnReply)(nil)) })
}

var shared = struct {
	sync.Mutex
	d *wire.Decoder
}{d: wire.NewDecoder()}

// hasNaN is a conservative guess that body may hold a NaN float (which
// DeepEqual never finds equal to itself): any float64 code.
func hasNaN(body []byte) bool {
	return bytes.IndexByte(body, 0xcb) >= 0 || bytes.IndexByte(body, 0xca) >= 0
}
