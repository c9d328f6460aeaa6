package runtimetest

import (
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Errors of the harness itself.
var (
	// ErrEnvExpired is returned by an Env used after the Step it was passed
	// to has returned (the harness also fails the test).
	ErrEnvExpired = proc.NewError(proc.KindInternal, "runtimetest: env used outside its step", msg.False)
	// ErrNoEntry is returned by a Spawn whose request has neither an entry id
	// nor a behaviour: no runtime could start it.
	ErrNoEntry = proc.NewError(proc.KindInvalid, "runtimetest: spawn request has no entry and no behavior", msg.False)
)

// Errors the runtime returns to processes, with the same kinds and messages
// as the runtime package's (errors.Is matches proc.Errors by both), so a
// behaviour's error handling sees here what it sees on a node. A test in
// this package checks them against the runtime's values.
var (
	errBadTopic    = proc.NewError(proc.KindInvalid, "topic must be a non-empty string not starting with @", msg.False)
	errBadName     = proc.NewError(proc.KindInvalid, "name must be 1 to 1024 bytes", msg.False)
	errBadScope    = proc.NewError(proc.KindInvalid, "unknown name scope", msg.False)
	errNoCluster   = proc.NewError(proc.KindUnavailable, "no cluster: cluster-wide names need a clustered node", msg.False)
	errRemoteName  = proc.NewError(proc.KindInvalid, "a local name must name a local process", msg.False)
	errDeadProcess = proc.NewError(proc.KindNotFound, "no process", msg.False)
)

// errNameNotFound and errNameTaken are the runtime's per-name errors: they
// carry the name, so they match the runtime's by kind, not with errors.Is.
func errNameNotFound(name string) error {
	return proc.Errorf(proc.KindNotFound, msg.False, "name not found: %s", name)
}

func errNameTaken(name string) error {
	return proc.Errorf(proc.KindAlreadyExists, msg.False, "name already registered: %s", name)
}

func errNotHolder(name string, why error) error {
	return proc.Errorf(proc.KindPermissionDenied, msg.False, "the name is held by another process: %s: %w", name, why)
}

// checkName is the runtime's check of a name and scope.
func checkName(name string, scope proc.Scope) error {
	if !proc.ValidName(name) {
		return errBadName
	}
	if !scope.Valid() {
		return errBadScope
	}
	return nil
}
