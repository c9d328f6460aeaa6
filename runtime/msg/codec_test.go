package msg

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/runtime/pid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nest wraps v in depth lists.
func nest(v Value, depth int) Value {
	for range depth {
		v = List(v)
	}
	return v
}

// nestMaps wraps v in depth single-entry maps.
func nestMaps(v Value, depth int) Value {
	for range depth {
		v = MustMap(Pair{Key: String("k"), Val: v})
	}
	return v
}

func ints(n int) Value {
	items := make([]Value, n)
	for i := range items {
		items[i] = Int(int64(i))
	}
	return List(items...)
}

func intMap(n int) Value {
	pairs := make([]Pair, n)
	for i := range pairs {
		pairs[i] = Pair{Key: Int(int64(n - i)), Val: String("v")}
	}
	return MustMap(pairs...)
}

var samplePID = pid.PID{Node: "n1", Host: "app:processes", Seq: 0x4a}

// roundTrips is every kind, the size class boundaries of msgpack's
// encodings, and the float bit patterns that only a bit-exact codec keeps.
var roundTrips = []struct {
	name string
	v    Value
}{
	{"nil", Nil},
	{"true", Bool(true)},
	{"false", Bool(false)},
	{"int 0", Int(0)},
	{"int 127", Int(127)},
	{"int 128", Int(128)},
	{"int 255", Int(255)},
	{"int 256", Int(256)},
	{"int 65535", Int(65535)},
	{"int 65536", Int(65536)},
	{"int maxuint32", Int(math.MaxUint32)},
	{"int maxuint32+1", Int(math.MaxUint32 + 1)},
	{"int maxint64", Int(math.MaxInt64)},
	{"int -1", Int(-1)},
	{"int -32", Int(-32)},
	{"int -33", Int(-33)},
	{"int -128", Int(-128)},
	{"int -129", Int(-129)},
	{"int -32768", Int(-32768)},
	{"int -32769", Int(-32769)},
	{"int minint32", Int(math.MinInt32)},
	{"int minint32-1", Int(math.MinInt32 - 1)},
	{"int minint64", Int(math.MinInt64)},
	{"float 1.5", Float(1.5)},
	{"float 0", Float(0)},
	{"float -0", Float(math.Copysign(0, -1))},
	{"float nan", Float(math.NaN())},
	{"float quiet nan", Float(math.Float64frombits(0x7ff8_0000_0000_0000))},
	{"float negative nan", Float(math.Float64frombits(0xfff8_0000_0000_0000))},
	{"float signalling nan", Float(math.Float64frombits(0x7ff0_0000_0000_0001))},
	{"float +inf", Float(math.Inf(1))},
	{"float -inf", Float(math.Inf(-1))},
	{"float denormal", Float(math.SmallestNonzeroFloat64)},
	{"float integral", Float(3)},
	{"string empty", String("")},
	{"string 31", String(strings.Repeat("a", 31))},
	{"string 32", String(strings.Repeat("b", 32))},
	{"string 255", String(strings.Repeat("c", 255))},
	{"string 256", String(strings.Repeat("d", 256))},
	{"string 65535", String(strings.Repeat("e", 65535))},
	{"string 65536", String(strings.Repeat("f", 65536))},
	{"string invalid utf8", String("\xff\xfe")},
	{"bytes empty", Bytes([]byte{})},
	{"bytes nil", Bytes(nil)},
	{"bytes 255", Bytes(bytes.Repeat([]byte{1}, 255))},
	{"bytes 256", Bytes(bytes.Repeat([]byte{2}, 256))},
	{"bytes 65536", Bytes(bytes.Repeat([]byte{3}, 65536))},
	{"list empty", List()},
	{"list 15", ints(15)},
	{"list 16", ints(16)},
	{"list 65536", ints(65536)},
	{"map empty", MustMap()},
	{"map 15", intMap(15)},
	{"map 16", intMap(16)},
	{"map 65536", intMap(65536)},
	{"map mixed keys", MustMap(
		Pair{Key: String("b"), Val: Int(1)},
		Pair{Key: Int(-5), Val: Nil},
		Pair{Key: String(""), Val: Bool(true)},
		Pair{Key: Int(math.MaxInt64), Val: Float(2)},
	)},
	{"pid", PIDValue(samplePID)},
	{"pid zero", PIDValue(pid.PID{})},
	{"pid max seq", PIDValue(pid.PID{Node: "a", Host: "b", Seq: math.MaxUint64})},
	{"pid no node", PIDValue(pid.PID{Host: "h", Seq: 1})},
	{"pid long", PIDValue(pid.PID{Node: strings.Repeat("n", 300), Host: strings.Repeat("h", 70000), Seq: 1 << 40})},
	{"error plain", Error(ErrorValue{})},
	{"error false", Error(ErrorValue{Kind: "NOT_FOUND", Message: "no such name", Retryable: False})},
	{"error true", Error(ErrorValue{Kind: "UNAVAILABLE", Message: "busy", Retryable: True, Details: String("retry later")})},
	{"error details", Error(ErrorValue{Kind: "INVALID", Message: "bad", Details: StringMap(map[string]Value{
		"field": String("name"),
		"pids":  List(PIDValue(samplePID), PIDValue(pid.PID{Host: "x", Seq: 2})),
		"cause": Error(ErrorValue{Kind: "INTERNAL", Message: "inner", Retryable: True, Details: ints(20)}),
	})})},
	{"error big details", Error(ErrorValue{Kind: "X", Details: Bytes(bytes.Repeat([]byte{9}, 70000))})},
	{"nested", StringMap(map[string]Value{
		"list":  List(Int(1), String("two"), List(Float(3.5), MustMap()), Bytes([]byte("four"))),
		"map":   MustMap(Pair{Key: Int(1), Val: List()}, Pair{Key: String("x"), Val: nestMaps(Nil, 3)}),
		"pid":   PIDValue(samplePID),
		"error": Error(ErrorValue{Kind: "TIMEOUT", Message: "slow"}),
		"nan":   Float(math.NaN()),
	})},
	{"depth 64 lists", nest(Int(1), MaxDepth)},
	{"depth 64 maps", nestMaps(Nil, MaxDepth)},
	{"depth 64 errors", func() Value {
		v := Nil
		for range MaxDepth {
			v = Error(ErrorValue{Kind: "K", Details: v})
		}
		return v
	}()},
}

