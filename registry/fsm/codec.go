package fsm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// The command and snapshot encodings are sequences of msgpack values written
// with the Encoder primitives (no reflection) in their shortest form. The
// reader accepts only that form: unsigned integers as positive fixint or
// the smallest uint8/16/32/64 that holds them, strings as the smallest str
// header (never bin or nil). So every accepted input is the one encoding of
// what it decodes to, and re-encoding gives the same bytes back.

// writer builds an encoding. Writes to a bytes.Buffer cannot fail, but the
// first error is kept all the same rather than dropped.
type writer struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	err error
}

func newWriter(size int) *writer {
	w := &writer{}
	w.buf.Grow(size)
	w.enc = msgpack.NewEncoder(&w.buf)
	return w
}

func (w *writer) raw(b ...byte) {
	if w.err == nil {
		_, w.err = w.buf.Write(b)
	}
}

func (w *writer) uint(n uint64) {
	if w.err == nil {
		w.err = w.enc.EncodeUint(n)
	}
}

func (w *writer) str(s string) {
	if w.err == nil {
		w.err = w.enc.EncodeString(s)
	}
}

func (w *writer) pid(p pid.PID) {
	w.str(p.Node)
	w.str(p.Host)
	w.uint(p.Seq)
}

func (w *writer) bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

// errShape is the cause wrapped into ErrBadCommand or ErrBadSnapshot for an
// input that is not shaped as the format says.
var errShape = errors.New("malformed encoding")

// reader decodes an encoding with a sticky error: once a read fails, every
// later read returns a zero value and err keeps the first failure.
type reader struct {
	src []byte
	in  bytes.Reader
	dec *msgpack.Decoder
	err error
}

func newReader(b []byte) *reader {
	r := &reader{src: b}
	r.in.Reset(b)
	// bytes.Reader is an io.ByteScanner, so the decoder reads it directly,
	// without a buffer of its own: r.in.Len() is what is left to decode and
	// moving r.in moves the decoder.
	r.dec = msgpack.NewDecoder(&r.in)
	return r
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{errShape}, args...)...)
	}
}

// remaining is the number of bytes not read yet.
func (r *reader) remaining() int { return r.in.Len() }

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	c, err := r.in.ReadByte()
	if err != nil {
		r.fail("unexpected end")
		return 0
	}
	return c
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	c, err := r.dec.PeekCode()
	if err != nil {
		r.fail("unexpected end")
		return 0
	}
	var least uint64 // smallest value that needs this code
	switch {
	case c <= msgpcode.PosFixedNumHigh:
	case c == msgpcode.Uint8:
		least = math.MaxInt8 + 1
	case c == msgpcode.Uint16:
		least = math.MaxUint8 + 1
	case c == msgpcode.Uint32:
		least = math.MaxUint16 + 1
	case c == msgpcode.Uint64:
		least = math.MaxUint32 + 1
	default:
		r.fail("want an unsigned integer, got code 0x%02x", c)
		return 0
	}
	n, err := r.dec.DecodeUint64()
	if err != nil {
		r.fail("unexpected end")
		return 0
	}
	if n < least {
		r.fail("integer %d not in its shortest form", n)
		return 0
	}
	return n
}

// str reads a string of at most limit bytes, checking the length against
// the input left before allocating anything.
func (r *reader) str(limit int) string {
	b := r.strBytes(limit)
	if b == nil {
		return ""
	}
	return string(b)
}

// strIntern is str for values that repeat (node names, host ids): it
// returns the copy already in seen, if any, and allocates only new values.
func (r *reader) strIntern(limit int, seen map[string]string) string {
	b := r.strBytes(limit)
	if b == nil {
		return ""
	}
	if s, ok := seen[string(b)]; ok {
		return s
	}
	s := string(b)
	seen[s] = s
	return s
}

// strBytes reads a string and returns its bytes within the input; nil for
// an empty string or on error.
func (r *reader) strBytes(limit int) []byte {
	return r.rawBytes("string", msgpcode.IsString, shortestStrCode, limit)
}

// rawBytes reads a value of a kind (a string or a bin: is tells its codes,
// shortest the one header its length allows) of at most limit bytes, and
// returns its bytes within the input, so the caller's copy is the only
// allocation, and of a size already checked; nil when empty or on error.
func (r *reader) rawBytes(kind string, is func(byte) bool, shortest func(int) byte, limit int) []byte {
	if r.err != nil {
		return nil
	}
	c, err := r.dec.PeekCode()
	if err != nil {
		r.fail("unexpected end")
		return nil
	}
	if !is(c) {
		r.fail("want a %s, got code 0x%02x", kind, c)
		return nil
	}
	n, err := r.dec.DecodeBytesLen()
	if err != nil {
		r.fail("unexpected end")
		return nil
	}
	switch {
	case n > limit:
		r.fail("%s of %d bytes, limit %d", kind, n, limit)
		return nil
	case c != shortest(n):
		r.fail("%s header not in its shortest form", kind)
		return nil
	case n > r.remaining():
		r.fail("%s of %d bytes, %d left", kind, n, r.remaining())
		return nil
	case n <= 0:
		return nil
	}
	off := len(r.src) - r.remaining()
	if _, err := r.in.Seek(int64(n), io.SeekCurrent); err != nil {
		r.fail("seek: %v", err)
		return nil
	}
	return r.src[off : off+n : off+n]
}

func (r *reader) pid() pid.PID {
	return pid.PID{
		Node: r.str(registry.MaxNodeLen),
		Host: r.str(registry.MaxHostLen),
		Seq:  r.uint(),
	}
}

// end fails unless the whole input was consumed, and returns the first error.
func (r *reader) end() error {
	if r.err == nil && r.remaining() != 0 {
		r.fail("%d trailing bytes", r.remaining())
	}
	return r.err
}

// shortestStrCode is the header code msgpack.Encoder writes for a string of
// n bytes.
func shortestStrCode(n int) byte {
	switch {
	case n < 32:
		return msgpcode.FixedStrLow | byte(n)
	case n <= math.MaxUint8:
		return msgpcode.Str8
	case n <= math.MaxUint16:
		return msgpcode.Str16
	}
	return msgpcode.Str32
}
