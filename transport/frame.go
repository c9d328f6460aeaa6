package transport

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/wippyd/wippyd/internal/msgp"
)

// frameType is the byte after the length. Values are part of the wire
// protocol: never renumber them, only add.
type frameType uint8

const (
	frameHello   frameType = 1 // dialer -> acceptor: who I am, nonce
	frameWelcome frameType = 2 // acceptor -> dialer: who I am, nonce, resume point
	frameProof   frameType = 3 // both ways: HMAC over the hello and welcome bodies
	frameReject  frameType = 4 // either way, then close: why the handshake failed
	frameData    frameType = 5 // dialer -> acceptor: [seq, stream, body]
	frameAck     frameType = 6 // acceptor -> dialer: [next expected seq]
	framePing    frameType = 7 // dialer -> acceptor when idle: []
	frameSealed  frameType = 8 // both ways after a sealed handshake: AEAD of whole frames
)

func (t frameType) String() string {
	switch t {
	case frameHello:
		return "hello"
	case frameWelcome:
		return "welcome"
	case frameProof:
		return "proof"
	case frameReject:
		return "reject"
	case frameData:
		return "data"
	case frameAck:
		return "ack"
	case framePing:
		return "ping"
	case frameSealed:
		return "sealed"
	}
	return fmt.Sprintf("frame(%d)", uint8(t))
}

const (
	// headerSize is the 4-byte big-endian body length plus the type byte.
	headerSize = 5
	// maxHandshakeFrame caps frames before the peer is authenticated, so an
	// unauthenticated connection can make the endpoint allocate little.
	maxHandshakeFrame = 64 << 10
	// readChunk is the size of the buffers the frame reader reads into.
	readChunk = 64 << 10
)

// appendHeader appends a frame header for a body of n bytes.
func appendHeader(b []byte, t frameType, n int) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(n)), byte(t))
}

// appendFrame appends a whole frame whose body is already encoded.
func appendFrame(b []byte, t frameType, body []byte) []byte {
	return append(appendHeader(b, t, len(body)), body...)
}

// dataBodySize is the size of a data frame body carrying payload.
func dataBodySize(seq uint64, stream StreamType, payload int) int {
	return 1 + msgp.UintSize(seq) + msgp.UintSize(uint64(stream)) + msgp.BinHeaderSize(payload) + payload
}

// appendData appends a data frame: msgpack [seq, stream, bin payload].
func appendData(b []byte, seq uint64, stream StreamType, payload []byte) []byte {
	w := msgp.Writer{B: appendHeader(b, frameData, dataBodySize(seq, stream, len(payload)))}
	w.ArrayHeader(3)
	w.Uint(seq)
	w.Uint(uint64(stream))
	w.Bin(payload)
	return w.B
}

// decodeData splits a data frame body. payload aliases body.
func decodeData(body []byte) (seq uint64, stream StreamType, payload []byte, err error) {
	if seq, stream, payload, ok := splitData(body); ok {
		return seq, stream, payload, nil
	}
	return decodeDataAny(body)
}

// splitData reads a data frame body as appendData writes it (any
// sequence number, a stream type below 128, a bin payload that ends the
// body) without the general reader's bookkeeping; ok is false for
// anything else, which decodeDataAny then reads or rejects.
func splitData(b []byte) (seq uint64, stream StreamType, payload []byte, ok bool) {
	if len(b) < 4 || b[0] != 0x93 {
		return 0, 0, nil, false
	}
	i := 2
	switch c := b[1]; {
	case c <= 0x7f:
		seq = uint64(c)
	case c >= 0xcc && c <= 0xcf: // uint 8, 16, 32, 64
		n := 1 << (c - 0xcc)
		if len(b) < 2+n+2 {
			return 0, 0, nil, false
		}
		for _, x := range b[2 : 2+n] {
			seq = seq<<8 | uint64(x)
		}
		i += n
	default:
		return 0, 0, nil, false
	}
	if b[i] == 0 || b[i] > 0x7f {
		return 0, 0, nil, false
	}
	stream = StreamType(b[i])
	i++
	var n, hdr int
	switch c := b[i]; {
	case c == 0xc4 && len(b) >= i+2:
		n, hdr = int(b[i+1]), 2
	case c == 0xc5 && len(b) >= i+3:
		n, hdr = int(binary.BigEndian.Uint16(b[i+1:])), 3
	case c == 0xc6 && len(b) >= i+5:
		n, hdr = int(binary.BigEndian.Uint32(b[i+1:])), 5
	default:
		return 0, 0, nil, false
	}
	if n != len(b)-i-hdr {
		return 0, 0, nil, false
	}
	return seq, stream, b[i+hdr : len(b) : len(b)], true
}

// decodeDataAny is decodeData for any encoding msgpack allows.
func decodeDataAny(body []byte) (seq uint64, stream StreamType, payload []byte, err error) {
	r := msgp.NewReader(body)
	if n := r.ArrayLen(math.MaxInt, 1); n != 3 && r.Err() == nil {
		r.Fail("data frame has %d fields", n)
	}
	seq = r.Uint()
	if st := r.Uint(); st > 255 || st == 0 && r.Err() == nil {
		r.Fail("stream type %d", st)
	} else {
		stream = StreamType(st)
	}
	payload = r.Bytes(math.MaxInt)
	if err := protocolError(r.End()); err != nil {
		return 0, 0, nil, err
	}
	return seq, stream, payload, nil
}

