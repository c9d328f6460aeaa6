package registry

import (
	"errors"
	"fmt"
)

// Errors of the cluster-wide name table. Implementations return these (or
// errors wrapping them); test with errors.Is. The Wippy error kind each one
// maps to is given in the package documentation.
var (
	// ErrNotFound: no process holds the name.
	ErrNotFound = errors.New("registry: name not found")
	// ErrAlreadyExists: the name is held by another process (first write wins).
	ErrAlreadyExists = errors.New("registry: name already registered")
	// ErrNotOwner: unregister of a name held by another process.
	ErrNotOwner = errors.New("registry: not the owner of the name")
	// ErrInvalidName: an empty name or one longer than MaxNameLen bytes.
	ErrInvalidName = errors.New("registry: invalid name")
	// ErrInvalidPID: a PID without node, host or sequence, or with a node or
	// host longer than MaxNodeLen or MaxHostLen bytes.
	ErrInvalidPID = errors.New("registry: invalid pid")
	// ErrUnavailable: the table cannot be changed or read linearizably now,
	// typically because this node is not part of a quorum. Retryable.
	ErrUnavailable = errors.New("registry: unavailable")
	// ErrNoClusterRegistry: the node runs without a cluster-wide table
	// (standalone, or Raft disabled). It wraps ErrUnavailable but, unlike
	// it, is not worth retrying.
	ErrNoClusterRegistry = fmt.Errorf("%w: no cluster registry", ErrUnavailable)
	// ErrUnknownOutcome: a change was proposed but not confirmed before the
	// deadline; it may or may not have been committed. It wraps
	// ErrUnavailable, which is what a caller that does not care sees. After
	// a Register with this outcome the implementation removes the name
	// again, conditionally on the PID (see the fsm package).
	ErrUnknownOutcome = fmt.Errorf("%w: outcome unknown", ErrUnavailable)
	// ErrWatchLagged: a watcher fell too far behind and was dropped so that
	// it could not slow the table down. Watch again to resynchronise.
	ErrWatchLagged = errors.New("registry: watcher fell behind")
	// ErrClosed: the registry has been stopped.
	ErrClosed = errors.New("registry: closed")
)