func TestRoundTrip(t *testing.T) {
	for _, c := range roundTrips {
		t.Run(c.name, func(t *testing.T) {
			b, err := Marshal(c.v)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if size, err := encodedSize(c.v, 0); err != nil || size != len(b) {
				t.Fatalf("encodedSize = %d, %v; encoding has %d bytes", size, err, len(b))
			}
			if cap(b) != len(b) {
				t.Errorf("Marshal: cap %d, len %d", cap(b), len(b))
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !Equal(got, c.v) {
				t.Fatalf("round trip: got %.200s, want %.200s", got, c.v)
			}

			// The other entry points write and read the same bytes.
			prefix := []byte("prefix")
			app, err := c.v.AppendBinary(prefix)
			if err != nil || !bytes.Equal(app[:len(prefix)], prefix) || !bytes.Equal(app[len(prefix):], b) {
				t.Fatalf("AppendBinary differs from Marshal (err %v)", err)
			}
			var buf bytes.Buffer
			if err := Encode(msgpack.NewEncoder(&buf), c.v); err != nil || !bytes.Equal(buf.Bytes(), b) {
				t.Fatalf("Encode differs from Marshal (err %v)", err)
			}
			buf.WriteString("rest")
			dec := msgpack.NewDecoder(&buf)
			got, err = Decode(dec)
			if err != nil || !Equal(got, c.v) {
				t.Fatalf("Decode: %v", err)
			}
			if buf.String() != "rest" {
				t.Fatalf("Decode left %q, want %q", buf.String(), "rest")
			}
		})
	}
}

// TestEqualIsBitExact makes sure the float round trips above can fail.
func TestEqualIsBitExact(t *testing.T) {
	if Equal(Float(0), Float(math.Copysign(0, -1))) {
		t.Fatal("0.0 must differ from -0.0")
	}
	if Equal(Float(math.Float64frombits(0x7ff8_0000_0000_0000)), Float(math.Float64frombits(0x7ff8_0000_0000_0001))) {
		t.Fatal("NaNs with different payloads must differ")
	}
	if !Equal(Float(math.NaN()), Float(math.NaN())) {
		t.Fatal("the same NaN must be equal to itself")
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGolden pins the wire format: a change here breaks every peer.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		v    Value
		hex  string
	}{
		{"nil", Nil, "c0"},
		{"true", Bool(true), "c3"},
		{"int -33", Int(-33), "d0 df"},
		{"int max", Int(math.MaxInt64), "cf 7fffffffffffffff"},
		{"float always 64 bits", Float(1.5), "cb 3ff8000000000000"},
		{"float -0", Float(math.Copysign(0, -1)), "cb 8000000000000000"},
		{"string", String("hi"), "a2 6869"},
		{"bytes as bin", Bytes([]byte{1, 2}), "c4 02 0102"},
		{"empty bytes", Bytes(nil), "c4 00"},
		{"empty list", List(), "90"},
		{"empty map", MustMap(), "80"},
		{"map sorted ints first", MustMap(
			Pair{Key: String("a"), Val: Int(1)},
			Pair{Key: Int(2), Val: String("b")},
		), "82 02 a162 a161 01"},
		{"pid ext 1", PIDValue(pid.PID{Node: "n1", Host: "h", Seq: 0x4a}),
			"c7 07 01 93 a26e31 a168 4a"},
		{"error ext 2", Error(ErrorValue{Kind: "NOT_FOUND", Message: "x", Retryable: True,
			Details: List(Int(-1), Float(1.5))}),
			"c7 19 02 94 a94e4f545f464f554e44 a178 c3 92 ff cb3ff8000000000000"},
		{"error unknown retryable", Error(ErrorValue{Kind: "K"}), "c7 06 02 94 a14b a0 c0 c0"},
		{"zero pid in fixext4", PIDValue(pid.PID{}), "d6 01 93 a0 a0 00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := mustHex(t, c.hex)
			got, err := Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("Marshal(%s) = % x, want % x", c.v, got, want)
			}
			back, err := Unmarshal(want)
			if err != nil || !Equal(back, c.v) {
				t.Fatalf("Unmarshal(% x) = %s, %v; want %s", want, back, err, c.v)
			}
		})
	}
}

