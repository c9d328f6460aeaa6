package msgp

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	testInts = []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	testStrs = []string{"", "a", string(bytes.Repeat([]byte("x"), 31)), string(bytes.Repeat([]byte("y"), 32)),
		string(bytes.Repeat([]byte("z"), 300)), string(bytes.Repeat([]byte("w"), 70000))}
	testLens = []int{0, 15, 16, 65535, 65536}
)

// writeAll writes every test value, in a fixed order.
func writeAll() []byte {
	var w Writer
	for _, v := range testInts {
		w.Int(v)
	}
	w.Uint(math.MaxUint64)
	for _, s := range testStrs {
		w.Str(s)
		w.Bin([]byte(s))
	}
	w.Bool(true)
	w.Bool(false)
	for _, n := range testLens {
		w.ArrayHeader(n)
		w.MapHeader(n)
	}
	return w.B
}

// What Writer writes, a general msgpack library reads as the same values,
// and so does Reader.
func TestWriterIsMsgpack(t *testing.T) {
	b := writeAll()
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	for _, v := range testInts {
		if got, err := dec.DecodeInt64(); err != nil || got != v {
			t.Fatalf("msgpack int %d: %d %v", v, got, err)
		}
	}
	if got, err := dec.DecodeUint64(); err != nil || got != math.MaxUint64 {
		t.Fatalf("msgpack uint: %d %v", got, err)
	}
	for _, s := range testStrs {
		if got, err := dec.DecodeString(); err != nil || got != s {
			t.Fatalf("msgpack str of %d: %v", len(s), err)
		}
		if got, err := dec.DecodeBytes(); err != nil || string(got) != s {
			t.Fatalf("msgpack bin of %d: %v", len(s), err)
		}
	}
	if v, err := dec.DecodeBool(); err != nil || !v {
		t.Fatal("msgpack bool")
	}
	if v, err := dec.DecodeBool(); err != nil || v {
		t.Fatal("msgpack bool")
	}
	for _, n := range testLens {
		if got, err := dec.DecodeArrayLen(); err != nil || got != n {
			t.Fatalf("msgpack array of %d: %d %v", n, got, err)
		}
		if got, err := dec.DecodeMapLen(); err != nil || got != n {
			t.Fatalf("msgpack map of %d: %d %v", n, got, err)
		}
	}
}

func TestReaderReadsWriter(t *testing.T) {
	b := writeAll()
	b = append(b, make([]byte, 3*65536)...) // the bytes the containers announce
	r := NewReader(b)
	for _, v := range testInts {
		if got := r.Int(); got != v {
			t.Fatalf("int %d: %d (%v)", v, got, r.Err())
		}
	}
	if got := r.Uint(); got != math.MaxUint64 {
		t.Fatalf("uint: %d (%v)", got, r.Err())
	}
	for _, s := range testStrs {
		if got := r.Str(1 << 20); got != s {
			t.Fatalf("str of %d: %v", len(s), r.Err())
		}
		if got := r.BytesCopy(1 << 20); string(got) != s {
			t.Fatalf("bin of %d: %v", len(s), r.Err())
		}
	}
	if !r.Bool() || r.Bool() {
		t.Fatalf("bool: %v", r.Err())
	}
	for _, n := range testLens {
		if got := r.ArrayLen(1<<20, 1); got != n {
			t.Fatalf("array of %d: %d (%v)", n, got, r.Err())
		}
		if got := r.MapLen(1 << 20); got != n {
			t.Fatalf("map of %d: %d (%v)", n, got, r.Err())
		}
	}
	if len(r.Rest()) != 3*65536 || r.End() != nil {
		t.Fatalf("rest: %v", r.Err())
	}
}

// The sizes the frame code computes ahead match what is written.
func TestSizes(t *testing.T) {
	for _, v := range []uint64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		var w Writer
		if w.Uint(v); len(w.B) != UintSize(v) {
			t.Errorf("UintSize(%d) = %d, wrote %d", v, UintSize(v), len(w.B))
		}
	}
	for _, v := range testInts {
		var w Writer
		if w.Int(v); len(w.B) != IntSize(v) {
			t.Errorf("IntSize(%d) = %d, wrote %d", v, IntSize(v), len(w.B))
		}
	}
	for _, n := range []int{0, 255, 256, 65535, 65536} {
		var w Writer
		if w.BinHeader(n); len(w.B) != BinHeaderSize(n) {
			t.Errorf("BinHeaderSize(%d) = %d, wrote %d", n, BinHeaderSize(n), len(w.B))
		}
	}
}

