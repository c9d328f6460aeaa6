package fsm

import "errors"

var (
	// ErrBadCommand: DecodeCommand was given bytes that are not a command
	// (unknown op, wrong shape, trailing bytes, out-of-limit fields), or
	// EncodeCommand/Apply a command with an invalid name or PID. It is
	// wrapped with the detail, and with registry.ErrInvalidName or
	// registry.ErrInvalidPID when a field is out of limits.
	ErrBadCommand = errors.New("fsm: malformed command")
	// ErrBadSnapshot: Restore was given bytes that are not a snapshot.
	// The table is unchanged.
	ErrBadSnapshot = errors.New("fsm: malformed snapshot")
	// ErrStaleIndex: Apply was given an index not greater than Index(). The
	// command is not applied. Raft never does this; seeing it is a bug in
	// the caller.
	ErrStaleIndex = errors.New("fsm: index not after the last applied one")
)
