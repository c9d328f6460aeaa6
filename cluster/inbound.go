package cluster

import (
	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
	"github.com/wippyd/wippyd/transport"
)

// inbound is the pooled state of decoding one frame: a wire decoder (with
// its interned strings) and the messages it decodes into, reused so a
// steady stream of envelopes allocates only for payloads.
type inbound struct {
	dec   *wire.Decoder
	env   wire.Envelope
	rtEnv runtime.Envelope
	guest runtime.Guest
	memo  security.Memo
	req   wire.SpawnRequest
	rep   wire.SpawnReply
	gc    wire.Groupcast
}

// handle is the transport handler of the cluster stream. The transport
// calls it for one peer at a time, in the order that peer sent its
// frames, and so envelopes reach the runtime in send order.
func (c *Cluster) handle(from transport.Peer, body []byte) {
	rt := c.runtime()
	if rt == nil || c.stopped.Load() {
		c.ctr.drop(dropNotReady)
		return
	}
	typ, err := wire.TypeOf(body)
	if err != nil {
		c.ctr.drop(dropDecode)
		c.logMalformed(from.Name, "frame", err.Error())
		return
	}
	r := (*c.routes.Load())[from.Name]
	if typ != wire.TypeSpawnReply {
		// Held while the frame is handed over: see route.gate. A spawn
		// reply is not gated: the call it answers failed at the down.
		if r != nil {
			r.gate.RLock()
			defer r.gate.RUnlock()
			if r.deaf {
				c.ctr.drop(dropNodeDown)
				return
			}
		}
	}
	in := c.decoders.Get().(*inbound)
	defer c.decoders.Put(in)
	nodes := wire.Nodes{Sender: from.Name, Receiver: c.node}
	switch typ {
	case wire.TypeEnvelope:
		if err := in.dec.DecodeEnvelope(body, nodes, &in.env); err != nil {
			c.ctr.drop(dropDecode)
			c.logMalformed(from.Name, "envelope", err.Error())
			return
		}
		c.deliver(rt, from.Name, r, in)
		if in.guest.Pending() {
			c.leaveToReader(from, in.guest.Take())
		}
		in.env = wire.Envelope{}
		in.rtEnv = runtime.Envelope{}
	case wire.TypeGroupcast:
		if err := in.dec.DecodeGroupcast(body, nodes, &in.gc); err != nil {
			c.ctr.drop(dropDecode)
			c.logMalformed(from.Name, "groupcast", err.Error())
			return
		}
		c.deliverGroup(rt, from.Name, r, in)
		in.gc = wire.Groupcast{}
		in.rtEnv = runtime.Envelope{}
	case wire.TypeSpawnRequest:
		if err := in.dec.DecodeSpawnRequest(body, nodes, &in.req); err != nil {
			c.ctr.drop(dropDecode)
			c.logMalformed(from.Name, "spawn request", err.Error())
			return
		}
		c.serveSpawn(rt, from, &in.req)
		in.req = wire.SpawnRequest{}
	case wire.TypeSpawnReply:
		if err := in.dec.DecodeSpawnReply(body, nodes, &in.rep); err != nil {
			c.ctr.drop(dropDecode)
			c.logMalformed(from.Name, "spawn reply", err.Error())
			return
		}
		c.completeSpawn(from.Name, &in.rep)
		in.rep = wire.SpawnReply{}
	}
}

