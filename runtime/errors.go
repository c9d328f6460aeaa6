package runtime

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Errors returned to processes carry Wippy error kinds (proc.Error).
var (
	// ErrNoRoute: no route to the node of a PID (standalone, or the node is down).
	ErrNoRoute = errors.New("runtime: no route to node")
	// ErrUnknownNode: a node name never seen. It wraps ErrNoRoute.
	ErrUnknownNode = proc.Errorf(proc.KindNotFound, msg.False, "unknown node: %w", ErrNoRoute)
	// ErrStopped: the runtime is stopping and takes no new processes.
	ErrStopped = proc.NewError(proc.KindUnavailable, "runtime stopped", msg.False)
	// ErrUnknownHost: spawn on a host that does not exist.
	ErrUnknownHost = proc.NewError(proc.KindNotFound, "unknown host", msg.False)
	// ErrHostFull: the host is at max_processes.
	ErrHostFull = proc.NewError(proc.KindUnavailable, "host is full", msg.True)
	// ErrHostQueueFull: the host's queue_size of not-yet-run spawns is reached.
	ErrHostQueueFull = proc.NewError(proc.KindUnavailable, "host spawn queue is full", msg.True)
	// ErrMailboxFull: the receiver's mailbox is at the host's max_mailbox.
	ErrMailboxFull = proc.NewError(proc.KindUnavailable, "mailbox full", msg.True)
	// ErrNameTaken: the name is registered to another process.
	ErrNameTaken = proc.NewError(proc.KindAlreadyExists, "name already registered", msg.False)
	// ErrNameNotFound: no process holds the name.
	ErrNameNotFound = proc.NewError(proc.KindNotFound, "name not found", msg.False)
	// ErrBadTopic: a topic that is empty or starts with '@'.
	ErrBadTopic = proc.NewError(proc.KindInvalid, "topic must be a non-empty string not starting with @", msg.False)
	// ErrBadName: an empty name, or one longer than proc.MaxNameLen bytes.
	ErrBadName = proc.NewError(proc.KindInvalid, "name must be 1 to 1024 bytes", msg.False)
	// ErrNoCatalog: spawn by entry id with no catalog configured.
	ErrNoCatalog = proc.NewError(proc.KindNotFound, "no entry catalog", msg.False)
	// ErrRemoteName: a local name cannot point at a process of another node.
	ErrRemoteName = proc.NewError(proc.KindInvalid, "a local name must name a local process", msg.False)
	// ErrDeadProcess: the process named has ended.
	ErrDeadProcess = proc.NewError(proc.KindNotFound, "no process", msg.False)
)
