package raftreg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The bodies this package sends on its two streams are sequences of msgpack
// values, appended and parsed by hand (no reflection): a few dozen bytes per
// message, encoded in well under a microsecond. The reader accepts every
// msgpack form of the types it expects (any integer width, str or bin for
// bytes), checks every length against the bytes left before allocating, and
// never panics on hostile input.

// errWire is wrapped into every decoding failure.
var errWire = errors.New("malformed message")

// wbuf appends msgpack values to a byte slice.
type wbuf struct{ b []byte }

func (w *wbuf) raw(c ...byte) { w.b = append(w.b, c...) }

func (w *wbuf) uint(v uint64) {
	switch {
	case v <= 0x7f:
		w.b = append(w.b, byte(v))
	case v <= math.MaxUint8:
		w.b = append(w.b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		w.b = append(w.b, 0xcd)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(v))
	case v <= math.MaxUint32:
		w.b = append(w.b, 0xce)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(v))
	default:
		w.b = append(w.b, 0xcf)
		w.b = binary.BigEndian.AppendUint64(w.b, v)
	}
}

func (w *wbuf) int(v int64) {
	switch {
	case v >= 0:
		w.uint(uint64(v))
	case v >= -32:
		w.b = append(w.b, byte(v))
	default:
		w.b = append(w.b, 0xd3)
		w.b = binary.BigEndian.AppendUint64(w.b, uint64(v))
	}
}

func (w *wbuf) bool(v bool) {
	if v {
		w.b = append(w.b, 0xc3)
	} else {
		w.b = append(w.b, 0xc2)
	}
}

func (w *wbuf) str(s string) {
	n := len(s)
	switch {
	case n < 32:
		w.b = append(w.b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		w.b = append(w.b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		w.b = append(w.b, 0xda)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(n))
	default:
		w.b = append(w.b, 0xdb)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	}
	w.b = append(w.b, s...)
}

func (w *wbuf) bin(p []byte) {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		w.b = append(w.b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		w.b = append(w.b, 0xc5)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(n))
	default:
		w.b = append(w.b, 0xc6)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	}
	w.b = append(w.b, p...)
}

func (w *wbuf) arr(n int) {
	switch {
	case n < 16:
		w.b = append(w.b, 0x90|byte(n))
	case n <= math.MaxUint16:
		w.b = append(w.b, 0xdc)
		w.b = binary.BigEndian.AppendUint16(w.b, uint16(n))
	default:
		w.b = append(w.b, 0xdd)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	}
}

// rbuf reads msgpack values with a sticky error: after the first failure
// every read returns a zero value.
type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errWire}, args...)...)
	}
}

func (r *rbuf) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *rbuf) byte() byte {
	p := r.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *rbuf) be(n int) uint64 {
	p := r.take(n)
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

// int reads any msgpack integer as an int64; an unsigned value above
// MaxInt64 is refused.
func (r *rbuf) int() int64 {
	c := r.byte()
	switch {
	case r.err != nil:
		return 0
	case c <= 0x7f:
		return int64(c)
	case c >= 0xe0:
		return int64(int8(c))
	}
	switch c {
	case 0xcc:
		return int64(r.be(1))
	case 0xcd:
		return int64(r.be(2))
	case 0xce:
		return int64(r.be(4))
	case 0xcf:
		v := r.be(8)
		if v > math.MaxInt64 {
			r.fail("integer out of range")
			return 0
		}
		return int64(v)
	case 0xd0:
		return int64(int8(r.be(1)))
	case 0xd1:
		return int64(int16(r.be(2)))
	case 0xd2:
		return int64(int32(r.be(4)))
	case 0xd3:
		return int64(r.be(8))
	}
	r.fail("want an integer, got code 0x%02x", c)
	return 0
}

// uint reads a non-negative msgpack integer.
func (r *rbuf) uint() uint64 {
	if r.err == nil && len(r.b) > 0 && r.b[0] == 0xcf {
		r.take(1)
		return r.be(8)
	}
	v := r.int()
	if v < 0 {
		r.fail("negative integer")
		return 0
	}
	return uint64(v)
}

func (r *rbuf) bool() bool {
	switch c := r.byte(); {
	case r.err != nil:
	case c == 0xc3:
		return true
	case c == 0xc2:
	default:
		r.fail("want a bool, got code 0x%02x", c)
	}
	return false
}

// rawBytes reads a str or bin header and returns the bytes it covers, in
// place; at most limit bytes.
func (r *rbuf) rawBytes(limit int) []byte {
	c := r.byte()
	if r.err != nil {
		return nil
	}
	var n int
	switch {
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n = int(r.be(1))
	case c == 0xda || c == 0xc5:
		n = int(r.be(2))
	case c == 0xdb || c == 0xc6:
		n = int(r.be(4))
	case c == 0xc0: // nil
		return nil
	default:
		r.fail("want bytes, got code 0x%02x", c)
		return nil
	}
	if n > limit {
		r.fail("%d bytes, limit %d", n, limit)
		return nil
	}
	return r.take(n)
}

func (r *rbuf) str(limit int) string { return string(r.rawBytes(limit)) }

// bin returns a copy of the bytes, nil when empty.
func (r *rbuf) bin(limit int) []byte {
	p := r.rawBytes(limit)
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

// arr reads an array header of at most limit elements, each of which needs
// at least minSize bytes.
func (r *rbuf) arr(limit, minSize int) int {
	c := r.byte()
	if r.err != nil {
		return 0
	}
	var n int
	switch {
	case c&0xf0 == 0x90:
		n = int(c & 0x0f)
	case c == 0xdc:
		n = int(r.be(2))
	case c == 0xdd:
		n = int(r.be(4))
	default:
		r.fail("want an array, got code 0x%02x", c)
		return 0
	}
	if n > limit || n*minSize > len(r.b) {
		r.fail("array of %d elements does not fit", n)
		return 0
	}
	return n
}

// end fails unless every byte was read, and returns the first error.
func (r *rbuf) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}