// deliver checks a decoded envelope and hands it to the runtime. r is
// peer's route (nil: none).
func (c *Cluster) deliver(rt Runtime, peer string, r *route, in *inbound) {
	w := &in.env
	kind := runtime.SignalKind(w.Kind)
	switch {
	case w.To.Node != c.node:
		c.ctr.drop(dropDecode)
		c.logMalformed(peer, "envelope for another node", w.To.String())
		return
	case !w.From.IsZero() && w.From.Node != peer:
		// Only the sending node's processes speak through its session.
		c.ctr.drop(dropDecode)
		c.logMalformed(peer, "envelope from a process of another node", w.From.String())
		return
	case kind < runtime.SigMessage || kind > runtime.SigTerminate:
		c.ctr.drop(dropDecode)
		c.logMalformed(peer, "envelope of an unknown kind", kind)
		return
	}
	// The runtime checks the signal against this node's policies with the
	// identity it carries: nothing a peer sends skips that check.
	in.rtEnv = runtime.Envelope{
		Kind: kind, From: w.From, To: w.To, Topic: w.Topic, Payload: w.Payload, Err: w.Err,
		Chain: w.Chain, FromHost: w.FromHost, Guest: &in.guest, Memo: &in.memo,
	}
	// Counted before delivery: the receiver may answer before Deliver
	// returns, and the count must not lag what the sender sees.
	if r != nil {
		r.recv.Add(1)
	} else {
		c.ctr.recvOther.Add(1)
	}
	rt.Deliver(&in.rtEnv)
}

// guestRun is a process a delivered message readied, left to the
// connection's reader to run once its read is delivered (see
// runtime.Guest): a request answered that way costs no wake-up of a
// worker goroutine.
type guestRun struct {
	c *Cluster
	g runtime.Guest
}

// leaveToReader leaves g to the goroutine delivering from's frame, when
// that is the reader of a short read, else queues it for a worker.
func (c *Cluster) leaveToReader(from transport.Peer, g runtime.Guest) {
	run := c.guests.Get().(*guestRun)
	run.g = g
	if !c.ep.Defer(from, run) {
		run.g.Queue()
		c.guests.Put(run)
	}
}

func (run *guestRun) RunDeferred(detach func()) {
	g := run.g.Take()
	run.c.guests.Put(run)
	g.Run(detach)
}

// deliverGroup checks a decoded groupcast and hands it to the runtime,
// which delivers it to the group's local members.
func (c *Cluster) deliverGroup(rt Runtime, peer string, r *route, in *inbound) {
	w := &in.gc.Envelope
	if w.Kind != uint8(runtime.SigMessage) || !w.To.IsZero() || w.From.IsZero() || w.From.Node != peer {
		c.ctr.drop(dropDecode)
		c.logMalformed(peer, "groupcast", "not a message from a process of the sending node")
		return
	}
	in.rtEnv = runtime.Envelope{
		Kind: runtime.SigMessage, From: w.From, Topic: w.Topic, Payload: w.Payload,
		Chain: w.Chain, FromHost: w.FromHost,
	}
	if r != nil {
		r.recv.Add(1)
	} else {
		c.ctr.recvOther.Add(1)
	}
	rt.DeliverGroup(in.gc.Scope, in.gc.Group, &in.rtEnv)
}

// deniedSpawn counts and (throttled) logs a spawn request that this
// node's policy refused; it returns the PERMISSION_DENIED error to answer
// with.
func (c *Cluster) deniedSpawn(peer string, m *wire.SpawnRequest, err error) *proc.Error {
	c.ctr.drop(dropPolicy)
	if c.denyLog.Allow(m.From.Host, m.Host, c.cfg.Now(), c.cfg.DenyLogInterval) {
		c.log.Warn("cluster: remote traffic denied by policy",
			"peer", peer, "sender_host", m.From.Host, "target_host", m.Host,
			"sender", m.From.String(), "entry", m.Entry, "err", err)
	}
	return proc.PermissionDenied(err)
}

// logMalformed logs a bad frame from peer, at most once per interval per
// peer and kind of problem.
func (c *Cluster) logMalformed(peer, what string, detail any) {
	if c.denyLog.Allow("\x00malformed:"+peer, what, c.cfg.Now(), c.cfg.DenyLogInterval) {
		c.log.Warn("cluster: dropped malformed traffic", "peer", peer, "what", what, "detail", detail)
	}
}
