package msg

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/wippyd/wippyd/runtime/pid"
)

// sizer is a reader that knows how many unread bytes it holds.
type sizer interface{ Len() int }

// Decode reads one Value from dec and leaves the bytes after it unread. On
// error it returns Nil.
//
// dec must read from a source that reports how many bytes it has left
// (*bytes.Reader, *bytes.Buffer, *strings.Reader: anything with a Len() int
// method that msgpack's Decoder reads without its own buffering), so that
// every length prefix is checked against the input before anything is
// allocated; any other source gives ErrSource. Frames arrive whole, so
// payloads are always decoded from memory.
func Decode(dec *msgpack.Decoder) (Value, error) {
	src, ok := dec.Buffered().(sizer)
	if !ok {
		return Nil, fmt.Errorf("%w: got %T", ErrSource, dec.Buffered())
	}
	d := decoders.Get().(*decoder)
	d.dec, d.src, d.floor, d.start = dec, src, 0, src.Len()
	d.budget = DecodeBudget(d.start)
	v, err := d.value(0)
	d.release()
	return v, err
}

// DecodeMsgpack implements msgpack.CustomDecoder with Decode, so a Value may
// be a field of a struct that msgpack.Unmarshal decodes. v is left unchanged
// on error.
func (v *Value) DecodeMsgpack(dec *msgpack.Decoder) error {
	x, err := Decode(dec)
	if err != nil {
		return err
	}
	*v = x
	return nil
}

// Unmarshal decodes the one Value that b holds; bytes after it are an error
// (ErrTrailing). The Value shares no memory with b. On error it returns Nil.
//
// Decoding allocates at most DecodeBudget(len(b)) bytes: input that would
// need more is refused with ErrBudget before the allocation is made.
func Unmarshal(b []byte) (Value, error) {
	d := decoders.Get().(*decoder)
	d.r.Reset(b)
	d.dec, d.src, d.floor, d.start, d.raw = d.own, &d.r, 0, len(b), b
	d.budget = DecodeBudget(len(b))
	v, err := d.value(0)
	if err == nil && d.r.Len() != 0 {
		v, err = Nil, fmt.Errorf("%w: %d bytes at offset %d", ErrTrailing, d.r.Len(), d.offset())
	}
	d.r.Reset(nil)
	d.raw = nil
	d.release()
	return v, err
}

// decoder is the state of one Decode or Unmarshal call. Pooled: it carries
// a scratch buffer for Decode, and for Unmarshal its own msgpack.Decoder
// bound to r.
type decoder struct {
	dec   *msgpack.Decoder
	src   sizer
	floor int // src.Len() where the innermost ext body being read ends
	start int // src.Len() when decoding began, for offsets in errors
	buf   []byte
	own   *msgpack.Decoder // reads r; used by Unmarshal
	r     bytes.Reader
	raw   []byte // what r reads, for Unmarshal to copy strings out directly
	// budget is what the value may still allocate, in bytes.
	budget int
}

// The decode memory budget. A Value is 48 bytes, so one-byte elements (a
// list of small integers, of empty strings) cost 48 bytes per input byte,
// an empty list or map 72 (its slot and its boxed slice header), while
// ordinary data (maps with string keys, floats, longer strings) stays
// under 32. The budget lets every input use 32 bytes per byte and adds a
// fixed megabyte, so only large inputs made mostly of one-byte elements
// are refused: a 16 MiB frame decodes into at most 513 MiB instead of
// about 1.2 GiB, whatever its shape.
const (
	// DecodeBytesPerByte is the memory a decode may use per input byte.
	DecodeBytesPerByte = 32
	// DecodeBaseBytes is the memory any decode may use on top of that.
	DecodeBaseBytes = 1 << 20
)

// DecodeBudget is the most memory Unmarshal or Decode allocates for n
// bytes of input (allocator rounding aside).
func DecodeBudget(n int) int { return DecodeBaseBytes + DecodeBytesPerByte*n }

