package proc

import (
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/security"
)

// PermissionDenied turns a refusal (an error wrapping
// security.ErrPermissionDenied) into a PERMISSION_DENIED error object that
// wraps it.
func PermissionDenied(cause error) *Error {
	return &Error{Kind: KindPermissionDenied, Message: cause.Error(), Retryable: msg.False, cause: cause}
}

// Refusal is the error a process gets for a guard's answer: nil when
// allowed, otherwise a PERMISSION_DENIED error wrapping the refusal.
func Refusal(err error) error {
	if err == nil {
		return nil
	}
	return PermissionDenied(err)
}

// Security returns what the guard checks of r: the spawn actions, the
// child's name and the identity r sets.
func (r *SpawnRequest) Security() security.Spawn {
	return security.Spawn{
		Entry: r.Entry, Name: r.Name, Exec: r.Exec, Link: r.Link, Monitor: r.Monitor,
		System: r.System, Actor: r.Actor, Scope: r.Scope, ScopeIDs: r.ScopeIDs,
	}
}
