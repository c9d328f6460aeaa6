package registry

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Every error the name planes (registry/raftreg, registry/eventual) return
// to their callers is a *proc.Error (the kind the runtime and Lua see)
// whose cause is the registry sentinel, so both errors.Is(err,
// ErrAlreadyExists) and proc.AsError(err).Kind == proc.KindAlreadyExists
// hold. The mapping is the one of the package documentation.

// Kind returns the Wippy error kind and retryable flag of a registry error.
func Kind(err error) (string, msg.Tri) {
	switch {
	case errors.Is(err, ErrNotFound):
		return proc.KindNotFound, msg.False
	case errors.Is(err, ErrAlreadyExists):
		return proc.KindAlreadyExists, msg.False
	case errors.Is(err, ErrNotOwner):
		return proc.KindPermissionDenied, msg.False
	case errors.Is(err, ErrInvalidName), errors.Is(err, ErrInvalidPID):
		return proc.KindInvalid, msg.False
	case errors.Is(err, ErrNoClusterRegistry), errors.Is(err, ErrClosed):
		return proc.KindUnavailable, msg.False
	case errors.Is(err, ErrUnavailable):
		return proc.KindUnavailable, msg.True
	}
	return proc.KindInternal, msg.Unknown
}

// WrapHeld is Wrap for an ALREADY_EXISTS or PERMISSION_DENIED that names
// the process holding name (the zero PID: none known).
func WrapHeld(err error, name string, holder pid.PID) error {
	if err == nil || holder.IsZero() {
		return Wrap(err, name)
	}
	kind, retry := Kind(err)
	return proc.Errorf(kind, retry, "%w: %s (held by %v)", err, name, holder)
}

// Wrap turns a registry error about name (may be empty) into the
// *proc.Error callers get; nil stays nil.
func Wrap(err error, name string) error {
	if err == nil {
		return nil
	}
	kind, retry := Kind(err)
	if name == "" {
		return proc.Errorf(kind, retry, "%w", err)
	}
	return proc.Errorf(kind, retry, "%w: %s", err, name)
}
