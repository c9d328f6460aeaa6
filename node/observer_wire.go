package node

import (
	"errors"
	"fmt"

	"github.com/wippyd/wippyd/internal/msgp"
)

// The observer's frames on transport.StreamObserver. A body is a msgpack
// array whose first element is the frame type:
//
//	request: [1, id, kind, {arg: value, ...}]
//	reply:   [2, id, status, body]
//
// id pairs a reply with its request (per asking node); kind names the
// view or action (obsKinds); status is an HTTP status and body the
// answer's JSON as the admin endpoint serves it. Values are never
// renumbered.
const (
	obsFrameRequest = 1
	obsFrameReply   = 2
)

// Bounds of a decoded frame: what a request may carry, and the largest
// answer (a page of processes or names is far smaller).
const (
	obsMaxKind     = 32
	obsMaxArgs     = 16
	obsMaxArgLen   = 1024
	obsMaxReplyLen = 4 << 20
)

// errObsFrame is a malformed observer frame.
var errObsFrame = errors.New("node: observer frame")

// obsRequest asks a node for a view or an action.
type obsRequest struct {
	ID   uint64
	Kind string
	Args map[string]string
}

// obsReply is a node's answer.
type obsReply struct {
	ID     uint64
	Status int
	Body   []byte
}

func (q obsRequest) encode() []byte {
	w := msgp.Writer{}
	w.ArrayHeader(4)
	w.Uint(obsFrameRequest)
	w.Uint(q.ID)
	w.Str(q.Kind)
	w.MapHeader(len(q.Args))
	for k, v := range q.Args {
		w.Str(k)
		w.Str(v)
	}
	return w.B
}

func (r obsReply) encode() []byte {
	w := msgp.Writer{}
	w.ArrayHeader(4)
	w.Uint(obsFrameReply)
	w.Uint(r.ID)
	w.Uint(uint64(r.Status))
	w.Bin(r.Body)
	return w.B
}

// decodeObsFrame decodes a frame from a peer: exactly one of the results
// is set, or the error says what is wrong.
func decodeObsFrame(b []byte) (*obsRequest, *obsReply, error) {
	r := msgp.NewReader(b)
	if n := r.ArrayLen(4, 1); r.Err() == nil && n != 4 {
		return nil, nil, fmt.Errorf("%w: %d fields, want 4", errObsFrame, n)
	}
	typ := r.Uint()
	id := r.Uint()
	if r.Err() != nil {
		return nil, nil, fmt.Errorf("%w: %v", errObsFrame, r.Err())
	}
	switch typ {
	case obsFrameRequest:
		q := &obsRequest{ID: id, Kind: r.Str(obsMaxKind)}
		n := r.MapLen(obsMaxArgs)
		if n > 0 {
			q.Args = make(map[string]string, n)
		}
		for i := 0; i < n && r.Err() == nil; i++ {
			k := r.Str(obsMaxArgLen)
			q.Args[k] = r.Str(obsMaxArgLen)
		}
		if err := r.End(); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errObsFrame, err)
		}
		return q, nil, nil
	case obsFrameReply:
		st := r.Uint()
		body := r.BytesCopy(obsMaxReplyLen)
		if err := r.End(); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errObsFrame, err)
		}
		if st < 100 || st > 599 {
			return nil, nil, fmt.Errorf("%w: status %d", errObsFrame, st)
		}
		return nil, &obsReply{ID: id, Status: int(st), Body: body}, nil
	}
	return nil, nil, fmt.Errorf("%w: type %d", errObsFrame, typ)
}
