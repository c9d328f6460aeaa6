package transport

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// The handshake, three frames and a proof each way:
//
//	dialer                               acceptor
//	hello   {versions, cluster, names, boot, gen, addr, nonce, streams, max frame} ->
//	        <- welcome {version, cluster, name, boot, gen, next, nonce, streams, max frame}
//	        <- proof   {HMAC(key, "acceptor" | hello body | welcome body)}
//	proof   {HMAC(key, "dialer" | hello body | welcome body)} ->
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
	b := appendMapHeader(make([]byte, 0, 160+len(h.Cluster)+len(h.From)+len(h.To)+len(h.Addr)), 11)
	b = appendUint(appendStr(b, "vmin"), uint64(h.VMin))
	b = appendUint(appendStr(b, "vmax"), uint64(h.VMax))
	b = appendStr(appendStr(b, "cluster"), h.Cluster)
	b = appendStr(appendStr(b, "from"), h.From)
	b = appendStr(appendStr(b, "to"), h.To)
	b = appendUint(appendStr(b, "boot"), h.Boot)
	b = appendUint(appendStr(b, "gen"), h.Gen)
	b = appendStr(appendStr(b, "addr"), h.Addr)
	b = appendBin(appendStr(b, "nonce"), h.Nonce)
	b = appendUint(appendStr(b, "maxframe"), h.MaxFrame)
	return appendStreamSet(appendStr(b, "streams"), &h.Streams)
}

func decodeHello(body []byte) (*hello, error) {
	h := new(hello)
	var seen fieldSet
	err := decodeMap(body, func(k string, r *mpReader) (bool, error) {
		var err error
		switch k {
		case "vmin":
			h.VMin, err = readUint16(r)
		case "vmax":
			h.VMax, err = readUint16(r)
		case "cluster":
			h.Cluster, err = readName(r)
		case "from":
			h.From, err = readName(r)
		case "to":
			h.To, err = readName(r)
		case "boot":
			h.Boot, err = r.readUint()
		case "gen":
			h.Gen, err = r.readUint()
		case "addr":
			h.Addr, err = readName(r)
		case "nonce":
			h.Nonce, err = readNonce(r)
		case "streams":
			h.Streams, err = readStreams(r)
		case "maxframe":
			h.MaxFrame, err = r.readUint()
		default:
			return false, nil
		}
		seen.add(k)
		return true, err
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
	b := appendMapHeader(make([]byte, 0, 160+len(w.Cluster)+len(w.Name)), 9)
	b = appendUint(appendStr(b, "v"), uint64(w.Version))
	b = appendStr(appendStr(b, "cluster"), w.Cluster)
	b = appendStr(appendStr(b, "name"), w.Name)
	b = appendUint(appendStr(b, "boot"), w.Boot)
	b = appendUint(appendStr(b, "gen"), w.Gen)
	b = appendUint(appendStr(b, "next"), w.Next)
	b = appendBin(appendStr(b, "nonce"), w.Nonce)
	b = appendUint(appendStr(b, "maxframe"), w.MaxFrame)
	return appendStreamSet(appendStr(b, "streams"), &w.Streams)
}

func decodeWelcome(body []byte) (*welcome, error) {
	w := new(welcome)
	var seen fieldSet
	err := decodeMap(body, func(k string, r *mpReader) (bool, error) {
		var err error
		switch k {
		case "v":
			w.Version, err = readUint16(r)
		case "cluster":
			w.Cluster, err = readName(r)
		case "name":
			w.Name, err = readName(r)
		case "boot":
			w.Boot, err = r.readUint()
		case "gen":
			w.Gen, err = r.readUint()
		case "next":
			w.Next, err = r.readUint()
		case "nonce":
			w.Nonce, err = readNonce(r)
		case "streams":
			w.Streams, err = readStreams(r)
		case "maxframe":
			w.MaxFrame, err = r.readUint()
		default:
			return false, nil
		}
		seen.add(k)
		return true, err
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
	return appendBin(appendStr(appendMapHeader(nil, 1), "mac"), mac)
}

func decodeProof(body []byte) ([]byte, error) {
	var mac []byte
	var seen fieldSet
	err := decodeMap(body, func(k string, r *mpReader) (bool, error) {
		if k != "mac" {
			return false, nil
		}
		seen.add(k)
		var err error
		mac, err = r.readBin()
		return true, err
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
	b := appendMapHeader(nil, 2)
	b = appendUint(appendStr(b, "code"), uint64(code))
	return appendStr(appendStr(b, "reason"), reason)
}

func decodeReject(body []byte) (rejectCode, string, error) {
	var code uint64
	var reason string
	err := decodeMap(body, func(k string, r *mpReader) (bool, error) {
		var err error
		switch k {
		case "code":
			code, err = r.readUint()
		case "reason":
			reason, err = readName(r)
		default:
			return false, nil
		}
		return true, err
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
// field; values field does not handle are skipped.
func decodeMap(body []byte, field func(k string, r *mpReader) (bool, error)) error {
	r := mpReader{b: body}
	n, err := r.readMapLen()
	if err != nil {
		return err
	}
	for range n {
		k, err := readName(&r)
		if err != nil {
			return err
		}
		ok, err := field(k, &r)
		if err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
		if !ok {
			if err := r.skip(0); err != nil {
				return err
			}
		}
	}
	if !r.done() {
		return fmt.Errorf("%w: trailing bytes after map", ErrProtocol)
	}
	return nil
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

func readUint16(r *mpReader) (uint16, error) {
	v, err := r.readUint()
	if err == nil && v > 0xffff {
		err = fmt.Errorf("%w: %d does not fit 16 bits", ErrProtocol, v)
	}
	return uint16(v), err
}

// readName reads a string of at most maxNameLen bytes.
func readName(r *mpReader) (string, error) {
	n, err := r.strLen()
	if err != nil {
		return "", err
	}
	if n > maxNameLen {
		return "", fmt.Errorf("%w: %d-byte string", ErrProtocol, n)
	}
	p, err := r.take(n)
	return string(p), err
}

func readNonce(r *mpReader) ([]byte, error) {
	p, err := r.readBin()
	if err == nil && (len(p) < nonceSize || len(p) > maxNonceSize) {
		err = fmt.Errorf("%w: %d-byte nonce", ErrProtocol, len(p))
	}
	return p, err
}

func readStreams(r *mpReader) (streamSet, error) {
	p, err := r.readBin()
	if err != nil {
		return streamSet{}, err
	}
	return parseStreamSet(p)
}

// negotiate returns the highest version in both ranges.
func negotiate(aMin, aMax, bMin, bMax uint16) (uint16, error) {
	lo, hi := max(aMin, bMin), min(aMax, bMax)
	if lo > hi || hi == 0 {
		return 0, fmt.Errorf("%w: %d..%d and %d..%d", ErrVersionMismatch, aMin, aMax, bMin, bMax)
	}
	return hi, nil
}

// proofMAC is the HMAC one side sends to prove it holds key; nil without a
// key.
func proofMAC(key []byte, label string, helloBody, welcomeBody []byte) []byte {
	if len(key) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(helloBody)))
	m.Write(n[:])
	m.Write(helloBody)
	binary.BigEndian.PutUint32(n[:], uint32(len(welcomeBody)))
	m.Write(n[:])
	m.Write(welcomeBody)
	return m.Sum(nil)
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
