package cluster

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// ErrConfig wraps every Config.Validate failure.
var ErrConfig = errors.New("cluster: invalid config")

// Errors returned to processes (proc.Error kinds, SPEC section 10).
var (
	// ErrUnknownNode: a remote spawn on a node never seen.
	ErrUnknownNode = proc.NewError(proc.KindNotFound, "unknown node", msg.False)
	// ErrUnreachable: a remote spawn on a node that is known but down or
	// not reachable now.
	ErrUnreachable = proc.NewError(proc.KindUnavailable, "node unreachable", msg.True)
	// ErrSpawnTimeout: a remote spawn got no reply within
	// Config.SpawnTimeout; whether the child started is unknown.
	ErrSpawnTimeout = proc.NewError(proc.KindTimeout, "remote spawn timed out", msg.True)
	// ErrRemoteBehavior: a spawn request with a Go behaviour, which cannot
	// travel to another node.
	ErrRemoteBehavior = proc.NewError(proc.KindInvalid, "a Go behaviour cannot be spawned on another node", msg.False)
	// ErrTooLarge: an envelope or spawn request larger than the transport's
	// max frame.
	ErrTooLarge = proc.NewError(proc.KindInvalid, "message too large for the internode transport", msg.False)
	// ErrEncode: a payload or actor that cannot be encoded for the wire.
	ErrEncode = proc.NewError(proc.KindInvalid, "cannot encode for another node", msg.False)
	// ErrStopped: the cluster was stopped.
	ErrStopped = proc.NewError(proc.KindUnavailable, "cluster stopped", msg.False)
)
