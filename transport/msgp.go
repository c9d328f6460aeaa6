package transport

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A hand-written subset of msgpack: the frame bodies this package produces
// are small and fixed in shape, and decoding them must never trust a declared
// length before checking it against the bytes actually present. The encoders
// always pick the shortest form, as msgpack implementations do.

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
	}
}

func uintSize(v uint64) int {
	switch {
	case v < 0x80:
		return 1
	case v <= math.MaxUint8:
		return 2
	case v <= math.MaxUint16:
		return 3
	case v <= math.MaxUint32:
		return 5
	default:
		return 9
	}
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
}

func binHeaderSize(n int) int {
	switch {
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	default:
		return 5
	}
}

func appendBin(b, p []byte) []byte {
	return append(appendBinHeader(b, len(p)), p...)
}

func appendMapHeader(b []byte, n int) []byte {
	if n < 16 {
		return append(b, 0x80|byte(n))
	}
	return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
}

func appendArrayHeader(b []byte, n int) []byte {
	if n < 16 {
		return append(b, 0x90|byte(n))
	}
	return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
}

// maxSkipDepth bounds the nesting of values skipped as unknown fields.
const maxSkipDepth = 16

// mpReader decodes msgpack from a byte slice. Every length read from the
// input is checked against the remaining bytes before it is used, so a
// hostile body can make a decode fail but never allocate more than its own
// size.
type mpReader struct {
	b   []byte
	off int
}

func (r *mpReader) rest() int { return len(r.b) - r.off }

func (r *mpReader) done() bool { return r.off == len(r.b) }

func (r *mpReader) byte1() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *mpReader) take(n int) ([]byte, error) {
	if n < 0 || n > r.rest() {
		return nil, errTruncated
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *mpReader) beUint(n int) (uint64, error) {
	p, err := r.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// readUint accepts every msgpack integer encoding of a non-negative value.
func (r *mpReader) readUint() (uint64, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c < 0x80:
		return uint64(c), nil
	case c >= 0xcc && c <= 0xcf:
		return r.beUint(1 << (c - 0xcc))
	case c >= 0xd0 && c <= 0xd3:
		v, err := r.beUint(1 << (c - 0xd0))
		if err != nil {
			return 0, err
		}
		bits := uint(8) << (c - 0xd0)
		if v>>(bits-1) != 0 {
			return 0, fmt.Errorf("%w: negative integer", errBadValue)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w: want integer, got 0x%02x", errBadValue, c)
}

func (r *mpReader) readBool() (bool, error) {
	c, err := r.byte1()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	}
	return false, fmt.Errorf("%w: want bool, got 0x%02x", errBadValue, c)
}

func (r *mpReader) strLen() (int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xe0 == 0xa0:
		return int(c & 0x1f), nil
	case c >= 0xd9 && c <= 0xdb:
		v, err := r.beUint(1 << (c - 0xd9))
		return int(v), err
	}
	return 0, fmt.Errorf("%w: want string, got 0x%02x", errBadValue, c)
}

func (r *mpReader) readStr() (string, error) {
	n, err := r.strLen()
	if err != nil {
		return "", err
	}
	p, err := r.take(n)
	return string(p), err
}

// readBin returns a sub-slice of the input, without copying. A msgpack
// nil reads as an empty bin, as general encoders write a nil []byte.
func (r *mpReader) readBin() ([]byte, error) {
	c, err := r.byte1()
	if err != nil {
		return nil, err
	}
	if c == 0xc0 {
		return nil, nil
	}
	if c < 0xc4 || c > 0xc6 {
		return nil, fmt.Errorf("%w: want bin, got 0x%02x", errBadValue, c)
	}
	n, err := r.beUint(1 << (c - 0xc4))
	if err != nil {
		return nil, err
	}
	if n > uint64(r.rest()) {
		return nil, errTruncated
	}
	return r.take(int(n))
}

// containerLen reads a map (entries = 2) or array (entries = 1) header.
func (r *mpReader) containerLen(fix, fix16 byte, entries int) (int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c&0xf0 == fix:
		n = uint64(c & 0x0f)
	case c == fix16 || c == fix16+1:
		if n, err = r.beUint(2 << (c - fix16)); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("%w: unexpected 0x%02x", errBadValue, c)
	}
	// Every entry takes at least one byte per element.
	if n > uint64(r.rest()/entries) {
		return 0, errTruncated
	}
	return int(n), nil
}

func (r *mpReader) readMapLen() (int, error)   { return r.containerLen(0x80, 0xde, 2) }
func (r *mpReader) readArrayLen() (int, error) { return r.containerLen(0x90, 0xdc, 1) }

// skip passes over one value of any type.
func (r *mpReader) skip(depth int) error {
	if depth > maxSkipDepth {
		return fmt.Errorf("%w: nested too deep", errBadValue)
	}
	c, err := r.byte1()
	if err != nil {
		return err
	}
	var n uint64 // bytes of payload to skip
	switch {
	case c < 0x80 || c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return nil
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c&0xf0 == 0x80, c&0xf0 == 0x90, c == 0xdc, c == 0xdd, c == 0xde, c == 0xdf:
		r.off--
		var count int
		if c&0xf0 == 0x80 || c >= 0xde {
			count, err = r.readMapLen()
			count *= 2
		} else {
			count, err = r.readArrayLen()
		}
		if err != nil {
			return err
		}
		for range count {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case c >= 0xc4 && c <= 0xc6: // bin 8/16/32
		n, err = r.beUint(1 << (c - 0xc4))
	case c >= 0xc7 && c <= 0xc9: // ext 8/16/32: length, type, data
		n, err = r.beUint(1 << (c - 0xc7))
		n++
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
		n, err = r.beUint(1 << (c - 0xd9))
	default: // 0xc1 is never used
		return fmt.Errorf("%w: reserved byte 0x%02x", errBadValue, c)
	}
	if err != nil {
		return err
	}
	if n > uint64(r.rest()) {
		return errTruncated
	}
	r.off += int(n)
	return nil
}
