package groups

import (
	"errors"
	"fmt"
	"math"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/runtime/pid"
)

// FrameType is the first byte of every frame of the groups stream. The
// values are part of the protocol: never renumber them, only append.
type FrameType uint8

// Frame types.
const (
	// FrameDelta: one local operation of the sender, [boot, seq, batch].
	FrameDelta FrameType = 1
	// FrameState: one part of the sender's full state,
	// [boot, seq, part, last, batch]; a State is every part from 0 to
	// the one with last set, sent in order.
	FrameState FrameType = 2
	// FrameDigest: the sender's life and last seq, [boot, seq].
	FrameDigest FrameType = 3
	// FrameStateRequest: "send me your full state", [].
	FrameStateRequest FrameType = 4
)

func (t FrameType) String() string {
	switch t {
	case FrameDelta:
		return "delta"
	case FrameState:
		return "state"
	case FrameDigest:
		return "digest"
	case FrameStateRequest:
		return "state_request"
	}
	return fmt.Sprintf("frame(%d)", uint8(t))
}

// ErrMalformed wraps every decoding failure.
var ErrMalformed = errors.New("groups: malformed frame")

// Frame is a decoded frame. Ops' PIDs are the sender's processes: the
// wire carries only their host and sequence.
type Frame struct {
	Type FrameType
	Boot uint64
	Seq  uint64
	Part uint64 // FrameState
	Last bool   // FrameState
	Ops  []Op   // FrameDelta, FrameState
}

// Bounds of what a decoder accepts, beyond the frame's own size.
const (
	maxHost  = 1024    // bytes of a host id
	maxCount = 1 << 30 // |N| of one op
)

// A batch of ops on the wire groups consecutive ops of one scope and one
// group, and names hosts by their index in a table:
//
//	[hosts, [[scope, [[group, [[host index, seq, n], ...]], ...]], ...]]
//
// Op order is kept: a delta's ops apply in the order they were made.
func appendBatch(w *msgp.Writer, ops []Op) {
	hosts, index := []string{}, map[string]int{}
	for _, op := range ops {
		if _, ok := index[op.PID.Host]; !ok {
			index[op.PID.Host] = len(hosts)
			hosts = append(hosts, op.PID.Host)
		}
	}
	w.ArrayHeader(2)
	w.ArrayHeader(len(hosts))
	for _, h := range hosts {
		w.Str(h)
	}
	scopes := runs(ops, func(a, b Op) bool { return a.Scope == b.Scope })
	w.ArrayHeader(len(scopes))
	for _, s := range scopes {
		w.ArrayHeader(2)
		w.Str(s[0].Scope)
		groups := runs(s, func(a, b Op) bool { return a.Group == b.Group })
		w.ArrayHeader(len(groups))
		for _, g := range groups {
			w.ArrayHeader(2)
			w.Str(g[0].Group)
			w.ArrayHeader(len(g))
			for _, op := range g {
				w.ArrayHeader(3)
				w.Uint(uint64(index[op.PID.Host]))
				w.Uint(op.PID.Seq)
				w.Int(int64(op.N))
			}
		}
	}
}

// runs splits ops into maximal runs of neighbours that same says belong
// together.
func runs(ops []Op, same func(a, b Op) bool) [][]Op {
	var out [][]Op
	start := 0
	for i := 1; i <= len(ops); i++ {
		if i == len(ops) || !same(ops[start], ops[i]) {
			if i > start {
				out = append(out, ops[start:i])
			}
			start = i
		}
	}
	return out
}

func readBatch(r *msgp.Reader, from string) []Op {
	if r.ArrayLen(2, 1) != 2 {
		r.Fail("batch: want 2 fields")
		return nil
	}
	hosts := make([]string, r.ArrayLen(math.MaxInt32, 1))
	for i := range hosts {
		hosts[i] = r.Str(maxHost)
	}
	var ops []Op
	for range r.ArrayLen(math.MaxInt32, 3) {
		if r.ArrayLen(2, 1) != 2 {
			r.Fail("scope: want 2 fields")
			return nil
		}
		scope := r.Str(MaxName)
		for range r.ArrayLen(math.MaxInt32, 3) {
			if r.ArrayLen(2, 1) != 2 {
				r.Fail("group: want 2 fields")
				return nil
			}
			group := r.Str(MaxName)
			for range r.ArrayLen(math.MaxInt32, 4) {
				op, ok := readOp(r, hosts, from)
				if !ok {
					return nil
				}
				op.Key = Key{scope, group}
				ops = append(ops, op)
			}
		}
	}
	if r.Err() != nil {
		return nil
	}
	return ops
}