// Sizes the decoder charges to the budget.
const (
	valueSize = int(unsafe.Sizeof(Value{}))
	pairSize  = int(unsafe.Sizeof(Pair{}))
	boxSize   = int(unsafe.Sizeof([]Value(nil))) // a slice stored in Value.x
	pidSize   = int(unsafe.Sizeof(pid.PID{}))
	errSize   = int(unsafe.Sizeof(ErrorValue{}))
)

// decodeCost is what decoding v charges to the budget (see charge).
func decodeCost(v Value) int {
	switch v.kind {
	case KindString, KindBytes:
		return len(v.s)
	case KindList:
		items := v.x.([]Value)
		n := boxSize + len(items)*valueSize
		for _, it := range items {
			n += decodeCost(it)
		}
		return n
	case KindMap:
		pairs := v.x.([]Pair)
		n := boxSize + len(pairs)*pairSize
		for _, p := range pairs {
			n += decodeCost(p.Key) + decodeCost(p.Val)
		}
		return n
	case KindPID:
		p := v.x.(pid.PID)
		return pidSize + len(p.Node) + len(p.Host)
	case KindError:
		ev := v.x.(*ErrorValue)
		return errSize + len(ev.Kind) + len(ev.Message) + decodeCost(ev.Details)
	}
	return 0
}

// checkBudget refuses, with ErrBudget, a value whose decoding would need
// more than DecodeBudget of its encoded size. Only a value that costs more
// than DecodeBaseBytes can, so the size is walked for those only; a
// scalar never can.
func checkBudget(v Value) error {
	if v.kind != KindList && v.kind != KindMap && v.kind != KindError {
		return nil
	}
	cost := decodeCost(v)
	if cost <= DecodeBaseBytes {
		return nil
	}
	size, err := encodedSize(v, 0)
	if err != nil {
		return err
	}
	if cost > DecodeBudget(size) {
		return fmt.Errorf("%w: %d bytes encoded would decode into %d, budget %d (a list or map of very many tiny elements: send it in parts)",
			ErrBudget, size, cost, DecodeBudget(size))
	}
	return nil
}

// charge takes n bytes from the budget, or refuses the value at offset at.
func (d *decoder) charge(n, at int) error {
	if n > d.budget {
		return fmt.Errorf("%w: value at offset %d needs %d more bytes, %d of %d left", ErrBudget, at, n, d.budget, DecodeBudget(d.start))
	}
	d.budget -= n
	return nil
}

const scratchSize = 4 << 10

var decoders = sync.Pool{New: func() any {
	d := &decoder{}
	d.own = msgpack.NewDecoder(&d.r)
	return d
}}

func (d *decoder) release() {
	d.dec, d.src = nil, nil
	decoders.Put(d)
}

// left is the number of bytes the value being read may still use: up to
// the end of the input, or of the ext body it is part of.
func (d *decoder) left() int   { return d.src.Len() - d.floor }
func (d *decoder) offset() int { return d.start - d.src.Len() }

// head peeks the next code and checks that its whole header (code, length
// or fixed-size payload) is within bounds, so the msgpack primitive that
// reads it cannot run past the end.
func (d *decoder) head() (byte, error) {
	if d.left() < 1 {
		return 0, fmt.Errorf("%w at offset %d", ErrTruncated, d.offset())
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return 0, d.wrap(err)
	}
	n := headLen(c)
	if n == 0 {
		return 0, fmt.Errorf("%w: code 0x%02x at offset %d", ErrType, c, d.offset())
	}
	if d.left() < n {
		return 0, fmt.Errorf("%w: %d-byte header at offset %d, %d bytes left", ErrTruncated, n, d.offset(), d.left())
	}
	return c, nil
}

