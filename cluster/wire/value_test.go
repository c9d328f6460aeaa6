package wire

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wippyd/wippyd/runtime/msg"
)

// simpleDiff checks simpleValue against msg.Decode on the value b starts
// with: where the fast path takes the value, it must read the same bytes
// and give the same value as the general decoder.
func simpleDiff(t *testing.T, b []byte) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	d := NewDecoder()
	d.body = b
	d.r.Reset(b)
	v, ok := d.simpleValue()
	if !ok {
		return
	}
	used := d.offset()
	r := bytes.NewReader(b)
	want, err := msg.Decode(msgpack.NewDecoder(r))
	if err != nil {
		t.Fatalf("% x: fast path gave %v, msg.Decode failed: %v", b, v, err)
	}
	if got := len(b) - r.Len(); got != used {
		t.Fatalf("% x: fast path read %d bytes, msg.Decode %d", b, used, got)
	}
	if v.Kind() != want.Kind() || !msg.Equal(v, want) {
		t.Fatalf("% x: fast path gave %v (%v), msg.Decode %v (%v)", b, v, v.Kind(), want, want.Kind())
	}
}

func TestSimpleValueMatchesDecode(t *testing.T) {
	vals := []msg.Value{
		msg.Nil, msg.Bool(true), msg.Bool(false), msg.Int(0), msg.Int(127), msg.Int(128), msg.Int(-1), msg.Int(-32), msg.Int(-33),
		msg.Int(255), msg.Int(256), msg.Int(65535), msg.Int(65536), msg.Int(-129), msg.Int(-32769), msg.Int(1 << 40),
		msg.Int(-1 << 40), msg.Int(1<<63 - 1), msg.Int(-1 << 63), msg.String(""), msg.String("a"),
		msg.String(string(make([]byte, 31))), msg.String(string(make([]byte, 32))), msg.String(string(make([]byte, 300))),
		msg.String(string(make([]byte, 70000))), msg.Bytes(nil), msg.Bytes(make([]byte, 64)), msg.Bytes(make([]byte, 256)),
		msg.Bytes(make([]byte, 257)), msg.Bytes(make([]byte, 70000)), msg.Float(1.5), msg.List(msg.Int(1)),
	}
	taken := 0
	for _, v := range vals {
		b, err := msg.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		simpleDiff(t, b)
		d := NewDecoder()
		d.body = b
		d.r.Reset(b)
		if _, ok := d.simpleValue(); ok {
			taken++
		}
		for i := 1; i < len(b); i++ {
			simpleDiff(t, b[:i])
		}
	}
	// Everything but the float and the list takes the fast path.
	if taken != len(vals)-2 {
		t.Fatalf("fast path took %d of %d values", taken, len(vals)-2)
	}
	// Raw codes the encoder does not write: uint64 above MaxInt64 (left
	// to msg.Decode, which refuses it), sized ints of small values.
	for _, b := range [][]byte{
		{0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0}, {0xcf, 0x7f, 0, 0, 0, 0, 0, 0, 1}, {0xd0, 0x05}, {0xd1, 0xff, 0xfe},
		{0xd2, 0x80, 0, 0, 0}, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, {0xcc, 0xff}, {0xcd, 0, 1}, {0xce, 0xff, 0xff, 0xff, 0xff},
		{0xc4, 0}, {0xc5, 0, 1, 9}, {0xc6, 0, 0, 0, 1, 9}, {0xd9, 1, 'x'}, {0xda, 0, 1, 'x'}, {0xdb, 0, 0, 0, 1, 'x'},
	} {
		simpleDiff(t, b)
	}
}

// Strings cut from the slab stay as they were when later payloads fill
// it and when a new slab is started.
func TestSlabStringsStay(t *testing.T) {
	d := NewDecoder()
	var kept []string
	for i := 0; i < 200; i++ {
		b, _ := msg.Marshal(msg.String(string(bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%60))))
		d.body = b
		d.r.Reset(b)
		v, ok := d.simpleValue()
		if !ok {
			t.Fatal("string not taken by the fast path")
		}
		s, _ := v.AsString()
		kept = append(kept, s)
		clear(b)
	}
	for i, s := range kept {
		if want := string(bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%60)); s != want {
			t.Fatalf("string %d changed: %q, want %q", i, s, want)
		}
	}
}

func FuzzSimpleValue(f *testing.F) {
	for _, v := range []msg.Value{msg.Nil, msg.Bool(true), msg.Int(-5), msg.Int(1 << 40), msg.String("topic"), msg.Bytes(make([]byte, 64))} {
		b, _ := msg.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(simpleDiff)
}
