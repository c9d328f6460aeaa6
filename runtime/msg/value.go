package msg

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/wippyd/wippyd/runtime/pid"
)

// MaxDepth is the deepest nesting of lists and maps a Value may have.
const MaxDepth = 64

// Kind is the type of a Value.
type Kind uint8

// The kinds of Value. The numbering is part of no wire format.
const (
	KindNil Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindBytes
	KindList
	KindMap
	KindPID
	KindError
)

var kindNames = [...]string{"nil", "bool", "int", "float", "string", "bytes", "list", "map", "pid", "error"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one payload value. The zero Value is nil.
type Value struct {
	kind Kind
	n    uint64 // bool (0/1), int64, float64 bits
	s    string // string, bytes (immutable copy)
	x    any    // []Value, []Pair, pid.PID, *ErrorValue
}

// Pair is one map entry.
type Pair struct {
	Key Value // KindString or KindInt
	Val Value
}

// ErrorValue is an error object as it travels between processes.
type ErrorValue struct {
	Kind      string // e.g. "NOT_FOUND"; "" means UNKNOWN
	Message   string
	Retryable Tri
	Details   Value
}

// Tri is a three-valued boolean: unknown, false or true.
type Tri uint8

// Tri values.
const (
	Unknown Tri = iota
	False
	True
)

// TriOf converts a bool to a Tri.
func TriOf(b bool) Tri {
	if b {
		return True
	}
	return False
}

// Nil is the nil Value.
var Nil = Value{}

// Bool returns a boolean Value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.n = 1
	}
	return v
}

// Int returns an integer Value.
func Int(i int64) Value { return Value{kind: KindInt, n: uint64(i)} }

// Float returns a float Value.
func Float(f float64) Value { return Value{kind: KindFloat, n: math.Float64bits(f)} }

// String returns a string Value.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Bytes returns a bytes Value holding a copy of b.
func Bytes(b []byte) Value { return Value{kind: KindBytes, s: string(b)} }

// BytesString returns a bytes Value holding the bytes of s, without a
// copy (strings are immutable): for decoders that already made the string.
func BytesString(s string) Value { return Value{kind: KindBytes, s: s} }

// BytesText returns the bytes of a bytes Value as a string, without a
// copy; ok is false for any other kind.
func (v Value) BytesText() (s string, ok bool) { return v.s, v.kind == KindBytes }

// PIDValue returns a Value holding a PID.
func PIDValue(p pid.PID) Value { return Value{kind: KindPID, x: p} }

// List returns a list Value. The slice is owned by the Value afterwards.
func List(items ...Value) Value { return Value{kind: KindList, x: items} }

// Error returns an error Value.
func Error(e ErrorValue) Value { return Value{kind: KindError, x: &e} }

// Map returns a map Value from pairs, sorted by key. A later pair with the
// same key replaces an earlier one. The slice is owned by the Value afterwards.
func Map(pairs ...Pair) (Value, error) {
	for _, p := range pairs {
		if p.Key.kind != KindString && p.Key.kind != KindInt {
			return Nil, fmt.Errorf("%w: got %s", ErrKey, p.Key.kind)
		}
	}
	sort.SliceStable(pairs, func(i, j int) bool { return keyLess(pairs[i].Key, pairs[j].Key) })
	// Drop duplicates, keeping the last one given for each key.
	out := pairs[:0]
	for i, p := range pairs {
		if i+1 < len(pairs) && keyEqual(p.Key, pairs[i+1].Key) {
			continue
		}
		out = append(out, p)
	}
	return Value{kind: KindMap, x: out}, nil
}

// MustMap is Map for keys known to be valid; it panics on a bad key.
func MustMap(pairs ...Pair) Value {
	v, err := Map(pairs...)
	if err != nil {
		panic(err)
	}
	return v
}

// StringMap returns a map Value with string keys.
func StringMap(m map[string]Value) Value {
	pairs := make([]Pair, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, Pair{Key: String(k), Val: v})
	}
	v, _ := Map(pairs...) // string keys are always valid
	return v
}

func keyLess(a, b Value) bool {
	if a.kind != b.kind {
		return a.kind == KindInt
	}
	if a.kind == KindInt {
		return int64(a.n) < int64(b.n)
	}
	return a.s < b.s
}

func keyEqual(a, b Value) bool { return a.kind == b.kind && a.n == b.n && a.s == b.s }

// Kind returns the kind of v.
func (v Value) Kind() Kind { return v.kind }

// IsNil reports whether v is nil.
func (v Value) IsNil() bool { return v.kind == KindNil }

// AsBool returns the boolean and whether v is one.
func (v Value) AsBool() (bool, bool) { return v.n != 0, v.kind == KindBool }

// AsInt returns the integer and whether v is one.
func (v Value) AsInt() (int64, bool) { return int64(v.n), v.kind == KindInt }

// AsFloat returns the float and whether v is one.
func (v Value) AsFloat() (float64, bool) { return math.Float64frombits(v.n), v.kind == KindFloat }

// AsString returns the string and whether v is one.
func (v Value) AsString() (string, bool) { return v.s, v.kind == KindString }

// AsBytes returns a copy of the bytes and whether v is bytes.
func (v Value) AsBytes() ([]byte, bool) {
	if v.kind != KindBytes {
		return nil, false
	}
	return []byte(v.s), true
}

// BytesString returns the bytes of a bytes Value as a string, without copying.
func (v Value) BytesString() (string, bool) { return v.s, v.kind == KindBytes }

// AsPID returns the PID and whether v is one.
func (v Value) AsPID() (pid.PID, bool) {
	p, ok := v.x.(pid.PID)
	return p, ok && v.kind == KindPID
}

