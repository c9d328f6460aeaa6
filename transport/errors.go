package transport

import (
	"errors"
	"fmt"
)

// Errors returned by the Endpoint API.
var (
	// ErrClosed: the endpoint was closed.
	ErrClosed = errors.New("transport: endpoint closed")
	// ErrNotStarted: Connect or Send before Start.
	ErrNotStarted = errors.New("transport: endpoint not started")
	// ErrStarted: Register or an event hook after Start.
	ErrStarted = errors.New("transport: endpoint already started")
	// ErrUnknownPeer: Send, Abandon or Forget for a name that was never
	// connected to (by Connect or by an inbound connection), or was forgotten.
	ErrUnknownPeer = errors.New("transport: unknown peer")
	// ErrSelf: Connect to the endpoint's own name.
	ErrSelf = errors.New("transport: peer is this node")
	// ErrStreamRegistered: Register twice for one stream type.
	ErrStreamRegistered = errors.New("transport: stream already registered")
	// ErrUnknownStream: Send on a stream the peer did not register, or a
	// frame received for a stream this endpoint did not register.
	ErrUnknownStream = errors.New("transport: unknown stream type")
	// ErrFrameTooLarge: a body that does not fit in Config.MaxFrame, sent or
	// received.
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("transport: invalid config")
)

// Reasons a session is lost, found in SessionEvent.Reason.
var (
	// ErrAbandoned: this endpoint abandoned the session (Abandon or Forget).
	ErrAbandoned = errors.New("transport: session abandoned")
	// ErrQueueFull: the send queue to the peer would have exceeded
	// Config.SendQueueBytes. Also returned by the Send that overflowed.
	ErrQueueFull = errors.New("transport: send queue full")
	// ErrPeerRestarted: the peer came back with a new boot id.
	ErrPeerRestarted = errors.New("transport: peer restarted")
	// ErrPeerAbandoned: the peer abandoned the session (its Abandon, Forget
	// or send queue overflow), learned at the next handshake.
	ErrPeerAbandoned = errors.New("transport: session abandoned by peer")
	// ErrSessionBroken: the two sides disagreed on sequence numbers, which
	// only a bug can cause; the session is abandoned rather than trusted.
	ErrSessionBroken = errors.New("transport: session state inconsistent")
)

// Errors that end one connection; the endpoint logs them and, for outbound
// connections, reconnects.
var (
	// ErrHandshake wraps every handshake refusal.
	ErrHandshake = errors.New("transport: handshake failed")
	// ErrAuth: the peer's HMAC proof is wrong, or one side has a secret key
	// and the other has none.
	ErrAuth = errors.New("transport: authentication failed")
	// ErrClusterMismatch: the peer belongs to another cluster.
	ErrClusterMismatch = errors.New("transport: cluster name mismatch")
	// ErrVersionMismatch: the protocol version ranges do not overlap.
	ErrVersionMismatch = errors.New("transport: no common protocol version")
	// ErrNotMember: the peer's name and boot id are not a current member
	// (Config.Members); a node just started is refused until membership
	// has seen it, and retries.
	ErrNotMember = errors.New("transport: not a cluster member")
	// ErrRejected: the peer refused the handshake; the error text carries
	// the peer's reason.
	ErrRejected = errors.New("transport: rejected by peer")
	// ErrSealBroken: a sealed record did not open (it was altered,
	// replayed, reordered, cut or forged), or a frame came in clear on a
	// sealed connection. Counted in Stats.SealFailures.
	ErrSealBroken = errors.New("transport: sealed record failed authentication")
	// ErrProtocol: a malformed frame, an unexpected frame type, a sequence
	// gap or an ack beyond what was sent.
	ErrProtocol = errors.New("transport: protocol error")
)

var (
	errWrongName = fmt.Errorf("%w: unexpected node name", ErrHandshake)
	errRetry     = fmt.Errorf("%w: session changed during handshake", ErrHandshake)
	// errCarried refuses a connection of a side whose frames a duplex
	// connection of the peer's already carries.
	errCarried = fmt.Errorf("%w (a duplex connection carries this side's frames)", errRetry)
)
