package eventual

import (
	"fmt"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// The names stream (transport.StreamNames) carries three messages, each a
// kind byte followed by msgpack values in a fixed order:
//
//	delta   1: origin str, inc uint, ver uint, ops array of
//	           [remove bool, name str, (add only:) host str, seq uint, stamp uint]
//	digest  2: reply bool, entries array of [origin str, inc uint, ver uint]
//	state   3: origin str, inc uint, ver uint, page uint, pages uint,
//	           bindings array of [name str, host str, seq uint, stamp uint]
//
// A binding's PID has no node on the wire: it is the origin's, which is
// what makes an origin the only node that can give its processes names.
// Kinds are never renumbered.
const (
	kindDelta  byte = 1
	kindDigest byte = 2
	kindState  byte = 3
)

// maxPages bounds the pages of one state; maxDigest the origins of a
// digest (nodes of a cluster).
const (
	maxPages  = 1 << 16
	maxDigest = 1 << 16
)

// message is one decoded message: a delta, a digest or a page of a state.
type message struct {
	kind   byte
	delta  Delta
	reply  bool
	digest []DigestEntry
	page   page
}

// page is one piece of an origin's state.
type page struct {
	state State // Bindings: this page's
	index int
	count int
}

func putVersion(w *msgp.Writer, origin string, v Version) {
	w.Str(origin)
	w.Uint(v.Inc)
	w.Uint(v.Ver)
}

func putBinding(w *msgp.Writer, b Binding) {
	w.Str(b.Name)
	w.Str(b.PID.Host)
	w.Uint(b.PID.Seq)
	w.Uint(b.Stamp)
}

// encodeDelta returns the wire form of d.
func encodeDelta(d *Delta) []byte {
	w := msgp.Writer{B: make([]byte, 0, 32+48*len(d.Ops))}
	w.WriteByte(kindDelta)
	putVersion(&w, d.Origin, d.Version)
	w.ArrayHeader(len(d.Ops))
	for _, op := range d.Ops {
		w.Bool(op.Remove)
		if op.Remove {
			w.Str(op.Binding.Name)
			continue
		}
		putBinding(&w, op.Binding)
	}
	return w.B
}

// encodeDigest returns the wire form of a digest.
func encodeDigest(d []DigestEntry, reply bool) []byte {
	w := msgp.Writer{B: make([]byte, 0, 8+24*len(d))}
	w.WriteByte(kindDigest)
	w.Bool(reply)
	w.ArrayHeader(len(d))
	for _, e := range d {
		putVersion(&w, e.Origin, e.Version)
	}
	return w.B
}

// encodeState returns s in pages of about pageBytes each (at least one
// page, even for an empty state).
func encodeState(s State, pageBytes int) [][]byte {
	var chunks [][]Binding
	start, size := 0, 0
	for i, b := range s.Bindings {
		size += len(b.Name) + len(b.PID.Host) + 32
		if size >= pageBytes {
			chunks = append(chunks, s.Bindings[start:i+1])
			start, size = i+1, 0
		}
	}
	if start < len(s.Bindings) || len(chunks) == 0 {
		chunks = append(chunks, s.Bindings[start:])
	}
	out := make([][]byte, len(chunks))
	for i, c := range chunks {
		w := msgp.Writer{B: make([]byte, 0, 48+size)}
		w.WriteByte(kindState)
		putVersion(&w, s.Origin, s.Version)
		w.Uint(uint64(i))
		w.Uint(uint64(len(chunks)))
		w.ArrayHeader(len(c))
		for _, b := range c {
			putBinding(&w, b)
		}
		out[i] = w.B
	}
	return out
}

// decode parses one message; maxNames bounds the bindings of a delta or
// page. It is safe on hostile input: no panic, every length checked
// against the bytes left before allocating, every name and PID checked as
// the registry checks them. Errors wrap ErrBadMessage.
func decode(b []byte, maxNames int) (message, error) {
	r := msgp.NewReader(b)
	m := message{kind: r.Byte()}
	switch m.kind {
	case kindDelta:
		m.delta.Origin, m.delta.Version = getVersion(&r)
		n := r.ArrayLen(maxNames, 2)
		m.delta.Ops = make([]Op, 0, n)
		for range n {
			var op Op
			op.Remove = r.Bool()
			if op.Remove {
				op.Binding.Name = r.Str(registry.MaxNameLen)
				if r.Err() == nil && registry.ValidateName(op.Binding.Name) != nil {
					r.Fail("bad name %q", op.Binding.Name)
				}
			} else {
				op.Binding = getBinding(&r, m.delta.Origin)
			}
			if r.Err() != nil {
				break
			}
			m.delta.Ops = append(m.delta.Ops, op)
		}
		if m.delta.Version.Ver == 0 {
			r.Fail("delta at version 0")
		}
	case kindDigest:
		m.reply = r.Bool()
		n := r.ArrayLen(maxDigest, 3)
		m.digest = make([]DigestEntry, 0, n)
		for range n {
			o, v := getVersion(&r)
			if r.Err() != nil {
				break
			}
			m.digest = append(m.digest, DigestEntry{Origin: o, Version: v})
		}
	case kindState:
		s := &m.page.state
		s.Origin, s.Version = getVersion(&r)
		m.page.index, m.page.count = int(min(r.Uint(), maxPages)), int(min(r.Uint(), maxPages))
		if m.page.index >= m.page.count {
			r.Fail("page %d of %d", m.page.index, m.page.count)
		}
		n := r.ArrayLen(maxNames, 4)
		s.Bindings = make([]Binding, 0, n)
		for range n {
			bd := getBinding(&r, s.Origin)
			if r.Err() != nil {
				break
			}
			s.Bindings = append(s.Bindings, bd)
		}
	default:
		return message{}, fmt.Errorf("%w: unknown kind %d", ErrBadMessage, m.kind)
	}
	if err := r.End(); err != nil {
		return message{}, fmt.Errorf("%w: kind %d: %w", ErrBadMessage, m.kind, err)
	}
	return m, nil
}

func getVersion(r *msgp.Reader) (string, Version) {
	origin := r.Str(registry.MaxNodeLen)
	v := Version{Inc: r.Uint(), Ver: r.Uint()}
	if r.Err() == nil && registry.ValidateNode(origin) != nil {
		r.Fail("bad origin %q", origin)
	}
	return origin, v
}

func getBinding(r *msgp.Reader, origin string) Binding {
	b := Binding{Name: r.Str(registry.MaxNameLen)}
	b.PID = pid.PID{Node: origin, Host: r.Str(registry.MaxHostLen), Seq: r.Uint()}
	b.Stamp = r.Uint()
	if r.Err() == nil && (registry.ValidateName(b.Name) != nil || registry.ValidatePID(b.PID) != nil) {
		r.Fail("bad binding %q -> %v", b.Name, b.PID)
	}
	return b
}