// headLen returns the size of the header of a value starting with code c,
// including fixed-size payloads (numbers) and the type byte of exts, or 0
// for the code msgpack never uses.
func headLen(c byte) int {
	switch {
	case c <= msgpcode.FixedStrHigh || c >= msgpcode.NegFixedNumLow:
		return 1 // fixint, fixmap, fixarray, fixstr
	case c == msgpcode.Nil, c == msgpcode.False, c == msgpcode.True:
		return 1
	case c == msgpcode.Uint8, c == msgpcode.Int8, c == msgpcode.Str8, c == msgpcode.Bin8:
		return 2
	case c == msgpcode.Uint16, c == msgpcode.Int16, c == msgpcode.Str16, c == msgpcode.Bin16,
		c == msgpcode.Array16, c == msgpcode.Map16:
		return 3
	case c == msgpcode.Uint32, c == msgpcode.Int32, c == msgpcode.Float, c == msgpcode.Str32,
		c == msgpcode.Bin32, c == msgpcode.Array32, c == msgpcode.Map32:
		return 5
	case c == msgpcode.Uint64, c == msgpcode.Int64, c == msgpcode.Double:
		return 9
	case msgpcode.IsFixedExt(c):
		return 2
	case c == msgpcode.Ext8:
		return 3
	case c == msgpcode.Ext16:
		return 4
	case c == msgpcode.Ext32:
		return 6
	}
	return 0
}

func isInt(c byte) bool { return msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Int64 }

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

func isMap(c byte) bool { return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32 }

// wrap turns an error of a msgpack primitive into one of ours. head checks
// bounds first, so these are not expected; they are mapped all the same.
func (d *decoder) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w at offset %d: %w", ErrTruncated, d.offset(), err)
	}
	return fmt.Errorf("%w at offset %d: %w", ErrMalformed, d.offset(), err)
}

func (d *decoder) value(depth int) (Value, error) {
	c, err := d.head()
	if err != nil {
		return Nil, err
	}
	switch {
	case isInt(c):
		i, err := d.int(c)
		if err != nil {
			return Nil, err
		}
		return Int(i), nil
	case msgpcode.IsString(c):
		s, err := d.str()
		if err != nil {
			return Nil, err
		}
		return String(s), nil
	case c == msgpcode.Nil:
		return Nil, d.wrap(d.dec.DecodeNil())
	case c == msgpcode.False || c == msgpcode.True:
		b, err := d.dec.DecodeBool()
		if err != nil {
			return Nil, d.wrap(err)
		}
		return Bool(b), nil
	case c == msgpcode.Float || c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		if err != nil {
			return Nil, d.wrap(err)
		}
		return Float(f), nil
	case msgpcode.IsBin(c):
		s, err := d.str()
		if err != nil {
			return Nil, err
		}
		return Value{kind: KindBytes, s: s}, nil
	case isArray(c):
		return d.list(depth)
	case isMap(c):
		return d.mapValue(depth)
	case msgpcode.IsExt(c):
		return d.ext(depth)
	}
	return Nil, fmt.Errorf("%w: code 0x%02x at offset %d", ErrType, c, d.offset())
}

func (d *decoder) int(c byte) (int64, error) {
	if c == msgpcode.Uint64 {
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return 0, d.wrap(err)
		}
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %d at offset %d", ErrIntRange, u, d.offset()-9)
		}
		return int64(u), nil
	}
	i, err := d.dec.DecodeInt64()
	return i, d.wrap(err)
}

// str reads a str or bin whose code head has checked.
func (d *decoder) str() (string, error) {
	at := d.offset()
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return "", d.wrap(err)
	}
	// n < 0 only where int is 32 bits and the prefix is above 2^31.
	if n < 0 || n > d.left() {
		return "", fmt.Errorf("%w: str/bin of %d bytes at offset %d, %d bytes left", ErrLength, uint32(n), at, d.left())
	}
	if n == 0 {
		return "", nil
	}
	if err := d.charge(n, at); err != nil {
		return "", err
	}
	if d.raw != nil {
		// Unmarshal knows the input: one copy, no reads through interfaces.
		off := len(d.raw) - d.r.Len()
		s := string(d.raw[off : off+n])
		_, err := d.r.Seek(int64(n), io.SeekCurrent)
		return s, d.wrap(err)
	}
	if d.buf == nil {
		d.buf = make([]byte, scratchSize)
	}
	var sb strings.Builder
	sb.Grow(n)
	for n > 0 {
		chunk := d.buf[:min(n, len(d.buf))]
		if err := d.dec.ReadFull(chunk); err != nil {
			return "", d.wrap(err)
		}
		sb.Write(chunk)
		n -= len(chunk)
	}
	return sb.String(), nil
}

