package eventual

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestWireRoundTrip(t *testing.T) {
	d := &Delta{Origin: "a", Version: Version{7, 3}, Ops: []Op{
		{Binding: Binding{Name: "svc", PID: ppid("a", 9), Stamp: 1 << 60}},
		{Remove: true, Binding: Binding{Name: "old"}},
	}}
	m, err := decode(encodeDelta(d), 100)
	if err != nil || !reflect.DeepEqual(m.delta, *d) {
		t.Fatalf("delta: %+v %v", m.delta, err)
	}
	dg := []DigestEntry{{"a", Version{1, 2}}, {"b", Version{3, 0}}}
	m, err = decode(encodeDigest(dg, true), 100)
	if err != nil || !m.reply || !reflect.DeepEqual(m.digest, dg) {
		t.Fatalf("digest: %+v %v", m, err)
	}
	var bs []Binding
	for i := range 100 {
		bs = append(bs, Binding{Name: strings.Repeat("n", 100) + string(rune('a'+i%26)) + string(rune('a'+i/26)), PID: ppid("a", uint64(i+1)), Stamp: uint64(i)})
	}
	s := State{Origin: "a", Version: Version{1, 100}, Bindings: bs}
	pages := encodeState(s, 4<<10)
	if len(pages) < 3 {
		t.Fatalf("%d pages", len(pages))
	}
	var got []Binding
	for i, b := range pages {
		m, err := decode(b, 100)
		if err != nil || m.page.index != i || m.page.count != len(pages) || m.page.state.Version != s.Version {
			t.Fatalf("page %d: %+v %v", i, m.page, err)
		}
		got = append(got, m.page.state.Bindings...)
	}
	if !reflect.DeepEqual(got, bs) {
		t.Fatal("pages do not add up to the state")
	}
	if pages := encodeState(State{Origin: "a", Version: Version{1, 0}}, 4<<10); len(pages) != 1 {
		t.Fatalf("empty state: %d pages", len(pages))
	}
}

func TestWireRefuses(t *testing.T) {
	good := encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: []Op{{Binding: Binding{Name: "x", PID: ppid("a", 1), Stamp: 1}}}})
	for name, b := range map[string][]byte{
		"empty":         nil,
		"unknown kind":  {9},
		"truncated":     good[:len(good)-1],
		"trailing":      append(bytes.Clone(good), 0),
		"version 0":     encodeDelta(&Delta{Origin: "a", Version: Version{1, 0}}),
		"empty origin":  encodeDelta(&Delta{Origin: "", Version: Version{1, 1}}),
		"empty name":    encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: []Op{{Binding: Binding{PID: ppid("a", 1)}}}}),
		"zero seq":      encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: []Op{{Binding: Binding{Name: "x", PID: ppid("a", 0)}}}}),
		"long name":     encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: []Op{{Remove: true, Binding: Binding{Name: strings.Repeat("x", 1025)}}}}),
		"too many ops":  encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: make([]Op, 3)}),
		"page past end": {kindState, 0xa1, 'a', 1, 1, 2, 2, 0x90},
	} {
		if _, err := decode(b, 2); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzDecode: the names stream's decoder never panics on peer bytes, and
// what it accepts encodes back to a message that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(encodeDelta(&Delta{Origin: "a", Version: Version{1, 1}, Ops: []Op{{Binding: Binding{Name: "x", PID: ppid("a", 1), Stamp: 1}}, {Remove: true, Binding: Binding{Name: "y"}}}}))
	f.Add(encodeDigest([]DigestEntry{{"a", Version{1, 2}}}, false))
	for _, p := range encodeState(State{Origin: "b", Version: Version{2, 2}, Bindings: []Binding{{Name: "z", PID: ppid("b", 3), Stamp: 9}}}, 4<<10) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b, 64)
		if err != nil {
			return
		}
		var again []byte
		switch m.kind {
		case kindDelta:
			again = encodeDelta(&m.delta)
		case kindDigest:
			again = encodeDigest(m.digest, m.reply)
		case kindState:
			return // pages re-encode as a whole state only
		}
		m2, err := decode(again, 64)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded %+v as %+v (%v)", m, m2, err)
		}
	})
}
