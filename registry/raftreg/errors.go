package raftreg

import (
	"errors"

	"github.com/wippyd/wippyd/registry"
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

// Every error a Registry method returns is a *proc.Error (registry.Wrap).
func wrap(err error, name string) error { return registry.Wrap(err, name) }
