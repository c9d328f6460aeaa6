package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net"
)

// Sealing (protocol version 2, with a secret key): after the handshake,
// everything a connection carries travels in sealed records, AES-256-GCM
// under a key of its own per connection and direction. See the package
// documentation for the key schedule; in short:
//
//	transport key = HKDF-SHA256(secret, no salt, "wippyd internode v2")
//	transcript    = SHA-256(len | hello body | len | welcome body)
//	direction key = HKDF-SHA256(transport key, transcript, label of the direction)
//
// The transport key also keys the handshake proofs; the secret itself is
// used for nothing but deriving keys (gossip derives its own, with another
// label, in cluster/membership).
//
// A sealed record is an ordinary frame of type frameSealed whose body is
// the AEAD ciphertext of one or more whole frames, with the record's
// 5-byte header as additional data and the record's number in its
// direction (0, 1, 2, ...) as nonce. The number is never sent: a record
// replayed, reordered, dropped, cut or altered fails to open, and the
// connection is closed. A record holds at most sealChunk bytes of frames,
// or a single larger frame.

const (
	// sealedVersion is the first protocol version that seals.
	sealedVersion uint16 = 2
	// sealChunk bounds a record's plaintext, unless one frame is larger.
	// Small against the reader's 64 KiB buffers, so a record cut by a
	// buffer's end copies little; large enough that the per-record cost
	// of AES-GCM does not show. (64 KiB records cost a third more buffer
	// bytes per frame in BenchmarkSend64BSealed.)
	sealChunk = 16 << 10
	// sealOverhead is what sealing adds to a record's plaintext.
	sealOverhead = 16 // the GCM tag
)

const (
	infoTransport = "wippyd internode v2"
	infoDialer    = "wippyd internode v2 dialer to acceptor"
	infoAcceptor  = "wippyd internode v2 acceptor to dialer"
)

// transportKey derives the key the handshake proofs and the connection
// keys come from; nil without a secret.
func transportKey(secret []byte) []byte {
	if len(secret) == 0 {
		return nil
	}
	k, err := hkdf.Key(sha256.New, secret, nil, infoTransport, 32)
	if err != nil {
		panic(err) // only for a key length SHA-256 cannot give
	}
	return k
}

// transcript hashes the two handshake bodies, which hold both nonces, both
// names, boot ids and generations, and the negotiated version.
func transcript(helloBody, welcomeBody []byte) []byte {
	h := sha256.New()
	writeBodies(h, helloBody, welcomeBody)
	return h.Sum(nil)
}

// sealKeys are the two keys of one connection.
type sealKeys struct {
	dialer, acceptor cipher.AEAD // seal what the dialer / acceptor sends
}

func newSealKeys(tkey, helloBody, welcomeBody []byte) (sealKeys, error) {
	salt := transcript(helloBody, welcomeBody)
	var ks sealKeys
	for _, d := range []struct {
		info string
		aead *cipher.AEAD
	}{{infoDialer, &ks.dialer}, {infoAcceptor, &ks.acceptor}} {
		k, err := hkdf.Key(sha256.New, tkey, salt, d.info, 32)
		if err != nil {
			return sealKeys{}, err
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return sealKeys{}, err
		}
		if *d.aead, err = cipher.NewGCM(block); err != nil {
			return sealKeys{}, err
		}
	}
	return ks, nil
}

// sealer seals the records of one direction of one connection. nil: the
// connection is not sealed.
type sealer struct {
	aead cipher.AEAD
	seq  uint64
}

func newSealer(a cipher.AEAD) *sealer {
	if a == nil {
		return nil
	}
	return &sealer{aead: a}
}

func (s *sealer) nonce(n *[12]byte) []byte {
	binary.BigEndian.PutUint64(n[4:], s.seq)
	s.seq++
	return n[:]
}

// appendSealed appends frames (whole frames, back to back) to dst as
// sealed records; without a sealer, as they are.
func (s *sealer) appendSealed(dst, frames []byte) []byte {
	if s == nil {
		return append(dst, frames...)
	}
	for len(frames) > 0 {
		n := recordCut(frames)
		var hdr [headerSize]byte
		appendHeader(hdr[:0], frameSealed, n+sealOverhead)
		dst = append(dst, hdr[:]...)
		var nonce [12]byte
		dst = s.aead.Seal(dst, s.nonce(&nonce), frames[:n], hdr[:])
		frames = frames[n:]
	}
	return dst
}

// recordCut is how many bytes of frames the next record takes: whole
// frames up to sealChunk, or the first frame if it alone is larger.
func recordCut(frames []byte) int {
	if len(frames) <= sealChunk {
		return len(frames)
	}
	off := 0
	for off+headerSize <= len(frames) {
		next := off + headerSize + int(binary.BigEndian.Uint32(frames[off:]))
		if next > sealChunk && off > 0 {
			break
		}
		off = next
		if off >= sealChunk {
			break
		}
	}
	return min(off, len(frames))
}