// Skip passes over anything a general encoder writes.
func TestSkipEveryType(t *testing.T) {
	values := []any{
		nil, true, false, 1, -1, -200, 300, -70000, int64(math.MinInt64), uint64(math.MaxUint64),
		float32(1.5), 2.5, "", "short", string(bytes.Repeat([]byte{'s'}, 300)),
		[]byte{}, bytes.Repeat([]byte{1}, 70000), []any{1, "x", []any{nil}}, map[string]any{"a": 1, "b": []any{}},
		make([]any, 20), msgpack.RawMessage{0xd4, 1, 2}, msgpack.RawMessage{0xc7, 3, 1, 1, 2, 3},
	}
	for _, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(append(b, 0x2a))
		if r.Skip(); r.Err() != nil || r.Len() != 1 {
			t.Errorf("skip %T %x: %v, %d bytes left", v, b[:min(len(b), 8)], r.Err(), r.Len())
		}
	}
}

// Bad input fails with the right error, and once failed a Reader stays
// failed and reads zero values.
func TestReaderRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(*Reader)
		want error
	}{
		{"negative int as uint", []byte{0xd0, 0xff}, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"negative fixint as uint", []byte{0xff}, func(r *Reader) { r.Uint() }, ErrMalformed},
		{"uint over MaxInt64 as int", []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, func(r *Reader) { r.Int() }, ErrMalformed},
		{"short uint", []byte{0xcf, 1}, func(r *Reader) { r.Uint() }, ErrTruncated},
		{"short int", []byte{0xcd, 1}, func(r *Reader) { r.Int() }, ErrTruncated},
		{"not an int", []byte{0xc3}, func(r *Reader) { r.Int() }, ErrMalformed},
		{"empty", nil, func(r *Reader) { r.Bool() }, ErrTruncated},
		{"not a bool", []byte{0x01}, func(r *Reader) { r.Bool() }, ErrMalformed},
		{"bin longer than input", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, func(r *Reader) { r.Bytes(math.MaxInt) }, ErrTruncated},
		{"str longer than input", []byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'}, func(r *Reader) { r.Str(math.MaxInt) }, ErrTruncated},
		{"str over limit", []byte{0xa3, 'a', 'b', 'c'}, func(r *Reader) { r.Str(2) }, ErrMalformed},
		{"not bytes", []byte{0x01}, func(r *Reader) { r.Bytes(10) }, ErrMalformed},
		{"map longer than input", []byte{0xdf, 0xff, 0xff, 0xff, 0xff, 1, 1}, func(r *Reader) { r.MapLen(math.MaxInt) }, ErrTruncated},
		{"array longer than input", []byte{0xdd, 0, 1, 0, 0}, func(r *Reader) { r.ArrayLen(math.MaxInt, 1) }, ErrTruncated},
		{"array elements too small", []byte{0x93, 1, 2, 3}, func(r *Reader) { r.ArrayLen(10, 2) }, ErrTruncated},
		{"array over limit", []byte{0x93, 1, 2, 3}, func(r *Reader) { r.ArrayLen(2, 1) }, ErrMalformed},
		{"not an array", []byte{0x81, 1, 2}, func(r *Reader) { r.ArrayLen(10, 1) }, ErrMalformed},
		{"reserved code", []byte{0xc1}, func(r *Reader) { r.Skip() }, ErrMalformed},
		{"ext longer than input", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, func(r *Reader) { r.Skip() }, ErrTruncated},
		{"nested too deep", append(bytes.Repeat([]byte{0x91}, maxSkipDepth+2), 0), func(r *Reader) { r.Skip() }, ErrMalformed},
		{"trailing bytes", []byte{0x01, 0x02}, func(r *Reader) { r.Int() }, ErrMalformed},
		{"caller's check", []byte{0x01}, func(r *Reader) { r.Int(); r.Fail("op %d unknown", 1) }, ErrMalformed},
	}
	for _, c := range cases {
		r := NewReader(c.in)
		c.read(&r)
		if err := r.End(); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if r.Int() != 0 || r.Bytes(10) != nil || r.ArrayLen(10, 1) != 0 || r.Byte() != 0 {
			t.Errorf("%s: reads after the failure give values", c.name)
		}
	}
}