func (d *decoder) list(depth int) (Value, error) {
	at := d.offset()
	if depth >= MaxDepth {
		return Nil, fmt.Errorf("%w: list at offset %d", ErrTooDeep, at)
	}
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return Nil, d.wrap(err)
	}
	// Every element takes at least one byte.
	if n < 0 || n > d.left() {
		return Nil, fmt.Errorf("%w: array of %d at offset %d, %d bytes left", ErrLength, uint32(n), at, d.left())
	}
	if err := d.charge(boxSize+n*valueSize, at); err != nil {
		return Nil, err
	}
	items := make([]Value, n)
	for i := range items {
		if items[i], err = d.value(depth + 1); err != nil {
			return Nil, err
		}
	}
	return Value{kind: KindList, x: items}, nil
}

func (d *decoder) mapValue(depth int) (Value, error) {
	at := d.offset()
	if depth >= MaxDepth {
		return Nil, fmt.Errorf("%w: map at offset %d", ErrTooDeep, at)
	}
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return Nil, d.wrap(err)
	}
	// Every entry takes at least two bytes.
	if n < 0 || n > d.left()/2 {
		return Nil, fmt.Errorf("%w: map of %d at offset %d, %d bytes left", ErrLength, uint32(n), at, d.left())
	}
	if err := d.charge(boxSize+n*pairSize, at); err != nil {
		return Nil, err
	}
	pairs := make([]Pair, n)
	for i := range pairs {
		if pairs[i].Key, err = d.key(); err != nil {
			return Nil, err
		}
		if pairs[i].Val, err = d.value(depth + 1); err != nil {
			return Nil, err
		}
	}
	// Our encoder writes keys sorted; accept any order from others, but
	// never the same key twice: which one wins would be a guess.
	sorted := true
	for i := 1; i < n; i++ {
		c := compareKeys(pairs[i-1].Key, pairs[i].Key)
		if c == 0 {
			return Nil, fmt.Errorf("%w: %s in map at offset %d", ErrDupKey, pairs[i].Key, at)
		}
		if c > 0 {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.SortFunc(pairs, func(a, b Pair) int { return compareKeys(a.Key, b.Key) })
		for i := 1; i < n; i++ {
			if compareKeys(pairs[i-1].Key, pairs[i].Key) == 0 {
				return Nil, fmt.Errorf("%w: %s in map at offset %d", ErrDupKey, pairs[i].Key, at)
			}
		}
	}
	return Value{kind: KindMap, x: pairs}, nil
}

// compareKeys orders map keys as Map does: integers first, then strings.
func compareKeys(a, b Value) int {
	if a.kind != b.kind {
		if a.kind == KindInt {
			return -1
		}
		return 1
	}
	if a.kind == KindInt {
		return cmp.Compare(int64(a.n), int64(b.n))
	}
	return strings.Compare(a.s, b.s)
}

func (d *decoder) key() (Value, error) {
	c, err := d.head()
	if err != nil {
		return Nil, err
	}
	switch {
	case msgpcode.IsString(c):
		s, err := d.str()
		if err != nil {
			return Nil, err
		}
		return String(s), nil
	case isInt(c):
		i, err := d.int(c)
		if err != nil {
			return Nil, err
		}
		return Int(i), nil
	}
	return Nil, fmt.Errorf("%w: code 0x%02x at offset %d", ErrKey, c, d.offset())
}

