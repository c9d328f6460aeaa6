package raftreg

import (
	"context"
	"errors"
	"time"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

// The registry stream carries requests from any node to the one it
// believes leads, and their replies, through a mux. A request body is
//
//	op         raw byte
//	deadline   int: the sender's deadline, Unix nanoseconds (0: none)
//	opApply:   bin, an fsm command
//	opLookup:  str, a name
//	opAck:     str, str, str, uint, uint: a name, its PID (node, host,
//	           seq), the index of its STRONG reservation
//	opApplied: uint, an index
//	opSubscribe: bool, uint: a new subscription (a snapshot) or a
//	           renewal, and the index the client's copy holds
//
// and a reply is code, node, host, seq, leader, index, flag (uint, str,
// str, uint, str, uint, bool) whatever the op. flag is, for opApply, that
// a Reserve found its name active already; for opStatus, that the node
// has Raft state. leader is, for an opAck answered codeExists, the scope
// of the conflicting binding. The leader refuses an
// apply whose deadline passed (codeExpired): a request that sat in a
// transport queue during a partition is never proposed after its sender
// gave up, so the sender's conditional unregister cannot be overtaken by
// its own register. This assumes clocks agree to well within ApplyTimeout.
//
// Ops and codes are never renumbered.
const (
	opApply     byte = 1
	opLookup    byte = 2
	opReadIndex byte = 3
	opStatus    byte = 4
	opAck       byte = 5 // acknowledge a STRONG reservation (strong.go)
	opApplied   byte = 6 // answer once an index is applied (strong.go)
	opSubscribe byte = 7 // a client's subscription to a member's feed (feed.go)
)

const (
	codeOK          uint8 = 0
	codeNotFound    uint8 = 1 // lookup: no holder; unregister: ErrNotFound
	codeExists      uint8 = 2 // register: held by pid
	codeNotOwner    uint8 = 3 // unregister: held by pid
	codeNotLeader   uint8 = 4 // not proposed; leader is the hint
	codeUnknown     uint8 = 5 // proposed, outcome unknown
	codeExpired     uint8 = 6 // not proposed: the deadline passed
	codeBusy        uint8 = 7 // not proposed: too many requests
	codeInvalid     uint8 = 8 // not proposed: malformed command
	codeUnavailable uint8 = 9 // not proposed / not read: not running, no quorum
)

// reply is a decoded reply.
type reply struct {
	code   uint8
	pid    pid.PID
	leader string
	index  uint64
	flag   bool // opStatus: this node has Raft state
}

func putReply(w *msgp.Writer, rep reply) {
	w.Uint(uint64(rep.code))
	w.Str(rep.pid.Node)
	w.Str(rep.pid.Host)
	w.Uint(rep.pid.Seq)
	w.Str(rep.leader)
	w.Uint(rep.index)
	w.Bool(rep.flag)
}

func decodeReply(b []byte) (reply, error) {
	r := msgp.NewReader(b)
	rep := reply{code: uint8(min(r.Uint(), 255))}
	rep.pid.Node = r.Str(registry.MaxNodeLen)
	rep.pid.Host = r.Str(registry.MaxHostLen)
	rep.pid.Seq = r.Uint()
	rep.leader = r.Str(registry.MaxNodeLen)
	rep.index = r.Uint()
	rep.flag = r.Bool()
	return rep, r.End()
}

// request is a decoded request.
type request struct {
	op       byte
	deadline int64
	data     []byte
	name     string
	pid      pid.PID // opAck
	index    uint64  // opAck, opApplied, opSubscribe
	fresh    bool    // opSubscribe
}

func putRequest(w *msgp.Writer, q request) {
	w.WriteByte(q.op)
	w.Int(q.deadline)
	switch q.op {
	case opApply:
		w.Bin(q.data)
	case opLookup:
		w.Str(q.name)
	case opAck:
		w.Str(q.name)
		w.Str(q.pid.Node)
		w.Str(q.pid.Host)
		w.Uint(q.pid.Seq)
		w.Uint(q.index)
	case opApplied:
		w.Uint(q.index)
	case opSubscribe:
		w.Bool(q.fresh)
		w.Uint(q.index)
	}
}

func getRequest(r *msgp.Reader) request {
	q := request{op: r.Byte(), deadline: r.Int()}
	switch q.op {
	case opApply:
		q.data = r.BytesCopy(fsm.MaxCommandSize)
	case opLookup:
		q.name = r.Str(registry.MaxNameLen)
	case opAck:
		q.name = r.Str(registry.MaxNameLen)
		q.pid = pid.PID{Node: r.Str(registry.MaxNodeLen), Host: r.Str(registry.MaxHostLen), Seq: r.Uint()}
		q.index = r.Uint()
		if r.Err() == nil && (registry.ValidateName(q.name) != nil || registry.ValidatePID(q.pid) != nil) {
			r.Fail("bad acknowledgement request")
		}
	case opApplied:
		q.index = r.Uint()
	case opSubscribe:
		q.fresh = r.Bool()
		q.index = r.Uint()
	case opReadIndex, opStatus:
	default:
		r.Fail("unknown op %d", q.op)
	}
	return q
}

// serveForward handles a request on the delivery goroutine of its sender:
// status at once, the rest on a goroutine of their own (bounded by
// MaxForwarded), since they wait for Raft.
func (r *Registry) serveForward(from string, id uint64, rb *msgp.Reader) {
	q := getRequest(rb)
	if rb.End() != nil {
		r.fwd.bad.Add(1)
		return
	}
	send := func(rep reply) { _ = r.fwd.reply(from, id, func(w *msgp.Writer) { putReply(w, rep) }) }
	switch {
	case !r.running():
		send(reply{code: codeUnavailable})
		return
	case r.cfg.Client && q.op != opAck && q.op != opApplied:
		// A client acknowledges and answers for its copy; the rest is
		// for members.
		send(reply{code: codeNotLeader, leader: r.leaderName()})
		return
	case r.raft() == nil && !r.cfg.Client:
		// Before Start this node cannot tell whether it has Raft state
		// on disk, so it must not answer the status query "fresh".
		send(reply{code: codeUnavailable})
		return
	case q.op == opStatus:
		send(r.statusReply(from))
		return
	case q.op == opSubscribe:
		send(r.feed.subscribe(from, q.fresh, q.index))
		return
	}
	select {
	case r.fwdSlots <- struct{}{}:
	default:
		r.forwardedBusy.Add(1)
		send(reply{code: codeBusy})
		return
	}
	r.forwardedIn.Add(1)
	ok := r.track.start(func() {
		defer func() { <-r.fwdSlots }()
		if q.op == opAck || q.op == opApplied {
			send(r.serveAck(q))
			return
		}
		send(r.execute(q))
	})
	if !ok {
		<-r.fwdSlots
		send(reply{code: codeUnavailable})
	}
}

// execute runs a forwarded request on this node.
func (r *Registry) execute(q request) reply {
	deadline := time.Now().Add(r.cfg.ApplyTimeout)
	if q.deadline != 0 {
		if d := time.Unix(0, q.deadline); d.Before(deadline) {
			deadline = d
		}
	}
	if !time.Now().Before(deadline) {
		return reply{code: codeExpired}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	e := r.lead.Load()
	if e == nil {
		return reply{code: codeNotLeader, leader: r.leaderName()}
	}
	switch q.op {
	case opApply:
		if _, err := fsm.DecodeCommand(q.data); err != nil {
			return reply{code: codeInvalid}
		}
		res, err := r.proposeLocal(ctx, e, q.data)
		if err != nil {
			return reply{code: codeUnknown}
		}
		return resultReply(res)
	case opLookup, opReadIndex:
		err := r.leaderRead(ctx, e)
		switch {
		case errors.Is(err, errNotLeader):
			return reply{code: codeNotLeader, leader: r.leaderName()}
		case err != nil:
			return reply{code: codeUnavailable}
		}
		if q.op == opReadIndex {
			return reply{code: codeOK, index: r.table.index()}
		}
		if p, ok := r.table.lookup(q.name); ok {
			return reply{code: codeOK, pid: p}
		}
		return reply{code: codeNotFound}
	}
	return reply{code: codeInvalid}
}

func resultReply(res result) reply {
	switch {
	case res.err == nil:
		return reply{code: codeOK, index: res.index, flag: res.active}
	case errors.Is(res.err, registry.ErrAlreadyExists):
		return reply{code: codeExists, pid: res.owner, index: res.index}
	case errors.Is(res.err, registry.ErrNotOwner):
		return reply{code: codeNotOwner, pid: res.owner, index: res.index}
	case errors.Is(res.err, registry.ErrNotFound):
		return reply{code: codeNotFound, index: res.index}
	}
	return reply{code: codeInvalid, index: res.index}
}

func replyResult(rep reply) result {
	res := result{owner: rep.pid, index: rep.index, active: rep.code == codeOK && rep.flag}
	switch rep.code {
	case codeExists:
		res.err = registry.ErrAlreadyExists
	case codeNotOwner:
		res.err = registry.ErrNotOwner
	case codeNotFound:
		res.err = registry.ErrNotFound
	case codeInvalid:
		res.err = fsm.ErrBadCommand
	}
	return res
}

// errLeaderChanged: the leader a request went to is no longer the one this
// node believes in, so waiting for its reply is pointless.
var errLeaderChanged = errors.New("raftreg: leader changed")

// ask sends q to leader and waits for the reply until ctx ends, Close, or,
// when follow is set, this node's view of the leader moves away from
// leader. Errors: errNotSent (never left this node), errNoReply (ctx),
// errLeaderChanged, errStopped.
func (r *Registry) ask(ctx context.Context, leader string, q request, follow bool) (reply, error) {
	if d, ok := ctx.Deadline(); ok {
		q.deadline = d.UnixNano()
	}
	p, err := r.fwd.start(leader, func(w *msgp.Writer) { putRequest(w, q) })
	if err != nil {
		return reply{}, err
	}
	defer p.cancel()
	r.forwardedOut.Add(1)
	for {
		changed := r.leaderBC.wait()
		if follow && r.leaderName() != leader {
			return reply{}, errLeaderChanged
		}
		select {
		case b := <-p.ch:
			rep, err := decodeReply(b)
			if err != nil {
				r.fwd.bad.Add(1)
				return reply{code: codeUnknown}, nil
			}
			return rep, nil
		case <-changed:
		case <-ctx.Done():
			return reply{}, errNoReply
		case <-r.stopping:
			return reply{}, errStopped
		}
	}
}
