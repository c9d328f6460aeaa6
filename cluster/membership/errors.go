package membership

import "errors"

// Errors returned by the Membership API.
var (
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("membership: invalid config")
	// ErrStarted: Start called twice.
	ErrStarted = errors.New("membership: already started")
	// ErrNotStarted: Join or Leave before Start.
	ErrNotStarted = errors.New("membership: not started")
	// ErrClosed: the Membership was shut down (or its Start failed).
	ErrClosed = errors.New("membership: shut down")
	// ErrLeft: Join after Leave; a node that left stays out until it is
	// restarted with a new boot id.
	ErrLeft = errors.New("membership: node has left")
	// ErrJoin: none of the addresses given to Join could be contacted; the
	// error text lists why, per address.
	ErrJoin = errors.New("membership: join failed")
	// ErrLeaveTimeout: Leave did not see its leave message go out within
	// its timeout. The node has still stopped taking part; peers learn of
	// the departure by gossip or by failure detection.
	ErrLeaveTimeout = errors.New("membership: leave timed out")
)

// Errors of the decoders for peer input (node meta and user messages).
// Peer input that fails to decode is dropped and counted, never trusted.
var (
	// ErrBadMeta: node meta that is not a valid encoding (see Meta).
	ErrBadMeta = errors.New("membership: malformed node meta")
	// ErrBadMessage: a user message that is not a valid encoding.
	ErrBadMessage = errors.New("membership: malformed message")
)
