package transport

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"

	"github.com/wippyd/wippyd/internal/msgp"
)

// The handshake, three frames and a proof each way:
//
//	dialer                               acceptor
//	hello   {versions, cluster, names, boot, gen, addr, nonce, streams, max frame} ->
//	        <- welcome {version, cluster, name, boot, gen, next, nonce, streams, max frame}
//	        <- proof   {HMAC(tkey, "acceptor" | hello body | welcome body)}
//	proof   {HMAC(tkey, "dialer" | hello body | welcome body)} ->
//	data... ->                            <- ack...
//
// Either side may send a reject {code, reason} instead and close. Each MAC
// covers both bodies, so both nonces and every field, and the two labels
// keep one side's proof from being replayed as the other's. Without a
// secret key the proofs are empty, and a side with a key refuses an empty
// proof while a side without refuses a non-empty one: a key mismatch fails
// in both directions.
//
// Bodies are msgpack maps with short string keys; unknown keys are skipped,
// so a later version can add fields.

const (
	nonceSize    = 16
	maxNonceSize = 64
	maxNameLen   = 255
)

const (
	labelAcceptor = "wippyd transport acceptor\x00"
	labelDialer   = "wippyd transport dialer\x00"
)

// hello is the dialer's first frame.
type hello struct {
	VMin, VMax uint16
	Cluster    string
	From       string // dialer's name
	To         string // the name the dialer expects to reach; "" = any
	Boot       uint64 // dialer's boot id
	Gen        uint64 // dialer's session generation for this pair
	Addr       string // where the acceptor can dial the dialer back
	Nonce      []byte
	Streams    streamSet
	MaxFrame   uint64 // largest frame body the dialer accepts; 0 = not said
	Duplex     bool   // the dialer can carry both directions on this connection
}

// welcome is the acceptor's answer to an acceptable hello.
type welcome struct {
	Version  uint16
	Cluster  string
	Name     string
	Boot     uint64
	Gen      uint64
	Next     uint64 // first sequence number the acceptor has not received
	Nonce    []byte
	Streams  streamSet
	MaxFrame uint64 // largest frame body the acceptor accepts; 0 = not said
	Duplex   bool   // the acceptor can carry both directions on this connection
}

// rejectCode says why a handshake was refused.
type rejectCode uint8

const (
	rejectProtocol rejectCode = 1 // malformed handshake
	rejectCluster  rejectCode = 2
	rejectVersion  rejectCode = 3
	rejectAuth     rejectCode = 4
	rejectName     rejectCode = 5 // wrong node, or a node connecting to itself
	rejectRetry    rejectCode = 6 // session changed during the handshake; dial again
	rejectMember   rejectCode = 7 // not a member (yet): the name or boot id is not in the member table
)

func (c rejectCode) err() error {
	switch c {
	case rejectCluster:
		return ErrClusterMismatch
	case rejectVersion:
		return ErrVersionMismatch
	case rejectAuth:
		return ErrAuth
	case rejectProtocol:
		return ErrProtocol
	case rejectMember:
		return ErrNotMember
	case rejectRetry:
		// Not a failure: the peer's session moved during the handshake,
		// or its frames already travel on a duplex connection.
		return errRetry
	}
	return ErrHandshake
}

// codeOf picks the reject code for a local refusal.
func codeOf(err error) rejectCode {
	switch {
	case errors.Is(err, ErrClusterMismatch):
		return rejectCluster
	case errors.Is(err, ErrVersionMismatch):
		return rejectVersion
	case errors.Is(err, ErrAuth):
		return rejectAuth
	case errors.Is(err, errWrongName):
		return rejectName
	case errors.Is(err, errRetry):
		return rejectRetry
	case errors.Is(err, ErrNotMember):
		return rejectMember
	}
	return rejectProtocol
}

func (h *hello) encode() []byte {
	w := msgp.Writer{B: make([]byte, 0, 160+len(h.Cluster)+len(h.From)+len(h.To)+len(h.Addr))}
	w.MapHeader(12)
	w.Str("vmin")
	w.Uint(uint64(h.VMin))
	w.Str("vmax")
	w.Uint(uint64(h.VMax))
	w.Str("cluster")
	w.Str(h.Cluster)
	w.Str("from")
	w.Str(h.From)
	w.Str("to")
	w.Str(h.To)
	w.Str("boot")
	w.Uint(h.Boot)
	w.Str("gen")
	w.Uint(h.Gen)
	w.Str("addr")
	w.Str(h.Addr)
	w.Str("nonce")
	w.Bin(h.Nonce)
	w.Str("maxframe")
	w.Uint(h.MaxFrame)
	w.Str("streams")
	w.Bin(h.Streams[:])
	w.Str("duplex")
	w.Bool(h.Duplex)
	return w.B
}

