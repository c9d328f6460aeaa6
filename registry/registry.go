package registry

import (
	"context"
	"strconv"

	"github.com/wippyd/wippyd/runtime/pid"
)

// Registry is the cluster-wide (CONSISTENT scope) name table.
//
// Every method returns within ctx's deadline. Without a quorum the changing
// methods and Lookup fail with ErrUnavailable (or ErrUnknownOutcome when a
// change was proposed but not confirmed); on a node without a cluster
// registry every method fails with ErrNoClusterRegistry.
type Registry interface {
	// Register gives name to p. First write wins: a name held by another
	// PID fails with ErrAlreadyExists; registering a name p already holds
	// succeeds and changes nothing. A PID may hold several names.
	Register(ctx context.Context, name string, p pid.PID) error
	// Unregister releases name if owner holds it: ErrNotFound when nobody
	// does, ErrNotOwner when another PID does.
	Unregister(ctx context.Context, name string, owner pid.PID) error
	// Lookup returns the holder of name, linearizably (it observes every
	// change committed before the call started): ErrNotFound if none.
	Lookup(ctx context.Context, name string) (pid.PID, error)
	// List returns every entry, sorted by name, as of one log index.
	List(ctx context.Context) ([]Entry, error)
	// Watch subscribes to changes; see Watcher. The watcher also stops
	// when ctx ends.
	Watch(ctx context.Context) (Watcher, error)
}

// Watcher is a subscription to the changes of a Registry.
//
// Events first replays the table as it stands when Watch returns: one
// EventRegistered with CauseSync per name, in name order, each carrying the
// index the table was at. Then it delivers every later change in log order,
// so Index never decreases and a consumer that applies the events in order
// holds an exact copy of the table. A watcher that does not keep up is
// stopped with ErrWatchLagged rather than slowing the registry down.
type Watcher interface {
	// Events delivers the changes. It is closed when the watcher stops.
	Events() <-chan Event
	// Err is nil while the watcher runs. Once Events is closed it says
	// why: ErrWatchLagged, ErrClosed (Stop, or the registry stopped), or
	// the error of the context given to Watch.
	Err() error
	// Stop ends the subscription and closes Events. It may be called any
	// number of times, from any goroutine.
	Stop()
}

// Entry is one name of the table.
type Entry struct {
	Name string
	PID  pid.PID
	// Index is the log index of the Register command that created the
	// entry. Re-registering the same name to the same PID does not change it.
	Index uint64
	// Strong: the name is of the STRONG scope. Pending: it is a STRONG
	// reservation that every live node has not acknowledged yet (it
	// resolves already; it becomes active, or is aborted by Deadline,
	// Unix nanoseconds, after which the leader removes it).
	Strong, Pending bool
	Deadline        int64
}

// Event is one change of the table.
type Event struct {
	Kind  EventKind
	Cause Cause
	Name  string
	// PID is the holder the name was given to (EventRegistered,
	// EventActivated) or taken from (EventUnregistered).
	PID pid.PID
	// Strong: the name is of the STRONG scope (a reservation when
	// registered, active from its EventActivated on).
	Strong bool
	// Index is the log index at which the change took effect: the index of
	// the command, or of the snapshot for CauseRestore, or the table's index
	// at subscription time for CauseSync.
	Index uint64
}

// EventKind says whether a name was given or taken away.
type EventKind uint8

// Event kinds. Stable numbers: they may cross the wire.
const (
	EventRegistered   EventKind = 1
	EventUnregistered EventKind = 2
	// EventActivated: a STRONG reservation, acknowledged by every live
	// node, became active. The name had its EventRegistered already.
	EventActivated EventKind = 3
)

func (k EventKind) String() string {
	switch k {
	case EventRegistered:
		return "registered"
	case EventUnregistered:
		return "unregistered"
	case EventActivated:
		return "activated"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Cause says what made a change.
type Cause uint8

// Causes. Stable numbers: they may cross the wire.
const (
	// CauseRequest: an explicit register or unregister (including the
	// conditional unregister that follows an unknown outcome).
	CauseRequest Cause = 1
	// CauseExit: the holder ended and its names were released.
	CauseExit Cause = 2
	// CauseNodeDown: the holder's node was declared dead or left, and all
	// of its names were released. A holder that is in fact still running
	// gets CANCEL with reason "name revoked: <name>".
	CauseNodeDown Cause = 3
	// CauseRestore: the replica installed a snapshot; the event is part of
	// the difference between the table before and after.
	CauseRestore Cause = 4
	// CauseSync: the replay of the current table that starts a Watcher.
	CauseSync Cause = 5
)

func (c Cause) String() string {
	switch c {
	case CauseRequest:
		return "request"
	case CauseExit:
		return "exit"
	case CauseNodeDown:
		return "node down"
	case CauseRestore:
		return "restore"
	case CauseSync:
		return "sync"
	}
	return "Cause(" + strconv.Itoa(int(c)) + ")"
}