// opener opens the records of one direction of one connection and hands
// out the frames inside them.
type opener struct {
	aead cipher.AEAD
	seq  uint64
	max  int    // largest inner frame body
	rec  []byte // frames of the current record not handed out yet
}

// sealedMax is the largest record body a receiver with frame limit limit
// accepts.
func sealedMax(limit int) int { return max(sealChunk, limit+headerSize) + sealOverhead }

// open authenticates and decrypts a record body in place; its frames are
// then handed out by next.
func (o *opener) open(body []byte) error {
	var hdr [headerSize]byte
	appendHeader(hdr[:0], frameSealed, len(body))
	var nonce [12]byte
	binary.BigEndian.PutUint64(nonce[4:], o.seq)
	plain, err := o.aead.Open(body[:0], nonce[:], body, hdr[:])
	if err != nil {
		return fmt.Errorf("%w: record %d", ErrSealBroken, o.seq)
	}
	if len(plain) == 0 {
		return fmt.Errorf("%w: empty sealed record", ErrProtocol)
	}
	o.seq++
	o.rec = plain
	return nil
}

// next returns the next frame of the current record; ok is false when the
// record is used up. A frame may not be cut by the record's end, nor be a
// record itself.
func (o *opener) next() (t frameType, body []byte, ok bool, err error) {
	if len(o.rec) == 0 {
		return 0, nil, false, nil
	}
	if len(o.rec) < headerSize {
		return 0, nil, false, fmt.Errorf("%w: %d stray bytes in a sealed record", ErrProtocol, len(o.rec))
	}
	n := binary.BigEndian.Uint32(o.rec)
	t = frameType(o.rec[4])
	switch {
	case uint64(n) > uint64(o.max):
		return 0, nil, false, fmt.Errorf("%w: %d-byte %v frame, limit %d", ErrFrameTooLarge, n, t, o.max)
	case n == 0:
		return 0, nil, false, fmt.Errorf("%w: empty %v frame body", ErrProtocol, t)
	case uint64(len(o.rec)-headerSize) < uint64(n):
		return 0, nil, false, fmt.Errorf("%w: %v frame cut by the end of its sealed record", ErrProtocol, t)
	case t == frameSealed:
		return 0, nil, false, fmt.Errorf("%w: sealed record inside a sealed record", ErrProtocol)
	}
	end := headerSize + int(n)
	body = o.rec[headerSize:end:end]
	o.rec = o.rec[end:]
	return t, body, true, nil
}

// link is an established connection with its framing: where its frames
// are read from, and how frames are written to it (sealed or in clear).
type link struct {
	conn net.Conn
	src  frameSource
	seal *sealer // nil: frames are written as they are
	// dialed: this endpoint dialed conn. duplex: conn carries both
	// endpoints' frames and acks (see "Duplex connections" in the
	// package documentation).
	dialed, duplex bool
}

// bringsData reports whether the peer sends data frames (and pings) on
// l: every connection it dialed, and a duplex one.
func (l *link) bringsData() bool { return !l.dialed || l.duplex }

// accepts reports whether a frame of type t may arrive on an established
// l: data and pings from a peer that sends its frames on it, acks for
// this side's frames sent on it, a reject only in answer to this side's
// handshake. Anything else ends the connection.
func (l *link) accepts(t frameType) bool {
	switch t {
	case frameData, framePing:
		return l.bringsData()
	case frameAck:
		return l.dialed || l.duplex
	case frameReject:
		return l.dialed
	}
	return false
}

// frameSource hands out the frames of an established connection: straight
// from the frame reader, or out of the sealed records it reads.
type frameSource struct {
	fr   *frameReader
	open *opener // nil: not sealed
}

// next returns the next frame already read, or ok == false when more
// input is needed (call fr.fill). On a sealed connection a reject may
// come in clear: it only closes, which anyone on the path can do anyway.
func (s *frameSource) next() (frameType, []byte, bool, error) {
	if s.open == nil {
		return s.fr.next()
	}
	for {
		if t, body, ok, err := s.open.next(); ok || err != nil {
			return t, body, ok, err
		}
		t, body, ok, err := s.fr.next()
		switch {
		case err != nil || !ok || t == frameReject:
			return t, body, ok, err
		case t != frameSealed:
			return 0, nil, false, fmt.Errorf("%w: %v frame in clear on a sealed connection", ErrSealBroken, t)
		}
		if err := s.open.open(body); err != nil {
			return 0, nil, false, err
		}
	}
}
