// Package msgp is the hand-written msgpack of this module's fixed-shape
// wire bodies: the transport's frames and handshake messages, and the Raft
// RPCs and forwarded registry calls of registry/raftreg. Those bodies are
// small sequences of known types, encoded and decoded without reflection
// in well under a microsecond.
//
// Writer appends values to a byte slice, each in its shortest form, as
// msgpack implementations do; it is also an io.Writer (Write, WriteString,
// WriteByte append raw bytes), so a general msgpack encoder can append
// through it.
//
// Reader decodes values in place, with a sticky error: after the first
// failure every read returns a zero value and Err (or End) reports the
// failure, so a decoder reads a whole message and checks once. It accepts
// every msgpack form of the type asked for (any integer width, str or bin
// for bytes, nil for empty bytes). It is safe on hostile input: every
// length is checked against the bytes left and a caller's limit before it
// is used, so a body can make a decode fail but never allocate more than
// its own size, and nothing panics. Every error wraps ErrTruncated or
// ErrMalformed.
//
// Neither type is safe for concurrent use; both are cheap values to make
// per message.
package msgp
