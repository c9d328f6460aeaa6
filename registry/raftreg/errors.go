package raftreg

import (
	"errors"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

var (
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("raftreg: invalid config")
	// ErrStarted: Start called twice, or after Close.
	ErrStarted = errors.New("raftreg: already started")
	// ErrStoreDamaged: Start found raft.db unreadable: not a regular file,
	// empty, truncated, or failing bbolt's consistency check. An operator
	// must restore or remove it.
	ErrStoreDamaged = errors.New("raftreg: raft.db is damaged")
	// ErrStateLost: Start found no Raft state on a node whose data dir
	// says it has been part of a cluster. It refuses to rejoin empty.
	ErrStateLost = errors.New("raftreg: raft state lost")
)

// Every error a Registry method returns is a *proc.Error (the kind the
// runtime and Lua see) whose cause is the registry sentinel, so both
// errors.Is(err, registry.ErrAlreadyExists) and proc.AsError(err).Kind ==
// proc.KindAlreadyExists hold. The mapping is the one of the registry
// package documentation.

// kindOf returns the error kind and retryable flag of a registry error.
func kindOf(err error) (string, msg.Tri) {
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return proc.KindNotFound, msg.False
	case errors.Is(err, registry.ErrAlreadyExists):
		return proc.KindAlreadyExists, msg.False
	case errors.Is(err, registry.ErrNotOwner):
		return proc.KindPermissionDenied, msg.False
	case errors.Is(err, registry.ErrInvalidName), errors.Is(err, registry.ErrInvalidPID):
		return proc.KindInvalid, msg.False
	case errors.Is(err, registry.ErrNoClusterRegistry), errors.Is(err, registry.ErrClosed):
		return proc.KindUnavailable, msg.False
	case errors.Is(err, registry.ErrUnavailable):
		return proc.KindUnavailable, msg.True
	}
	return proc.KindInternal, msg.Unknown
}

// wrap turns a registry error about name (may be empty) into the
// *proc.Error callers get.
func wrap(err error, name string) error {
	if err == nil {
		return nil
	}
	kind, retry := kindOf(err)
	if name == "" {
		return proc.Errorf(kind, retry, "%w", err)
	}
	return proc.Errorf(kind, retry, "%w: %s", err, name)
}
