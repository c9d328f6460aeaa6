package msg

import (
	"encoding"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Ext type codes of the payload wire format. They are part of the protocol:
// never renumber them, only add new ones.
const (
	// ExtPID carries a PID; its body is the array [node str, host str, seq uint].
	ExtPID int8 = 1
	// ExtError carries an error object; its body is the array
	// [kind str, message str, retryable nil|bool, details value].
	ExtError int8 = 2
)

var (
	_ msgpack.CustomEncoder   = Value{}
	_ msgpack.CustomDecoder   = (*Value)(nil)
	_ encoding.BinaryAppender = Value{}
)

// Encode writes v to enc. enc must use msgpack's default string and float
// encoding: a dict, interned strings (UseInternedStrings) or compact floats
// (UseCompactFloats) change the wire format. On error, enc may hold a part
// of the value. A value that decoding would refuse for its memory
// (ErrBudget, see DecodeBudget) is refused here, so the sender learns of it.
func Encode(enc *msgpack.Encoder, v Value) error { return encodeTop(enc, v) }

// EncodeMsgpack implements msgpack.CustomEncoder, so a Value may be a field
// of a struct that msgpack encodes.
func (v Value) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeTop(enc, v) }

// AppendBinary appends the msgpack encoding of v to b; it implements
// encoding.BinaryAppender. On error it returns b unchanged in length.
func (v Value) AppendBinary(b []byte) ([]byte, error) {
	e := encoders.Get().(*pooledEncoder)
	e.w.B = b
	err := encodeTop(e.enc, v)
	out := e.w.B
	e.w.B = nil
	encoders.Put(e)
	if err != nil {
		return b, err
	}
	return out, nil
}

// Marshal returns the msgpack encoding of v in a new slice of exactly the
// encoded size.
func Marshal(v Value) ([]byte, error) {
	n, err := encodedSize(v, 0)
	if err != nil {
		return nil, err
	}
	return v.AppendBinary(make([]byte, 0, n))
}

// pooledEncoder is a msgpack.Encoder bound for good to its append target,
// so taking one from the pool costs no Reset.
type pooledEncoder struct {
	enc *msgpack.Encoder
	w   msgp.Writer
}

var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoder(&e.w)
	return e
}}

// encodeTop encodes a whole value: what Decode would refuse is refused.
func encodeTop(e *msgpack.Encoder, v Value) error {
	if err := checkBudget(v); err != nil {
		return err
	}
	return encode(e, v, 0)
}

func encode(e *msgpack.Encoder, v Value, depth int) error {
	switch v.kind {
	case KindNil:
		return e.EncodeNil()
	case KindBool:
		return e.EncodeBool(v.n != 0)
	case KindInt:
		return e.EncodeInt(int64(v.n))
	case KindFloat:
		return e.EncodeFloat64(math.Float64frombits(v.n))
	case KindString:
		return encodeString(e, v.s)
	case KindBytes:
		if err := checkLen(len(v.s), "bytes"); err != nil {
			return err
		}
		if err := e.EncodeBytesLen(len(v.s)); err != nil {
			return err
		}
		_, err := io.WriteString(e.Writer(), v.s)
		return err
	case KindList:
		items := v.x.([]Value)
		if err := enter(depth, len(items), "list"); err != nil {
			return err
		}
		if err := e.EncodeArrayLen(len(items)); err != nil {
			return err
		}
		for _, it := range items {
			if err := encode(e, it, depth+1); err != nil {
				return err
			}
		}
		return nil
	case KindMap:
		pairs := v.x.([]Pair)
		if err := enter(depth, len(pairs), "map"); err != nil {
			return err
		}
		if err := e.EncodeMapLen(len(pairs)); err != nil {
			return err
		}
		for _, p := range pairs {
			// Keys are strings or ints: Map checked them.
			if err := encode(e, p.Key, depth+1); err != nil {
				return err
			}
			if err := encode(e, p.Val, depth+1); err != nil {
				return err
			}
		}
		return nil
	case KindPID:
		return encodePID(e, v.x.(pid.PID))
	case KindError:
		return encodeError(e, v.x.(*ErrorValue), depth)
	}
	return fmt.Errorf("%w: kind %s", ErrType, v.kind)
}

// enter checks a container about to be encoded at the given depth.
func enter(depth, n int, what string) error {
	if depth >= MaxDepth {
		return ErrTooDeep
	}
	return checkLen(n, what)
}

func checkLen(n int, what string) error {
	if uint64(n) > math.MaxUint32 {
		return fmt.Errorf("%w: %s of length %d", ErrTooLarge, what, n)
	}
	return nil
}

func encodeString(e *msgpack.Encoder, s string) error {
	if err := checkLen(len(s), "string"); err != nil {
		return err
	}
	return e.EncodeString(s)
}