func decodeHello(body []byte) (*hello, error) {
	h := new(hello)
	var seen fieldSet
	err := decodeMap(body, func(k string, r *msgp.Reader) bool {
		switch k {
		case "vmin":
			h.VMin = readUint16(r)
		case "vmax":
			h.VMax = readUint16(r)
		case "cluster":
			h.Cluster = r.Str(maxNameLen)
		case "from":
			h.From = r.Str(maxNameLen)
		case "to":
			h.To = r.Str(maxNameLen)
		case "boot":
			h.Boot = r.Uint()
		case "gen":
			h.Gen = r.Uint()
		case "addr":
			h.Addr = r.Str(maxNameLen)
		case "nonce":
			h.Nonce = readNonce(r)
		case "streams":
			h.Streams = readStreams(r)
		case "maxframe":
			h.MaxFrame = r.Uint()
		case "duplex":
			h.Duplex = r.Bool()
		default:
			return false
		}
		seen.add(k)
		return true
	})
	if err != nil {
		return nil, err
	}
	if err := seen.require("hello", "vmin", "vmax", "cluster", "from", "boot", "gen", "nonce", "streams"); err != nil {
		return nil, err
	}
	if h.From == "" || h.Boot == 0 || h.Gen == 0 {
		return nil, fmt.Errorf("%w: hello without name, boot or generation", ErrProtocol)
	}
	return h, nil
}

func (w *welcome) encode() []byte {
	mw := msgp.Writer{B: make([]byte, 0, 160+len(w.Cluster)+len(w.Name))}
	mw.MapHeader(10)
	mw.Str("v")
	mw.Uint(uint64(w.Version))
	mw.Str("cluster")
	mw.Str(w.Cluster)
	mw.Str("name")
	mw.Str(w.Name)
	mw.Str("boot")
	mw.Uint(w.Boot)
	mw.Str("gen")
	mw.Uint(w.Gen)
	mw.Str("next")
	mw.Uint(w.Next)
	mw.Str("nonce")
	mw.Bin(w.Nonce)
	mw.Str("maxframe")
	mw.Uint(w.MaxFrame)
	mw.Str("streams")
	mw.Bin(w.Streams[:])
	mw.Str("duplex")
	mw.Bool(w.Duplex)
	return mw.B
}

func decodeWelcome(body []byte) (*welcome, error) {
	w := new(welcome)
	var seen fieldSet
	err := decodeMap(body, func(k string, r *msgp.Reader) bool {
		switch k {
		case "v":
			w.Version = readUint16(r)
		case "cluster":
			w.Cluster = r.Str(maxNameLen)
		case "name":
			w.Name = r.Str(maxNameLen)
		case "boot":
			w.Boot = r.Uint()
		case "gen":
			w.Gen = r.Uint()
		case "next":
			w.Next = r.Uint()
		case "nonce":
			w.Nonce = readNonce(r)
		case "streams":
			w.Streams = readStreams(r)
		case "maxframe":
			w.MaxFrame = r.Uint()
		case "duplex":
			w.Duplex = r.Bool()
		default:
			return false
		}
		seen.add(k)
		return true
	})
	if err != nil {
		return nil, err
	}
	if err := seen.require("welcome", "v", "cluster", "name", "boot", "gen", "next", "nonce", "streams"); err != nil {
		return nil, err
	}
	if w.Name == "" || w.Boot == 0 || w.Gen == 0 {
		return nil, fmt.Errorf("%w: welcome without name, boot or generation", ErrProtocol)
	}
	return w, nil
}

func encodeProof(mac []byte) []byte {
	var w msgp.Writer
	w.MapHeader(1)
	w.Str("mac")
	w.Bin(mac)
	return w.B
}

func decodeProof(body []byte) ([]byte, error) {
	var mac []byte
	var seen fieldSet
	err := decodeMap(body, func(k string, r *msgp.Reader) bool {
		if k != "mac" {
			return false
		}
		seen.add(k)
		mac = r.Bytes(math.MaxInt)
		return true
	})
	if err == nil {
		err = seen.require("proof", "mac")
	}
	return mac, err
}