// AsError returns the error object and whether v is one.
func (v Value) AsError() (ErrorValue, bool) {
	if v.kind != KindError {
		return ErrorValue{}, false
	}
	return *v.x.(*ErrorValue), true
}

// Items returns the elements of a list (nil for any other kind). The caller
// must not modify the returned slice.
func (v Value) Items() []Value {
	if v.kind != KindList {
		return nil
	}
	return v.x.([]Value)
}

// Pairs returns the entries of a map, sorted by key (nil for any other kind).
// The caller must not modify the returned slice.
func (v Value) Pairs() []Pair {
	if v.kind != KindMap {
		return nil
	}
	return v.x.([]Pair)
}

// Len returns the number of elements of a list or map, the length of a string
// or bytes, and 0 otherwise.
func (v Value) Len() int {
	switch v.kind {
	case KindList:
		return len(v.x.([]Value))
	case KindMap:
		return len(v.x.([]Pair))
	case KindString, KindBytes:
		return len(v.s)
	}
	return 0
}

// Get returns the value of a map entry with a string key.
func (v Value) Get(key string) (Value, bool) {
	ps := v.Pairs()
	i := sort.Search(len(ps), func(i int) bool { return !keyLess(ps[i].Key, String(key)) })
	if i < len(ps) && ps[i].Key.kind == KindString && ps[i].Key.s == key {
		return ps[i].Val, true
	}
	return Nil, false
}

// Depth returns the nesting depth of v: 0 for a scalar, 1 for a flat list.
// An error is a container of its details (it travels as a table of kind,
// message, retryable and details), so an error counts one level: an error
// whose details are a flat list has depth 2. Without that, errors nested in
// the details of errors would be an unbounded nesting the cap misses.
func (v Value) Depth() int {
	d := 0
	switch v.kind {
	case KindList:
		for _, it := range v.x.([]Value) {
			d = max(d, it.Depth())
		}
		return d + 1
	case KindMap:
		for _, p := range v.x.([]Pair) {
			d = max(d, p.Val.Depth())
		}
		return d + 1
	case KindError:
		return v.x.(*ErrorValue).Details.Depth() + 1
	}
	return 0
}

// Check returns ErrTooDeep when v nests deeper than MaxDepth.
func (v Value) Check() error {
	if v.Depth() > MaxDepth {
		return ErrTooDeep
	}
	return nil
}

// Copy returns a deep copy of v that shares no mutable memory with it.
// Values are immutable through this API, so Copy matters only to code that
// built a Value from slices it keeps changing.
func (v Value) Copy() Value {
	switch v.kind {
	case KindList:
		src := v.x.([]Value)
		dst := make([]Value, len(src))
		for i, it := range src {
			dst[i] = it.Copy()
		}
		return Value{kind: KindList, x: dst}
	case KindMap:
		src := v.x.([]Pair)
		dst := make([]Pair, len(src))
		for i, p := range src {
			dst[i] = Pair{Key: p.Key, Val: p.Val.Copy()}
		}
		return Value{kind: KindMap, x: dst}
	case KindError:
		e := *v.x.(*ErrorValue)
		e.Details = e.Details.Copy()
		return Value{kind: KindError, x: &e}
	}
	return v
}

// Equal reports whether a and b hold the same value. Floats compare by bits,
// so NaN equals the same NaN and 0.0 differs from -0.0; an int never equals a
// float.
func Equal(a, b Value) bool {
	if a.kind != b.kind || a.n != b.n || a.s != b.s {
		return false
	}
	switch a.kind {
	case KindList:
		x, y := a.x.([]Value), b.x.([]Value)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
	case KindMap:
		x, y := a.x.([]Pair), b.x.([]Pair)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !keyEqual(x[i].Key, y[i].Key) || !Equal(x[i].Val, y[i].Val) {
				return false
			}
		}
	case KindPID:
		return a.x.(pid.PID) == b.x.(pid.PID)
	case KindError:
		x, y := a.x.(*ErrorValue), b.x.(*ErrorValue)
		return x.Kind == y.Kind && x.Message == y.Message && x.Retryable == y.Retryable && Equal(x.Details, y.Details)
	}
	return true
}

// String renders v for logs and tests: Lua-like, deterministic.
func (v Value) String() string {
	var b strings.Builder
	v.format(&b)
	return b.String()
}

func (v Value) format(b *strings.Builder) {
	switch v.kind {
	case KindNil:
		b.WriteString("nil")
	case KindBool:
		b.WriteString(strconv.FormatBool(v.n != 0))
	case KindInt:
		b.WriteString(strconv.FormatInt(int64(v.n), 10))
	case KindFloat:
		b.WriteString(strconv.FormatFloat(math.Float64frombits(v.n), 'g', -1, 64))
	case KindString:
		b.WriteString(strconv.Quote(v.s))
	case KindBytes:
		fmt.Fprintf(b, "bytes(%x)", v.s)
	case KindPID:
		b.WriteString(v.x.(pid.PID).String())
	case KindList:
		b.WriteByte('[')
		for i, it := range v.x.([]Value) {
			if i > 0 {
				b.WriteString(", ")
			}
			it.format(b)
		}
		b.WriteByte(']')
	case KindMap:
		b.WriteByte('{')
		for i, p := range v.x.([]Pair) {
			if i > 0 {
				b.WriteString(", ")
			}
			p.Key.format(b)
			b.WriteString(": ")
			p.Val.format(b)
		}
		b.WriteByte('}')
	case KindError:
		e := v.x.(*ErrorValue)
		fmt.Fprintf(b, "error(%s: %s)", e.Kind, e.Message)
	}
}