// TestDecodeAccepts covers encodings other msgpack writers produce that our
// encoder never does.
func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want Value
	}{
		{"float32", "ca 3fc00000", Float(1.5)},
		{"float32 nan", "ca 7fc00000", Float(math.Float64frombits(0x7ff8_0000_0000_0000))},
		{"uint64 in range", "cf 0000000000000001", Int(1)},
		{"int64 small", "d3 ffffffffffffffff", Int(-1)},
		{"uint8", "cc 05", Int(5)},
		{"int16", "d1 fffe", Int(-2)},
		{"uint32", "ce 00010000", Int(65536)},
		{"str8 short", "d9 01 61", String("a")},
		{"str16", "da 0001 61", String("a")},
		{"str32", "db 00000001 61", String("a")},
		{"bin16", "c5 0001 07", Bytes([]byte{7})},
		{"bin32", "c6 00000000", Bytes(nil)},
		{"array16", "dc 0001 c0", List(Nil)},
		{"array32", "dd 00000000", List()},
		{"map16", "de 0001 01 02", MustMap(Pair{Key: Int(1), Val: Int(2)})},
		{"map32 unsorted", "df 00000002 a162 01 a161 02", MustMap(
			Pair{Key: String("a"), Val: Int(2)}, Pair{Key: String("b"), Val: Int(1)})},
		{"map strings before ints", "82 a161 01 05 02", MustMap(
			Pair{Key: String("a"), Val: Int(1)}, Pair{Key: Int(5), Val: Int(2)})},
		{"pid ext32 uint64 seq", "c9 0000000d 01 93 a0 a168 cf ffffffffffffffff",
			PIDValue(pid.PID{Host: "h", Seq: math.MaxUint64})},
		{"pid zero as fixext4", "d6 01 93 a0 a0 00", PIDValue(pid.PID{})},
		{"error retryable false", "c7 05 02 94 a0 a0 c2 90", Error(ErrorValue{Retryable: False, Details: List()})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustHex(t, c.hex)
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal(% x): %v", b, err)
			}
			if !Equal(got, c.want) {
				t.Fatalf("Unmarshal(% x) = %s, want %s", b, got, c.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"never used code", "c1", ErrType},
		{"truncated int", "cd 01", ErrTruncated},
		{"truncated float", "cb 3ff8", ErrTruncated},
		{"truncated str header", "da 00", ErrTruncated},
		{"list longer than input", "92 01", ErrLength},
		{"map longer than input", "81 01", ErrLength},
		{"truncated list", "92 92 01 02", ErrTruncated},
		{"truncated map value", "82 01 02 03", ErrLength},
		{"map value missing", "81 01 02 81 03", ErrTrailing},
		{"str longer than input", "a5 6869", ErrLength},
		{"str32 of 4 GiB", "db ffffffff", ErrLength},
		{"bin32 of 64 KiB", "c6 00010000 00", ErrLength},
		{"array32 of 4 G", "dd ffffffff", ErrLength},
		{"array16 more than bytes", "dc 0003 c0 c0", ErrLength},
		{"map32 of 2 G", "df 7fffffff 0000", ErrLength},
		{"map entries need 2 bytes", "82 01 02 03", ErrLength},
		{"ext32 of 4 GiB", "c9 ffffffff 01", ErrLength},
		{"ext body shorter than content", "c7 02 01 93 a5 68656c6c6f 00", ErrLength},
		{"ext body longer than content", "c7 05 01 93 a0 a0 01 c0", ErrMalformed},
		{"ext body ends inside content", "d5 01 93 a0 a0 01", ErrTruncated},
		{"unknown ext", "d4 05 00", ErrExt},
		{"ext 0", "d4 00 00", ErrExt},
		{"negative ext", "d4 ff 00", ErrExt},
		{"uint64 above maxint64", "cf 8000000000000000", ErrIntRange},
		{"nil key", "81 c0 01", ErrKey},
		{"float key", "81 cb3ff8000000000000 01", ErrKey},
		{"bool key", "81 c3 01", ErrKey},
		{"bin key", "81 c4 01 61 01", ErrKey},
		{"list key", "81 90 01", ErrKey},
		{"map key", "81 80 01", ErrKey},
		{"pid key", "81 d6 01 93 a0 a0 01 01", ErrKey},
		{"uint64 key above maxint64", "81 cf 8000000000000000 01", ErrIntRange},
		{"duplicate string key", "82 a161 01 a161 02", ErrDupKey},
		{"duplicate int key", "82 01 01 01 02", ErrDupKey},
		{"duplicate key unsorted", "83 a162 01 a161 02 a162 03", ErrDupKey},
		{"duplicate int key other widths", "82 01 01 cc01 02", ErrDupKey},
		{"trailing byte", "c0 c0", ErrTrailing},
		{"trailing after map", "81 01 02 00", ErrTrailing},
		{"pid of 2 fields", "d5 01 92 a0 a0", ErrMalformed},
		{"pid body not array", "d4 01 c0", ErrMalformed},
		{"pid node as bin", "d6 01 93 c4 00 a0 01", ErrMalformed},
		{"pid negative seq", "d6 01 93 a0 a0 ff", ErrMalformed},
		{"pid negative int64 seq", "c7 0c 01 93 a0 a0 d3 ffffffffffffffff", ErrMalformed},
		{"pid seq as string", "d6 01 93 a0 a0 a0", ErrMalformed},
		{"error of 3 fields", "d6 02 93 a0 a0 c0", ErrMalformed},
		{"error retryable int", "c7 05 02 94 a0 a0 01 c0", ErrMalformed},
		{"error kind nil", "c7 05 02 94 c0 a0 c0 c0", ErrMalformed},
		{"list in list truncated", "91 91 92 01", ErrLength},
		{"map in list truncated", "92 81 01 02", ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustHex(t, c.hex)
			v, err := Unmarshal(b)
			if !errors.Is(err, c.want) {
				t.Fatalf("Unmarshal(% x) = %s, %v; want %v", b, v, err, c.want)
			}
			if !v.IsNil() {
				t.Fatalf("Unmarshal(% x) returned %s with an error, want nil", b, v)
			}
		})
	}
}