func readOp(r *msgp.Reader, hosts []string, from string) (Op, bool) {
	if r.ArrayLen(3, 1) != 3 {
		r.Fail("member: want 3 fields")
		return Op{}, false
	}
	hi, seq, n := r.Uint(), r.Uint(), r.Int()
	switch {
	case r.Err() != nil:
		return Op{}, false
	case hi >= uint64(len(hosts)):
		r.Fail("member: host index %d of %d", hi, len(hosts))
		return Op{}, false
	case seq == 0 || hosts[hi] == "" || badCount(n):
		r.Fail("member: bad pid or count")
		return Op{}, false
	}
	return Op{PID: pid.PID{Node: from, Host: hosts[hi], Seq: seq}, N: int(n)}, true
}

func badCount(n int64) bool { return n == 0 || n > maxCount || n < -maxCount }

// AppendDelta appends a FrameDelta of d to b.
func AppendDelta(b []byte, d *Delta) []byte {
	w := msgp.Writer{B: append(b, byte(FrameDelta))}
	w.ArrayHeader(3)
	w.Uint(d.Boot)
	w.Uint(d.Seq)
	appendBatch(&w, d.Ops)
	return w.B
}

// AppendStatePart appends one FrameState part of a state to b: ops are
// the part's members.
func AppendStatePart(b []byte, boot, seq, part uint64, last bool, ops []Op) []byte {
	w := msgp.Writer{B: append(b, byte(FrameState))}
	w.ArrayHeader(5)
	w.Uint(boot)
	w.Uint(seq)
	w.Uint(part)
	w.Bool(last)
	appendBatch(&w, ops)
	return w.B
}

// AppendDigest appends a FrameDigest to b.
func AppendDigest(b []byte, boot, seq uint64) []byte {
	w := msgp.Writer{B: append(b, byte(FrameDigest))}
	w.ArrayHeader(2)
	w.Uint(boot)
	w.Uint(seq)
	return w.B
}

// AppendStateRequest appends a FrameStateRequest to b.
func AppendStateRequest(b []byte) []byte {
	w := msgp.Writer{B: append(b, byte(FrameStateRequest))}
	w.ArrayHeader(0)
	return w.B
}

// Decode reads a frame the node from sent. Every failure wraps
// ErrMalformed; a frame of an unknown type is one too.
func Decode(body []byte, from string) (Frame, error) {
	if len(body) == 0 {
		return Frame{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	f := Frame{Type: FrameType(body[0])}
	r := msgp.NewReader(body[1:])
	var fields int
	switch f.Type {
	case FrameDelta:
		fields = 3
	case FrameState:
		fields = 5
	case FrameDigest:
		fields = 2
	case FrameStateRequest:
		fields = 0
	default:
		return Frame{}, fmt.Errorf("%w: unknown type %d", ErrMalformed, body[0])
	}
	if n := r.ArrayLen(8, 1); n != fields && r.Err() == nil {
		r.Fail("%v: %d fields, want %d", f.Type, n, fields)
	}
	if fields >= 2 {
		f.Boot, f.Seq = r.Uint(), r.Uint()
	}
	switch f.Type {
	case FrameDelta:
		f.Ops = readBatch(&r, from)
	case FrameState:
		f.Part, f.Last = r.Uint(), r.Bool()
		f.Ops = readBatch(&r, from)
	}
	if err := r.End(); err != nil {
		return Frame{}, fmt.Errorf("%w: %v: %w", ErrMalformed, f.Type, err)
	}
	if f.Type == FrameDelta && f.Seq == 0 {
		return Frame{}, fmt.Errorf("%w: delta with seq 0", ErrMalformed)
	}
	if f.Type == FrameState && hasNegative(f.Ops) {
		return Frame{}, fmt.Errorf("%w: state with a negative count", ErrMalformed)
	}
	return f, nil
}

func hasNegative(ops []Op) bool {
	for _, op := range ops {
		if op.N < 0 {
			return true
		}
	}
	return false
}

// splitState cuts members into parts whose encoding is about budget
// bytes at most (a part holds at least one member).
func splitState(members []Op, budget int) [][]Op {
	var parts [][]Op
	start, size := 0, 0
	for i, op := range members {
		n := len(op.Scope) + len(op.Group) + len(op.PID.Host) + 32
		if i > start && size+n > budget {
			parts = append(parts, members[start:i])
			start, size = i, 0
		}
		size += n
	}
	return append(parts, members[start:])
}
