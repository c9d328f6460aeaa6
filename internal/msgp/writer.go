package msgp

import (
	"encoding/binary"
	"io"
	"math"
)

// Writer appends msgpack values to B, each in its shortest form.
type Writer struct{ B []byte }

var (
	_ io.Writer       = (*Writer)(nil)
	_ io.StringWriter = (*Writer)(nil)
	_ io.ByteWriter   = (*Writer)(nil)
)

// Write appends p as it is (io.Writer).
func (w *Writer) Write(p []byte) (int, error) {
	w.B = append(w.B, p...)
	return len(p), nil
}

// WriteString appends s as it is (io.StringWriter).
func (w *Writer) WriteString(s string) (int, error) {
	w.B = append(w.B, s...)
	return len(s), nil
}

// WriteByte appends c as it is (io.ByteWriter).
func (w *Writer) WriteByte(c byte) error {
	w.B = append(w.B, c)
	return nil
}

// Uint appends an unsigned integer.
func (w *Writer) Uint(v uint64) {
	switch {
	case v < 0x80:
		w.B = append(w.B, byte(v))
	case v <= math.MaxUint8:
		w.B = append(w.B, 0xcc, byte(v))
	case v <= math.MaxUint16:
		w.B = binary.BigEndian.AppendUint16(append(w.B, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		w.B = binary.BigEndian.AppendUint32(append(w.B, 0xce), uint32(v))
	default:
		w.B = binary.BigEndian.AppendUint64(append(w.B, 0xcf), v)
	}
}

// UintSize is the size of v as Uint writes it.
func UintSize(v uint64) int {
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

// Int appends a signed integer: a non-negative one as Uint does.
func (w *Writer) Int(v int64) {
	switch {
	case v >= 0:
		w.Uint(uint64(v))
	case v >= -32:
		w.B = append(w.B, byte(v))
	case v >= math.MinInt8:
		w.B = append(w.B, 0xd0, byte(v))
	case v >= math.MinInt16:
		w.B = binary.BigEndian.AppendUint16(append(w.B, 0xd1), uint16(v))
	case v >= math.MinInt32:
		w.B = binary.BigEndian.AppendUint32(append(w.B, 0xd2), uint32(v))
	default:
		w.B = binary.BigEndian.AppendUint64(append(w.B, 0xd3), uint64(v))
	}
}

// IntSize is the size of v as Int writes it.
func IntSize(v int64) int {
	switch {
	case v >= 0:
		return UintSize(uint64(v))
	case v >= -32:
		return 1
	case v >= math.MinInt8:
		return 2
	case v >= math.MinInt16:
		return 3
	case v >= math.MinInt32:
		return 5
	}
	return 9
}

// Nil appends nil.
func (w *Writer) Nil() { w.B = append(w.B, 0xc0) }

// Bool appends true or false.
func (w *Writer) Bool(v bool) {
	if v {
		w.B = append(w.B, 0xc3)
	} else {
		w.B = append(w.B, 0xc2)
	}
}

// Str appends a string.
func (w *Writer) Str(s string) {
	n := len(s)
	switch {
	case n < 32:
		w.B = append(w.B, 0xa0|byte(n))
	case n <= math.MaxUint8:
		w.B = append(w.B, 0xd9, byte(n))
	case n <= math.MaxUint16:
		w.B = binary.BigEndian.AppendUint16(append(w.B, 0xda), uint16(n))
	default:
		w.B = binary.BigEndian.AppendUint32(append(w.B, 0xdb), uint32(n))
	}
	w.B = append(w.B, s...)
}

// Bin appends a byte string (bin; an empty p is an empty bin, not nil).
func (w *Writer) Bin(p []byte) {
	w.BinHeader(len(p))
	w.B = append(w.B, p...)
}

// BinHeader appends the header of a bin of n bytes, which the caller
// appends next.
func (w *Writer) BinHeader(n int) {
	switch {
	case n <= math.MaxUint8:
		w.B = append(w.B, 0xc4, byte(n))
	case n <= math.MaxUint16:
		w.B = binary.BigEndian.AppendUint16(append(w.B, 0xc5), uint16(n))
	default:
		w.B = binary.BigEndian.AppendUint32(append(w.B, 0xc6), uint32(n))
	}
}

// BinHeaderSize is the size of BinHeader(n).
func BinHeaderSize(n int) int {
	switch {
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	default:
		return 5
	}
}

// ArrayHeader appends the header of an array of n values.
func (w *Writer) ArrayHeader(n int) { w.header(n, 0x90, 0xdc) }

// MapHeader appends the header of a map of n key-value pairs.
func (w *Writer) MapHeader(n int) { w.header(n, 0x80, 0xde) }

func (w *Writer) header(n int, fix, code16 byte) {
	switch {
	case n < 16:
		w.B = append(w.B, fix|byte(n))
	case n <= math.MaxUint16:
		w.B = binary.BigEndian.AppendUint16(append(w.B, code16), uint16(n))
	default:
		w.B = binary.BigEndian.AppendUint32(append(w.B, code16+1), uint32(n))
	}
}