func TestDecodeTruncatedPrefixes(t *testing.T) {
	for _, c := range roundTrips {
		b, err := Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1000 {
			continue // the short values already cover every header
		}
		for i := range len(b) {
			_, err := Unmarshal(b[:i])
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLength) {
				t.Fatalf("%s: Unmarshal of %d of %d bytes: %v, want ErrTruncated or ErrLength", c.name, i, len(b), err)
			}
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deepError := func(n int) Value {
		v := Nil
		for range n {
			v = Error(ErrorValue{Details: v})
		}
		return v
	}
	deep := []struct {
		name string
		v    Value
	}{
		{"lists", nest(Nil, MaxDepth+1)},
		{"maps", nestMaps(Nil, MaxDepth+1)},
		{"errors", deepError(MaxDepth + 1)},
		{"mixed", List(deepError(10), nestMaps(nest(Int(1), 39), 25))},
	}
	for _, c := range deep {
		t.Run(c.name, func(t *testing.T) {
			if d := c.v.Depth(); d != MaxDepth+1 {
				t.Fatalf("Depth = %d, want %d", d, MaxDepth+1)
			}
			if _, err := Marshal(c.v); !errors.Is(err, ErrTooDeep) {
				t.Fatalf("Marshal: %v, want ErrTooDeep", err)
			}
			if _, err := c.v.AppendBinary(nil); !errors.Is(err, ErrTooDeep) {
				t.Fatalf("AppendBinary: %v, want ErrTooDeep", err)
			}
		})
	}

	// Build the wire form of 65 nested lists by hand: the encoder refuses.
	inner, err := Marshal(nest(Nil, MaxDepth))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(append([]byte{0x91}, inner...)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Unmarshal of 65 lists: %v, want ErrTooDeep", err)
	}
	innerMaps, err := Marshal(nestMaps(Nil, MaxDepth))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unmarshal(append([]byte{0x81, 0x01}, innerMaps...)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Unmarshal of 65 maps: %v, want ErrTooDeep", err)
	}
	// An error around 64 lists: ext8 header, then the error body.
	body := append(mustHex(t, "94 a0 a0 c0"), inner...)
	wire := append([]byte{0xc7, byte(len(body)), byte(ExtError)}, body...)
	if _, err := Unmarshal(wire); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Unmarshal of an error around 64 lists: %v, want ErrTooDeep", err)
	}

	// A million nested lists is an error, not a stack overflow.
	huge := bytes.Repeat([]byte{0x91}, 1<<20)
	if _, err := Unmarshal(append(huge, 0xc0)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Unmarshal of 2^20 lists: %v, want ErrTooDeep", err)
	}
}

