// Package registry declares the cluster-wide name tables of wippyd (the
// cluster scopes of SPEC section 9): the Registry interface, the values it
// deals in (Entry, Event), its errors, their Wippy error kinds (Wrap) and
// the limits every replica checks.
//
// The Raft table (CONSISTENT and STRONG) is the deterministic state
// machine in registry/fsm; the Raft glue that replicates it, forwards
// changes to the leader, runs the STRONG acknowledgements and serves
// linearizable lookups is registry/raftreg. EVENTUAL names are
// registry/eventual. This package has no state and starts no goroutine,
// so it is safe for concurrent use.
//
// # Rules
//
//   - One name maps to one PID; a PID may hold several names.
//   - First write wins: registering a name held by another PID fails with
//     ErrAlreadyExists; registering it again to the same PID is a no-op.
//   - Only the holder may unregister a name (ErrNotOwner otherwise).
//   - Names of a process are released when it ends; names of a node are
//     released when membership declares it dead or left.
//   - Names are 1 to MaxNameLen bytes of any content; the holder must be a
//     PID with a node (ValidatePID).
//
// # Errors
//
// The errors map to Wippy error kinds as follows:
//
//	ErrNotFound                       NOT_FOUND
//	ErrAlreadyExists                  ALREADY_EXISTS
//	ErrNotOwner                       PERMISSION_DENIED
//	ErrInvalidName, ErrInvalidPID     INVALID
//	ErrUnavailable                    UNAVAILABLE, retryable
//	ErrUnknownOutcome                 UNAVAILABLE, retryable (wraps ErrUnavailable)
//	ErrNoClusterRegistry              UNAVAILABLE, not retryable (wraps ErrUnavailable)
//	ErrClosed                         UNAVAILABLE, not retryable
//
// ErrWatchLagged only ever comes from Watcher.Err.
package registry