// protocolError makes a decoding failure an ErrProtocol.
func protocolError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}

// appendAck appends an ack frame: msgpack [next], next being the first
// sequence number not yet received.
func appendAck(b []byte, next uint64) []byte {
	w := msgp.Writer{B: appendHeader(b, frameAck, 1+msgp.UintSize(next))}
	w.ArrayHeader(1)
	w.Uint(next)
	return w.B
}

func decodeAck(body []byte) (uint64, error) {
	r := msgp.NewReader(body)
	if n := r.ArrayLen(math.MaxInt, 1); n != 1 && r.Err() == nil {
		r.Fail("ack frame has %d fields", n)
	}
	next := r.Uint()
	return next, protocolError(r.End())
}

// pingFrame is the whole keep-alive frame: an empty msgpack array.
var pingFrame = []byte{0, 0, 0, 1, byte(framePing), 0x90}

// checkPing accepts any single msgpack value, so a later version may put
// something in a ping without breaking this one.
func checkPing(body []byte) error {
	r := msgp.NewReader(body)
	r.Skip()
	return protocolError(r.End())
}

// frameReader cuts frames out of a byte stream. It reads into chunks of
// readChunk bytes (or one frame, if larger) and never writes into a chunk
// again once a frame has been returned from it, so returned bodies stay
// valid after the next read and can be handed to another goroutine.
//
// The one exception is a chunk whose every body the owner has given back
// (release) and kept none of: once the reader has moved on from it, it is
// read into again instead of a new one, so a connection whose frames are
// all handled before the next read allocates nothing per chunk.
//
// A frame's length is checked against max before any buffer is sized for
// it: a hostile header costs nothing.
type frameReader struct {
	r     io.Reader
	max   int    // largest accepted body
	buf   []byte // current chunk
	start int    // first byte not yet returned
	end   int    // end of the bytes read into buf
	count uint64 // bytes read since the last takeCount
	// out: frames were returned from buf since the last release. kept:
	// a body returned from buf may still be referenced. spare: a chunk
	// left with neither, read into at the next change of chunk.
	out, kept bool
	spare     []byte
}

// release tells the reader that the caller is done with the bodies
// returned since the last call; kept says whether it keeps (or handed on)
// any of them. A chunk is read into again only if all its bodies were
// released and none kept.
func (fr *frameReader) release(kept bool) {
	fr.kept = fr.kept || kept
	fr.out = false
}

// takeCount returns the bytes read since the last call.
func (fr *frameReader) takeCount() uint64 {
	n := fr.count
	fr.count = 0
	return n
}

// next returns the next complete frame already read, or ok == false when
// more input is needed (call fill).
func (fr *frameReader) next() (t frameType, body []byte, ok bool, err error) {
	avail := fr.end - fr.start
	if avail < headerSize {
		return 0, nil, false, nil
	}
	h := fr.buf[fr.start:fr.end]
	n, err := fr.bodyLen(h)
	if err != nil {
		return 0, nil, false, err
	}
	if avail < headerSize+n {
		return 0, nil, false, nil
	}
	fr.out = true
	fr.start += headerSize + n
	return frameType(h[4]), h[headerSize : headerSize+n : headerSize+n], true, nil
}

func (fr *frameReader) bodyLen(h []byte) (int, error) {
	n := binary.BigEndian.Uint32(h)
	if uint64(n) > uint64(fr.max) {
		return 0, fmt.Errorf("%w: %d-byte %v frame, limit %d", ErrFrameTooLarge, n, frameType(h[4]), fr.max)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: empty %v frame body", ErrProtocol, frameType(h[4]))
	}
	return int(n), nil
}

// fill reads at least one more byte from the stream, or returns the read
// error. It returns the number of bytes read.
func (fr *frameReader) fill() (int, error) {
	need := headerSize
	if fr.end-fr.start >= headerSize {
		n, err := fr.bodyLen(fr.buf[fr.start:fr.end])
		if err != nil {
			return 0, err
		}
		need += n
	}
	if fr.start+need > len(fr.buf) {
		var nb []byte
		if need <= len(fr.spare) {
			nb, fr.spare = fr.spare, nil
		} else {
			nb = make([]byte, max(readChunk, need))
		}
		fr.end = copy(nb, fr.buf[fr.start:fr.end])
		if !fr.out && !fr.kept && len(fr.buf) == readChunk {
			fr.spare = fr.buf
		}
		fr.start, fr.out, fr.kept = 0, false, false
		fr.buf = nb
	}
	n, err := fr.r.Read(fr.buf[fr.end:])
	fr.end += n
	fr.count += uint64(n)
	if n > 0 {
		return n, nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return 0, err
}

// read returns the next frame, reading as needed.
func (fr *frameReader) read() (frameType, []byte, error) {
	for {
		t, body, ok, err := fr.next()
		if err != nil || ok {
			return t, body, err
		}
		if _, err := fr.fill(); err != nil {
			return 0, nil, err
		}
	}
}