// ext reads a PID or an error. Its body is read in place with the floor
// raised to the end of the body, so nothing in it can reach past it, and it
// must fill the body exactly.
func (d *decoder) ext(depth int) (Value, error) {
	at := d.offset()
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return Nil, d.wrap(err)
	}
	if id != ExtPID && id != ExtError {
		return Nil, fmt.Errorf("%w: %d at offset %d", ErrExt, id, at)
	}
	if n < 0 || n > d.left() {
		return Nil, fmt.Errorf("%w: ext of %d bytes at offset %d, %d bytes left", ErrLength, uint32(n), at, d.left())
	}
	size := pidSize
	if id == ExtError {
		size = errSize
	}
	if err := d.charge(size, at); err != nil {
		return Nil, err
	}
	outer := d.floor
	d.floor = d.src.Len() - n
	var v Value
	if id == ExtPID {
		v, err = d.pid()
	} else {
		v, err = d.errorValue(depth, at)
	}
	if err == nil && d.left() != 0 {
		err = fmt.Errorf("%w: ext %d at offset %d has %d unread bytes", ErrMalformed, id, at, d.left())
	}
	d.floor = outer
	if err != nil {
		return Nil, err
	}
	return v, nil
}

func (d *decoder) pid() (Value, error) {
	if err := d.arrayOf(3, "pid"); err != nil {
		return Nil, err
	}
	node, err := d.strField("pid node")
	if err != nil {
		return Nil, err
	}
	host, err := d.strField("pid host")
	if err != nil {
		return Nil, err
	}
	c, err := d.head()
	if err != nil {
		return Nil, err
	}
	if !isInt(c) {
		return Nil, fmt.Errorf("%w: pid seq is code 0x%02x at offset %d", ErrMalformed, c, d.offset())
	}
	// The sequence uses all 64 bits, unlike an int Value.
	seq, err := d.dec.DecodeUint64()
	if err != nil {
		return Nil, d.wrap(err)
	}
	if c != msgpcode.Uint64 && int64(seq) < 0 {
		return Nil, fmt.Errorf("%w: negative pid seq at offset %d", ErrMalformed, d.offset())
	}
	return PIDValue(pid.PID{Node: node, Host: host, Seq: seq}), nil
}

func (d *decoder) errorValue(depth, at int) (Value, error) {
	if depth >= MaxDepth {
		return Nil, fmt.Errorf("%w: error at offset %d", ErrTooDeep, at)
	}
	if err := d.arrayOf(4, "error"); err != nil {
		return Nil, err
	}
	var e ErrorValue
	var err error
	if e.Kind, err = d.strField("error kind"); err != nil {
		return Nil, err
	}
	if e.Message, err = d.strField("error message"); err != nil {
		return Nil, err
	}
	c, err := d.head()
	if err != nil {
		return Nil, err
	}
	switch c {
	case msgpcode.Nil:
		err = d.dec.DecodeNil()
	case msgpcode.False, msgpcode.True:
		var b bool
		b, err = d.dec.DecodeBool()
		e.Retryable = TriOf(b)
	default:
		return Nil, fmt.Errorf("%w: error retryable is code 0x%02x at offset %d", ErrMalformed, c, d.offset())
	}
	if err != nil {
		return Nil, d.wrap(err)
	}
	if e.Details, err = d.value(depth + 1); err != nil {
		return Nil, err
	}
	return Error(e), nil
}

// arrayOf reads the header of an array that must have exactly n elements.
func (d *decoder) arrayOf(n int, what string) error {
	c, err := d.head()
	if err != nil {
		return err
	}
	at := d.offset()
	if !isArray(c) {
		return fmt.Errorf("%w: %s body is code 0x%02x at offset %d", ErrMalformed, what, c, at)
	}
	got, err := d.dec.DecodeArrayLen()
	if err != nil {
		return d.wrap(err)
	}
	if got != n {
		return fmt.Errorf("%w: %s body has %d fields at offset %d, want %d", ErrMalformed, what, got, at, n)
	}
	return nil
}

func (d *decoder) strField(what string) (string, error) {
	c, err := d.head()
	if err != nil {
		return "", err
	}
	if !msgpcode.IsString(c) {
		return "", fmt.Errorf("%w: %s is code 0x%02x at offset %d", ErrMalformed, what, c, d.offset())
	}
	return d.str()
}
