package msgp

import (
	"errors"
	"fmt"
	"math"
)

var (
	// ErrTruncated: the input ends inside a value, or a length announces
	// more than is left.
	ErrTruncated = errors.New("msgp: truncated")
	// ErrMalformed: a value of another type than asked for, out of range
	// or over a limit, trailing bytes, or a failure a caller reported with
	// Fail.
	ErrMalformed = errors.New("msgp: malformed")
)

// maxSkipDepth bounds the nesting of a value Skip passes over.
const maxSkipDepth = 16

// Reader decodes msgpack values from a byte slice, in place, with a sticky
// error (see the package comment).
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Err is the first failure, nil while there is none.
func (r *Reader) Err() error { return r.err }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Fail records a failure of the caller's own checks (an unknown op code, a
// value out of its range), wrapping ErrMalformed, unless there is one
// already.
func (r *Reader) Fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (r *Reader) truncated(n int) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %d bytes announced, %d left", ErrTruncated, n, r.Len())
	}
}

// End fails unless every byte was read, and returns the first failure.
func (r *Reader) End() error {
	if r.err == nil && r.Len() != 0 {
		r.Fail("%d trailing bytes", r.Len())
	}
	return r.err
}

// Rest returns the bytes not read yet, in place, and consumes them.
func (r *Reader) Rest() []byte { return r.take(r.Len()) }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > r.Len() {
		r.truncated(n)
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

// Byte reads one raw byte (not a msgpack value: a message's own tag).
func (r *Reader) Byte() byte {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

// be reads an n-byte big-endian unsigned number.
func (r *Reader) be(n int) uint64 {
	var v uint64
	for _, c := range r.take(n) {
		v = v<<8 | uint64(c)
	}
	return v
}

// Int reads any msgpack integer; an unsigned one above MaxInt64 fails.
func (r *Reader) Int() int64 {
	c := r.Byte()
	switch {
	case r.err != nil:
		return 0
	case c < 0x80:
		return int64(c)
	case c >= 0xe0:
		return int64(int8(c))
	case c >= 0xcc && c <= 0xcf:
		v := r.be(1 << (c - 0xcc))
		if v > math.MaxInt64 {
			r.Fail("integer %d out of range", v)
			return 0
		}
		return int64(v)
	case c >= 0xd0 && c <= 0xd3:
		bits := uint(8) << (c - 0xd0)
		v := r.be(1 << (c - 0xd0))
		return int64(v<<(64-bits)) >> (64 - bits) // sign-extend
	}
	r.Fail("want an integer, got code 0x%02x", c)
	return 0
}

// Uint reads a non-negative msgpack integer, in any width.
func (r *Reader) Uint() uint64 {
	if r.err == nil && r.Len() > 0 && r.b[r.off] == 0xcf {
		r.off++
		return r.be(8)
	}
	v := r.Int()
	if v < 0 {
		r.Fail("negative integer %d", v)
		return 0
	}
	return uint64(v)
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	switch c := r.Byte(); {
	case r.err != nil:
	case c == 0xc3:
		return true
	case c == 0xc2:
	default:
		r.Fail("want a bool, got code 0x%02x", c)
	}
	return false
}

// Bytes reads a str or bin of at most limit bytes and returns them in
// place (they alias the input); nil reads as nil.
func (r *Reader) Bytes(limit int) []byte {
	c := r.Byte()
	if r.err != nil {
		return nil
	}
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c >= 0xd9 && c <= 0xdb:
		n = int(r.be(1 << (c - 0xd9)))
	case c >= 0xc4 && c <= 0xc6:
		n = int(r.be(1 << (c - 0xc4)))
	case c == 0xc0:
		return nil
	default:
		r.Fail("want bytes, got code 0x%02x", c)
		return nil
	}
	if n > limit && r.err == nil {
		r.Fail("%d bytes, limit %d", n, limit)
		return nil
	}
	return r.take(n)
}

// BytesCopy is Bytes copied out of the input (nil when empty), for bytes
// kept after the message: a small slice must not pin a large buffer.
func (r *Reader) BytesCopy(limit int) []byte {
	p := r.Bytes(limit)
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// Str reads a str or bin of at most limit bytes as a string.
func (r *Reader) Str(limit int) string { return string(r.Bytes(limit)) }

// ArrayLen reads an array header of at most limit elements, each of which
// needs at least minSize bytes (at least one) of what is left.
func (r *Reader) ArrayLen(limit, minSize int) int {
	return r.header(0x90, 0xdc, limit, max(minSize, 1))
}

// MapLen reads a map header of at most limit pairs.
func (r *Reader) MapLen(limit int) int { return r.header(0x80, 0xde, limit, 2) }

func (r *Reader) header(fix, code16 byte, limit, minSize int) int {
	c := r.Byte()
	if r.err != nil {
		return 0
	}
	var n uint64
	switch {
	case c&0xf0 == fix:
		n = uint64(c & 0x0f)
	case c == code16 || c == code16+1:
		n = r.be(2 << (c - code16))
	default:
		r.Fail("want a container, got code 0x%02x", c)
		return 0
	}
	switch {
	case r.err != nil:
		return 0
	case n > uint64(limit):
		r.Fail("%d elements, limit %d", n, limit)
		return 0
	case n > uint64(r.Len()/minSize):
		r.truncated(int(n) * minSize)
		return 0
	}
	return int(n)
}

// Skip passes over one value of any type, nested at most 16 deep.
func (r *Reader) Skip() { r.skip(0) }

func (r *Reader) skip(depth int) {
	if depth > maxSkipDepth {
		r.Fail("nested deeper than %d", maxSkipDepth)
		return
	}
	c := r.Byte()
	if r.err != nil {
		return
	}
	var n uint64 // bytes of payload to pass over
	switch {
	case c < 0x80 || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c&0xf0 == 0x80, c == 0xde, c == 0xdf, c&0xf0 == 0x90, c == 0xdc, c == 0xdd:
		r.off--
		var count int
		if c&0xf0 == 0x80 || c >= 0xde {
			count = 2 * r.MapLen(math.MaxInt)
		} else {
			count = r.ArrayLen(math.MaxInt, 1)
		}
		for range count {
			r.skip(depth + 1)
		}
		return
	case c >= 0xc4 && c <= 0xc6: // bin 8/16/32
		n = r.be(1 << (c - 0xc4))
	case c >= 0xc7 && c <= 0xc9: // ext 8/16/32: length, type, data
		n = r.be(1<<(c-0xc7)) + 1
	case c == 0xca:
		n = 4
	case c == 0xcb:
		n = 8
	case c >= 0xcc && c <= 0xcf:
		n = 1 << (c - 0xcc)
	case c >= 0xd0 && c <= 0xd3:
		n = 1 << (c - 0xd0)
	case c >= 0xd4 && c <= 0xd8: // fixext 1..16, plus the type byte
		n = 1<<(c-0xd4) + 1
	case c >= 0xd9 && c <= 0xdb:
		n = r.be(1 << (c - 0xd9))
	default: // 0xc1 is never used
		r.Fail("reserved code 0x%02x", c)
		return
	}
	if n > uint64(r.Len()) {
		r.truncated(int(min(n, math.MaxInt32)))
		return
	}
	r.take(int(n))
}
