package cluster

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/wippyd/wippyd/transport"
)

// Drop reasons counted in Stats.Dropped.
const (
	// DropNodeDown: an envelope for a node that is down or unreachable,
	// or a frame from a node this node declared down, received before its
	// next session (the rest of the session that ended).
	DropNodeDown = "nodedown"
	// DropPolicy: inbound traffic this node's policy denied.
	DropPolicy = "policy"
	// DropDecode: an inbound frame that did not decode, or an envelope
	// misaddressed (not for this node), with a sender PID of another node
	// than the peer's, or of an unknown signal kind.
	DropDecode = "decode"
	// DropNotReady: inbound traffic before Bind or after Stop.
	DropNotReady = "notready"
)

type dropReason uint8

const (
	dropNodeDown dropReason = iota
	dropPolicy
	dropDecode
	dropNotReady
	numDropReasons
)

var dropNames = [numDropReasons]string{DropNodeDown, DropPolicy, DropDecode, DropNotReady}

// counters are one cluster's counters (no globals: two nodes in one
// process keep their own). Per-peer envelope counts live on the routes.
type counters struct {
	dropped   [numDropReasons]atomic.Uint64
	spawnsOut atomic.Uint64 // remote spawn requests sent
	spawnsIn  atomic.Uint64 // remote spawn requests served
	lateReply atomic.Uint64 // spawn replies after their timeout
	nodeDowns atomic.Uint64 // NodeDown calls made
	recvOther atomic.Uint64 // envelopes from nodes not (yet) known
}

func (c *counters) drop(r dropReason) { c.dropped[r].Add(1) }

// Stats is a snapshot of a cluster's counters.
type Stats struct {
	// EnvelopesSent and EnvelopesReceived count signals (messages, EXITs,
	// links, ...) handed to the transport and handed to runtime.Deliver
	// (which may still drop one: see the runtime's counters).
	EnvelopesSent, EnvelopesReceived uint64
	// SpawnsSent counts remote spawn requests made; SpawnsServed those
	// this node answered (allowed or not).
	SpawnsSent, SpawnsServed uint64
	// LateSpawnReplies counts replies that came after their timeout.
	LateSpawnReplies uint64
	// NodeDowns counts NodeDown calls (one per peer life that ended).
	NodeDowns uint64
	// Dropped counts dropped envelopes and frames by reason (Drop*).
	Dropped map[string]uint64
	// Peers has one entry per known node, sorted by name, with the
	// transport's counters for it (internode bytes, frames, queue).
	Peers []PeerStats
}

// PeerStats is one known node.
type PeerStats struct {
	Name string
	// Up: the node is routed to.
	Up bool
	// Boot is the boot id of the node's current (or last) life.
	Boot uint64
	// EnvelopesSent and EnvelopesReceived count signals to and from it.
	EnvelopesSent, EnvelopesReceived uint64
	// Transport is the endpoint's view: bytes, frames, queue, session.
	Transport PeerTransportStats
}

// PeerTransportStats are the transport counters of one peer.
type PeerTransportStats struct {
	BytesIn, BytesOut   uint64
	FramesIn, FramesOut uint64
	QueueBytes          int64
	Reconnects          uint64
	Dropped             uint64
	// Duplex: one connection carries both nodes' messages.
	Duplex bool
}

// Stats returns a snapshot of the counters, with the transport's
// per-peer counters of every known node.
func (c *Cluster) Stats() Stats {
	s := Stats{
		SpawnsSent:        c.ctr.spawnsOut.Load(),
		SpawnsServed:      c.ctr.spawnsIn.Load(),
		LateSpawnReplies:  c.ctr.lateReply.Load(),
		NodeDowns:         c.ctr.nodeDowns.Load(),
		EnvelopesReceived: c.ctr.recvOther.Load(),
		Dropped:           make(map[string]uint64, numDropReasons),
	}
	for i := range numDropReasons {
		s.Dropped[dropNames[i]] = c.ctr.dropped[i].Load()
	}
	tp := map[string]transport.PeerStats{}
	for _, p := range c.ep.Stats().Peers {
		tp[p.Name] = p
	}
	routes := *c.routes.Load()
	c.mu.Lock()
	for name, r := range routes {
		_, _, boot := c.table.state(name)
		t := tp[name]
		ps := PeerStats{
			Name: name, Up: r.up.Load(), Boot: boot,
			EnvelopesSent: r.sent.Load(), EnvelopesReceived: r.recv.Load(),
			Transport: PeerTransportStats{
				BytesIn: t.BytesIn, BytesOut: t.BytesOut, FramesIn: t.FramesIn, FramesOut: t.FramesOut,
				QueueBytes: t.QueueBytes, Reconnects: t.Reconnects, Dropped: t.Dropped, Duplex: t.Duplex,
			},
		}
		s.EnvelopesSent += ps.EnvelopesSent
		s.EnvelopesReceived += ps.EnvelopesReceived
		s.Peers = append(s.Peers, ps)
	}
	c.mu.Unlock()
	slices.SortFunc(s.Peers, func(a, b PeerStats) int { return strings.Compare(a.Name, b.Name) })
	return s
}