func encodePID(e *msgpack.Encoder, p pid.PID) error {
	if err := checkLen(len(p.Node), "pid node"); err != nil {
		return err
	}
	if err := checkLen(len(p.Host), "pid host"); err != nil {
		return err
	}
	body := 1 + strSize(len(p.Node)) + strSize(len(p.Host)) + msgp.UintSize(p.Seq)
	if err := extHeader(e, ExtPID, body); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(3); err != nil {
		return err
	}
	if err := e.EncodeString(p.Node); err != nil {
		return err
	}
	if err := e.EncodeString(p.Host); err != nil {
		return err
	}
	return e.EncodeUint(p.Seq)
}

func encodeError(e *msgpack.Encoder, ev *ErrorValue, depth int) error {
	if depth >= MaxDepth {
		return ErrTooDeep
	}
	if ev.Retryable > True {
		return fmt.Errorf("%w: retryable %d", ErrMalformed, ev.Retryable)
	}
	if err := checkLen(len(ev.Kind), "error kind"); err != nil {
		return err
	}
	if err := checkLen(len(ev.Message), "error message"); err != nil {
		return err
	}
	// The ext header needs the body length first, so the details are sized
	// before they are written; errors are rare enough for the extra walk.
	details, err := encodedSize(ev.Details, depth+1)
	if err != nil {
		return err
	}
	body := 1 + strSize(len(ev.Kind)) + strSize(len(ev.Message)) + 1 + details
	if err := extHeader(e, ExtError, body); err != nil {
		return err
	}
	if err := e.EncodeArrayLen(4); err != nil {
		return err
	}
	if err := e.EncodeString(ev.Kind); err != nil {
		return err
	}
	if err := e.EncodeString(ev.Message); err != nil {
		return err
	}
	switch ev.Retryable {
	case Unknown:
		err = e.EncodeNil()
	default:
		err = e.EncodeBool(ev.Retryable == True)
	}
	if err != nil {
		return err
	}
	return encode(e, ev.Details, depth+1)
}

func extHeader(e *msgpack.Encoder, id int8, body int) error {
	if uint64(body) > math.MaxUint32 {
		return fmt.Errorf("%w: ext %d of %d bytes", ErrTooLarge, id, body)
	}
	return e.EncodeExtHeader(id, body)
}

// encodedSize returns the number of bytes encode writes for v at the given
// depth, or the error encode would return for a value too deep or too
// large. It mirrors the size choices of msgpack's Encoder; the tests and the
// fuzz target check it against real encodings.
func encodedSize(v Value, depth int) (int, error) {
	switch v.kind {
	case KindNil, KindBool:
		return 1, nil
	case KindInt:
		return msgp.IntSize(int64(v.n)), nil
	case KindFloat:
		return 9, nil
	case KindString:
		if err := checkLen(len(v.s), "string"); err != nil {
			return 0, err
		}
		return strSize(len(v.s)), nil
	case KindBytes:
		if err := checkLen(len(v.s), "bytes"); err != nil {
			return 0, err
		}
		return binSize(len(v.s)), nil
	case KindList:
		items := v.x.([]Value)
		if err := enter(depth, len(items), "list"); err != nil {
			return 0, err
		}
		n := containerHeadSize(len(items))
		for _, it := range items {
			s, err := encodedSize(it, depth+1)
			if err != nil {
				return 0, err
			}
			n += s
		}
		return n, nil
	case KindMap:
		pairs := v.x.([]Pair)
		if err := enter(depth, len(pairs), "map"); err != nil {
			return 0, err
		}
		n := containerHeadSize(len(pairs))
		for _, p := range pairs {
			k, err := encodedSize(p.Key, depth+1)
			if err != nil {
				return 0, err
			}
			s, err := encodedSize(p.Val, depth+1)
			if err != nil {
				return 0, err
			}
			n += k + s
		}
		return n, nil
	case KindPID:
		p := v.x.(pid.PID)
		return extSize(1 + strSize(len(p.Node)) + strSize(len(p.Host)) + msgp.UintSize(p.Seq)), nil
	case KindError:
		if depth >= MaxDepth {
			return 0, ErrTooDeep
		}
		ev := v.x.(*ErrorValue)
		d, err := encodedSize(ev.Details, depth+1)
		if err != nil {
			return 0, err
		}
		return extSize(1 + strSize(len(ev.Kind)) + strSize(len(ev.Message)) + 1 + d), nil
	}
	return 0, fmt.Errorf("%w: kind %s", ErrType, v.kind)
}

func strSize(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n <= math.MaxUint8:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func binSize(n int) int {
	switch {
	case n <= math.MaxUint8:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func containerHeadSize(n int) int {
	switch {
	case n < 16:
		return 1
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

func extSize(body int) int {
	switch {
	case body == 1 || body == 2 || body == 4 || body == 8 || body == 16:
		return 2 + body
	case body <= math.MaxUint8:
		return 3 + body
	case body <= math.MaxUint16:
		return 4 + body
	}
	return 6 + body
}