func encodeReject(code rejectCode, reason string) []byte {
	if len(reason) > maxNameLen {
		reason = reason[:maxNameLen]
	}
	var w msgp.Writer
	w.MapHeader(2)
	w.Str("code")
	w.Uint(uint64(code))
	w.Str("reason")
	w.Str(reason)
	return w.B
}

func decodeReject(body []byte) (rejectCode, string, error) {
	var code uint64
	var reason string
	err := decodeMap(body, func(k string, r *msgp.Reader) bool {
		switch k {
		case "code":
			code = r.Uint()
		case "reason":
			reason = r.Str(maxNameLen)
		default:
			return false
		}
		return true
	})
	if code > 255 {
		code = 0
	}
	return rejectCode(code), reason, err
}

// rejectError turns a received reject frame into an error.
func rejectError(body []byte) error {
	code, reason, err := decodeReject(body)
	if err != nil {
		return fmt.Errorf("%w: malformed reject: %w", ErrRejected, err)
	}
	return fmt.Errorf("%w: %w: %s", ErrRejected, code.err(), reason)
}

// decodeMap walks a msgpack map with string keys, handing each value to
// field; values field does not handle (it returns false) are skipped.
func decodeMap(body []byte, field func(k string, r *msgp.Reader) bool) error {
	r := msgp.NewReader(body)
	n := r.MapLen(math.MaxInt)
	for range n {
		k := r.Str(maxNameLen)
		if r.Err() != nil {
			break
		}
		if !field(k, &r) {
			r.Skip()
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("%w: field %q: %w", ErrProtocol, k, err)
		}
	}
	return protocolError(r.End())
}

// fieldSet records which keys a message carried.
type fieldSet map[string]bool

func (s *fieldSet) add(k string) {
	if *s == nil {
		*s = fieldSet{}
	}
	(*s)[k] = true
}

func (s fieldSet) require(msg string, keys ...string) error {
	for _, k := range keys {
		if !s[k] {
			return fmt.Errorf("%w: %s without %q", ErrProtocol, msg, k)
		}
	}
	return nil
}

func readUint16(r *msgp.Reader) uint16 {
	v := r.Uint()
	if v > math.MaxUint16 {
		r.Fail("%d does not fit 16 bits", v)
	}
	return uint16(v)
}

func readNonce(r *msgp.Reader) []byte {
	p := r.Bytes(maxNonceSize)
	if len(p) < nonceSize {
		r.Fail("%d-byte nonce", len(p))
	}
	return p
}

func readStreams(r *msgp.Reader) streamSet {
	var s streamSet
	if p := r.Bytes(len(s)); len(p) == len(s) {
		copy(s[:], p)
	} else {
		r.Fail("stream set of %d bytes", len(p))
	}
	return s
}

// negotiate returns the highest version in both ranges.
func negotiate(aMin, aMax, bMin, bMax uint16) (uint16, error) {
	lo, hi := max(aMin, bMin), min(aMax, bMax)
	if lo > hi || hi == 0 {
		return 0, fmt.Errorf("%w: %d..%d and %d..%d", ErrVersionMismatch, aMin, aMax, bMin, bMax)
	}
	return hi, nil
}

// proofMAC is the HMAC one side sends to prove it holds key (the
// transport key derived from the secret); nil without a key.
func proofMAC(key []byte, label string, helloBody, welcomeBody []byte) []byte {
	if len(key) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	writeBodies(m, helloBody, welcomeBody)
	return m.Sum(nil)
}

// writeBodies writes both handshake bodies to h, each after its length
// (4 bytes, big-endian), as the proofs and the transcript hash them.
func writeBodies(h hash.Hash, helloBody, welcomeBody []byte) {
	var n [4]byte
	for _, b := range [][]byte{helloBody, welcomeBody} {
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
}

// checkProof verifies the peer's proof against this side's key.
func checkProof(key []byte, label string, helloBody, welcomeBody, mac []byte) error {
	switch {
	case len(key) == 0 && len(mac) == 0:
		return nil
	case len(key) == 0:
		return fmt.Errorf("%w: peer has a secret key, this node has none", ErrAuth)
	case len(mac) == 0:
		return fmt.Errorf("%w: peer has no secret key", ErrAuth)
	case !hmac.Equal(mac, proofMAC(key, label, helloBody, welcomeBody)):
		return fmt.Errorf("%w: wrong secret key", ErrAuth)
	}
	return nil
}
