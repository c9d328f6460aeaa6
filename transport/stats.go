package transport

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// DropReason says why frames were dropped.
type DropReason uint8

const (
	// DropQueueFull: the send queue overflowed and the session was abandoned.
	DropQueueFull DropReason = iota
	// DropAbandoned: the session was abandoned by Abandon or Forget.
	DropAbandoned
	// DropPeerRestarted: the peer came back with a new boot id.
	DropPeerRestarted
	// DropPeerAbandoned: the peer abandoned the session.
	DropPeerAbandoned
	// DropSessionBroken: the sides disagreed on sequence numbers.
	DropSessionBroken
	// DropDuplicate: a received frame was already delivered (a replay).
	DropDuplicate
	// DropUnknownStream: a received frame was for a stream with no handler.
	DropUnknownStream
	// DropClosed: frames queued or awaiting their handler when the endpoint
	// closed.
	DropClosed

	numDropReasons
)

var dropNames = [numDropReasons]string{
	"queue_full", "abandoned", "peer_restarted", "peer_abandoned",
	"session_broken", "duplicate", "unknown_stream", "closed",
}

func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("drop(%d)", uint8(r))
}

// dropReasonOf maps a session-lost reason to its drop counter.
func dropReasonOf(err error) DropReason {
	switch {
	case errors.Is(err, ErrQueueFull):
		return DropQueueFull
	case errors.Is(err, ErrPeerRestarted):
		return DropPeerRestarted
	case errors.Is(err, ErrPeerAbandoned):
		return DropPeerAbandoned
	case errors.Is(err, ErrSessionBroken):
		return DropSessionBroken
	}
	return DropAbandoned
}

// Stats is a snapshot of an endpoint's counters. Counters only grow.
type Stats struct {
	// Dropped counts frames dropped, by reason, over all peers.
	Dropped map[DropReason]uint64
	// HandshakeFailures counts connections (either direction) whose
	// handshake failed or was refused.
	HandshakeFailures uint64
	// HandshakesEvicted counts inbound connections closed in their
	// handshake to make room for newer ones (MaxPendingPerSource,
	// MaxPendingHandshakes). Also counted in HandshakeFailures.
	HandshakesEvicted uint64
	// ProtocolErrors counts established connections dropped for a
	// malformed, oversized or out-of-sequence frame.
	ProtocolErrors uint64
	// SealFailures counts connections closed because a sealed record did
	// not open (ErrSealBroken): tampering on the path, or a bug.
	SealFailures uint64
	// Accepted counts inbound connections accepted.
	Accepted uint64
	// ReadersDetached counts connection readers that handed their reading
	// to a new goroutine because work a handler left them (Defer) was
	// about to block.
	ReadersDetached uint64
	// Peers has one entry per known peer, sorted by name.
	Peers []PeerStats
}

// PeerStats is a snapshot of one peer's counters and session.
type PeerStats struct {
	Name string
	Addr string // address dialed; "" if none is known yet
	// Session: Boot is the peer's boot id, 0 while no session is up.
	Boot uint64
	// Frame numbering of the current session.
	SendSeq uint64 // next sequence number Send will use
	Acked   uint64 // frames the peer acknowledged
	RecvSeq uint64 // next sequence number expected from the peer
	// QueueBytes is what the send queue holds now.
	QueueBytes int64
	// Connection counters, since the peer became known.
	BytesIn, BytesOut   uint64 // after the handshake, headers included
	FramesIn, FramesOut uint64 // data frames delivered to handlers / accepted by Send
	Connects            uint64 // outbound connections established
	Reconnects          uint64 // established outbound connections after the first
	Dropped             uint64 // frames dropped for this peer, any reason
	// DirectWrites counts frames Send wrote to the socket itself, the
	// writer goroutine waiting with nothing queued (see Send).
	DirectWrites uint64
	// Duplex: one connection carries both sides' frames now (see
	// "Duplex connections" in the package documentation). On the side
	// that did not dial it, from the dialer's first frame on.
	Duplex bool
}

// counters are the endpoint-wide counters.
type counters struct {
	dropped           [numDropReasons]atomic.Uint64
	handshakeFailures atomic.Uint64
	handshakesEvicted atomic.Uint64
	protocolErrors    atomic.Uint64
	sealFailures      atomic.Uint64
	accepted          atomic.Uint64
	detached          atomic.Uint64
}

// peerCounters are one peer's counters.
type peerCounters struct {
	bytesIn, bytesOut   atomic.Uint64
	framesIn, framesOut atomic.Uint64
	connects            atomic.Uint64
	dropped             atomic.Uint64
	directWrites        atomic.Uint64
}
