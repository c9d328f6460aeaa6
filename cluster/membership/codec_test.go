package membership

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestMetaRoundTrip(t *testing.T) {
	m := Meta{InternodePort: 7950, ProtoMin: 1, ProtoMax: 3, RaftRole: RoleClient, BootID: 0xdeadbeefcafef00d}
	b := encodeMeta(m)
	if len(b) != metaSize || len(b) > memberlist.MetaMaxSize {
		t.Fatalf("meta is %d bytes, want %d (limit %d)", len(b), metaSize, memberlist.MetaMaxSize)
	}
	want := []byte{1, 2, 0x1f, 0x0e, 0, 1, 0, 3, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding = % x, want % x", b, want)
	}
	got, err := decodeMeta(b)
	if err != nil || got != m {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, m)
	}
	// The hints make it version 2.
	h := m
	h.Priority, h.FailureDomain = -3, "eu-1a"
	hb := encodeMeta(h)
	wantH := append(append([]byte{2}, want[1:]...), 0xff, 0xff, 0xff, 0xfd, 5, 'e', 'u', '-', '1', 'a')
	if !bytes.Equal(hb, wantH) {
		t.Fatalf("encoding with hints = % x, want % x", hb, wantH)
	}
	if got, err := decodeMeta(hb); err != nil || got != h {
		t.Fatalf("decode with hints = %+v, %v", got, err)
	}
	// A later format appends; this decoder reads the prefix it knows.
	newer := append([]byte{9}, hb[1:]...)
	newer = append(newer, 0xff, 0xff)
	if got, err := decodeMeta(newer); err != nil || got != h {
		t.Fatalf("decode of a longer, newer meta = %+v, %v", got, err)
	}
	// Unknown roles survive decoding.
	b[1] = 7
	if got, err := decodeMeta(b); err != nil || got.RaftRole != 7 || got.RaftRole.String() != "role(7)" {
		t.Fatalf("unknown role: %+v, %v", got, err)
	}
}

// TestMetaSizeUnderLimit checks the largest possible meta against
// memberlist's limit, at run time as well as at compile time (meta.go).
func TestMetaSizeUnderLimit(t *testing.T) {
	max := Meta{InternodePort: 65535, ProtoMin: 65535, ProtoMax: 65535, RaftRole: 255, BootID: ^uint64(0),
		Priority: -1, FailureDomain: string(bytes.Repeat([]byte{'z'}, MaxFailureDomain))}
	if n := len(encodeMeta(max)); n >= memberlist.MetaMaxSize {
		t.Fatalf("meta is %d bytes, memberlist allows under %d", n, memberlist.MetaMaxSize)
	}
	m, err := New(testConfig("n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.d.NodeMeta(memberlist.MetaMaxSize); !bytes.Equal(got, encodeMeta(m.cfg.Meta)) {
		t.Fatalf("NodeMeta = % x", got)
	}
}

func TestMetaDecodeErrors(t *testing.T) {
	good := encodeMeta(Meta{ProtoMin: 1, ProtoMax: 1, BootID: 1})
	bad := map[string][]byte{
		"empty":      nil,
		"short":      good[:15],
		"version 0":  append([]byte{0}, good[1:]...),
		"boot id 0":  encodeMeta(Meta{ProtoMin: 1, ProtoMax: 1}),
		"proto 0":    encodeMeta(Meta{ProtoMin: 0, ProtoMax: 1, BootID: 1}),
		"proto desc": encodeMeta(Meta{ProtoMin: 2, ProtoMax: 1, BootID: 1}),
		"v2 short":   append([]byte{2}, good[1:]...),
		"v2 domain":  append(append([]byte{2}, good[1:]...), 0, 0, 0, 1, 3, 'a'),
		"v2 long":    append(append(append([]byte{2}, good[1:]...), 0, 0, 0, 1, MaxFailureDomain+1), bytes.Repeat([]byte{'a'}, MaxFailureDomain+1)...),
	}
	for name, b := range bad {
		if _, err := decodeMeta(b); !errors.Is(err, ErrBadMeta) {
			t.Errorf("%s: err = %v, want ErrBadMeta", name, err)
		}
	}
}

func TestIntentRoundTrip(t *testing.T) {
	in := intent{Name: "node-1", Boot: 42}
	b := encodeIntent(in)
	want := append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 42, 6}, "node-1"...)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding = % x, want % x", b, want)
	}
	got, err := decodeMessage(b)
	if err != nil || got != in {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	long := intent{Name: string(bytes.Repeat([]byte{'x'}, 255)), Boot: 1}
	if got, err := decodeMessage(encodeIntent(long)); err != nil || got != long {
		t.Fatalf("255-byte name: %v", err)
	}
}

func TestMessageDecodeErrors(t *testing.T) {
	good := encodeIntent(intent{Name: "n", Boot: 1})
	bad := map[string][]byte{
		"empty":        nil,
		"unknown type": append([]byte{9}, good[1:]...),
		"zero type":    append([]byte{0}, good[1:]...),
		"short header": good[:9],
		"no name":      append(good[:9:9], 0),
		"short name":   good[:10],
		"trailing":     append(good, 'x'),
		"boot 0":       encodeIntent(intent{Name: "n"}),
	}
	for name, b := range bad {
		if _, err := decodeMessage(b); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: err = %v, want ErrBadMessage", name, err)
		}
	}
}

func TestIntentBroadcastInvalidates(t *testing.T) {
	a1 := &intentBroadcast{in: intent{Name: "a", Boot: 1}}
	a2 := &intentBroadcast{in: intent{Name: "a", Boot: 2}}
	b := &intentBroadcast{in: intent{Name: "b", Boot: 1}}
	if !a2.Invalidates(a1) || a2.Invalidates(b) {
		t.Fatal("an intent must replace a queued intent of the same node only")
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(encodeMeta(Meta{InternodePort: 7950, ProtoMin: 1, ProtoMax: 2, RaftRole: RoleVoter, BootID: 7}))
	f.Add(encodeMeta(Meta{InternodePort: 7950, ProtoMin: 1, ProtoMax: 2, RaftRole: RoleNonVoter, BootID: 7, Priority: 100, FailureDomain: "rack-2"}))
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			if !errors.Is(err, ErrBadMeta) {
				t.Fatalf("error %v is not ErrBadMeta", err)
			}
			return
		}
		if m.BootID == 0 || m.ProtoMin == 0 || m.ProtoMin > m.ProtoMax {
			t.Fatalf("accepted invalid meta %+v", m)
		}
		again, err := decodeMeta(encodeMeta(m))
		if err != nil || again != m {
			t.Fatalf("re-encoding %+v: %+v, %v", m, again, err)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeIntent(intent{Name: "node", Boot: 3}))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("error %v is not ErrBadMessage", err)
			}
			return
		}
		if !bytes.Equal(encodeIntent(in), b) {
			t.Fatalf("%+v does not re-encode to its input", in)
		}
	})
}