// allocated returns the bytes the heap handed out while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeAllocationBound(t *testing.T) {
	// Lying length prefixes allocate nothing in proportion to the lie; the
	// limit leaves room for the pool to make a decoder.
	for _, h := range []string{"dd ffffffff 90909090", "df ffffffff 0000", "db ffffffff 6161", "c6 ffffffff 00",
		"c9 ffffffff 02 94"} {
		b := mustHex(t, h)
		var err error
		if n := allocated(func() { _, err = Unmarshal(b) }); n > 64<<10 || !errors.Is(err, ErrLength) {
			t.Errorf("Unmarshal(% x) allocated %d bytes, err %v; want ErrLength and under 64 KiB", b, n, err)
		}
	}
	// The costliest shape, a list of empty lists (72 bytes per input
	// byte), decodes while it fits the budget (budget_test.go has more).
	b := append(mustHex(t, "dd 00004000"), bytes.Repeat([]byte{0x90}, 1<<14)...)
	var err error
	if n := allocated(func() { _, err = Unmarshal(b) }); err != nil || n > uint64(DecodeBudget(len(b))) {
		t.Errorf("Unmarshal of 2^14 empty lists: %d bytes allocated for %d input bytes, err %v", n, len(b), err)
	}
}

func TestEncodeRejects(t *testing.T) {
	bad := Error(ErrorValue{Kind: "K", Retryable: Tri(3)})
	if _, err := Marshal(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Marshal of a bad Tri: %v, want ErrMalformed", err)
	}
	if _, err := Marshal(List(Int(1), bad)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Marshal of a nested bad Tri: %v, want ErrMalformed", err)
	}
	prefix := []byte{1, 2, 3}
	out, err := List(nest(Nil, MaxDepth)).AppendBinary(prefix)
	if !errors.Is(err, ErrTooDeep) || !bytes.Equal(out, prefix) {
		t.Fatalf("AppendBinary on error = % x, %v; want the prefix and ErrTooDeep", out, err)
	}
	// 4 GiB strings are not worth building; the check itself is tested.
	if err := checkLen(math.MaxUint32+1, "string"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("checkLen(2^32): %v, want ErrTooLarge", err)
	}
	if err := checkLen(math.MaxUint32, "string"); err != nil {
		t.Fatalf("checkLen(2^32-1): %v", err)
	}
}

