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
	// ErrStoreDamaged: Start found the Raft store (DataDir/<Node>/, or
	// the raft.db it was to migrate) damaged: a file missing, truncated,
	// not what it should be, failing bbolt's consistency check or a
	// segment's checksums. The message names the file. An operator must
	// restore or remove the store.
	ErrStoreDamaged = errors.New("raftreg: the Raft store is damaged")
	// ErrStateLost: Start found no Raft state on a node whose data dir
	// says it has been part of a cluster. It refuses to rejoin empty.
	ErrStateLost = errors.New("raftreg: raft state lost")
)

// Every error a Registry method returns is a *proc.Error (registry.Wrap).
func wrap(err error, name string) error { return registry.Wrap(err, name) }