func TestDecodeSource(t *testing.T) {
	b, err := Marshal(String("x"))
	if err != nil {
		t.Fatal(err)
	}
	// A plain io.Reader gets buffered by msgpack: its length is unknown.
	dec := msgpack.NewDecoder(bufio.NewReader(bytes.NewReader(b)))
	if _, err := Decode(dec); !errors.Is(err, ErrSource) {
		t.Fatalf("Decode from a stream: %v, want ErrSource", err)
	}
	// Several values in a row decode one after the other.
	var buf []byte
	for _, v := range []Value{Int(1), String("two"), PIDValue(samplePID)} {
		if buf, err = v.AppendBinary(buf); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(buf)
	dec = msgpack.NewDecoder(r)
	for _, want := range []Value{Int(1), String("two"), PIDValue(samplePID)} {
		got, err := Decode(dec)
		if err != nil || !Equal(got, want) {
			t.Fatalf("Decode = %s, %v; want %s", got, err, want)
		}
	}
	if _, err := Decode(dec); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Decode at the end: %v, want ErrTruncated", err)
	}
}

// TestStructField shows a Value inside a struct that msgpack encodes by
// reflection, as wire messages do.
func TestStructField(t *testing.T) {
	type envelope struct {
		To      string
		Payload Value
		Extra   []Value
	}
	in := envelope{To: "x", Payload: StringMap(map[string]Value{"a": Int(1), "p": PIDValue(samplePID)}),
		Extra: []Value{Nil, Float(math.NaN())}}
	b, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out envelope
	if err := msgpack.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.To != in.To || !Equal(out.Payload, in.Payload) || len(out.Extra) != 2 ||
		!Equal(out.Extra[0], Nil) || !Equal(out.Extra[1], in.Extra[1]) {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	// A bad payload fails the whole message.
	bad := bytes.Replace(b, mustHex(t, "a161 01"), mustHex(t, "c0 01 "), 1)
	if err := msgpack.Unmarshal(bad, &out); !errors.Is(err, ErrKey) {
		t.Fatalf("Unmarshal with a nil key: %v, want ErrKey", err)
	}
}

// TestDecodedIsCopy makes sure a decoded value does not alias the input,
// which the transport reuses.
func TestDecodedIsCopy(t *testing.T) {
	b, err := Marshal(List(String("hello"), Bytes([]byte("world")), PIDValue(samplePID)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	want := List(String("hello"), Bytes([]byte("world")), PIDValue(samplePID))
	if !Equal(v, want) {
		t.Fatalf("decoded value changed with its input: %s", v)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range roundTrips {
		b, err := Marshal(c.v)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 4096 {
			continue
		}
		f.Add(b)
		if len(b) > 2 {
			f.Add(b[:len(b)/2])
			flipped := bytes.Clone(b)
			flipped[len(b)/2] ^= 0xff
			f.Add(flipped)
			f.Add(append(bytes.Clone(b), 0))
		}
	}
	for _, h := range []string{"c1", "dd ffffffff", "c9 ffffffff 01", "82 a161 01 a161 02", "d4 05 00",
		"c7 02 01 93 a5 68656c6c6f", "cf 8000000000000000", "ca 7fc00001"} {
		f.Add(mustHex(f, h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unmarshal(b)
		// Decode reads strings through the msgpack.Decoder rather than
		// from the slice; it must agree with Unmarshal.
		buf := bytes.NewBuffer(b)
		dv, derr := Decode(msgpack.NewDecoder(buf))
		if derr == nil && buf.Len() > 0 {
			dv, derr = Nil, ErrTrailing
		}
		if (err == nil) != (derr == nil) || !Equal(v, dv) {
			t.Fatalf("Unmarshal = %s, %v; Decode = %s, %v", v, err, dv, derr)
		}
		if err != nil {
			if !v.IsNil() {
				t.Fatalf("value %s returned with error %v", v, err)
			}
			return
		}
		if err := v.Check(); err != nil {
			t.Fatalf("decoded value fails Check: %v", err)
		}
		enc, err := Marshal(v)
		if errors.Is(err, ErrBudget) {
			return // its budget came from non-minimal headers in b, which Marshal does not write
		}
		if err != nil {
			t.Fatalf("re-encoding %s: %v", v, err)
		}
		if size, err := encodedSize(v, 0); err != nil || size != len(enc) {
			t.Fatalf("encodedSize = %d, %v; encoding has %d bytes", size, err, len(enc))
		}
		again, err := Unmarshal(enc)
		if err != nil {
			t.Fatalf("decoding re-encoded % x: %v", enc, err)
		}
		if !Equal(v, again) {
			t.Fatalf("round trip changed %s to %s", v, again)
		}
		// Our encoding is canonical: encoding it again changes nothing.
		enc2, err := Marshal(again)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: % x then % x (%v)", enc, enc2, err)
		}
	})
}

// benchPayload is a typical small message: a map with a string and an int,
// 62 bytes encoded.
func benchPayload() Value {
	return StringMap(map[string]Value{
		"text": String("the quick brown fox jumps over the lazy dog ..."),
		"seq":  Int(12345),
	})
}

func BenchmarkEncode(b *testing.B) {
	v := benchPayload()
	buf, err := v.AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = v.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	v := benchPayload()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	buf, err := Marshal(benchPayload())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReflect is the msgpack.Marshal(any) round trip DESIGN compares
// against, for the same payload as a Go map.
func BenchmarkReflect(b *testing.B) {
	m := map[string]any{"text": "the quick brown fox jumps over the lazy dog ...", "seq": int64(12345)}
	b.ReportAllocs()
	for b.Loop() {
		buf, err := msgpack.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		var out map[string]any
		if err := msgpack.Unmarshal(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}
