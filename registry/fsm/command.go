package fsm

import (
	"fmt"
	"strconv"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Op identifies a command kind. It is the first byte of an encoded command
// and is stored in Raft logs: values are never renumbered or reused. A
// command whose meaning or fields change becomes a new Op.
type Op uint8

// Ops.
const (
	OpRegister          Op = 1
	OpUnregister        Op = 2
	OpUnregisterIfOwned Op = 3
	OpReleasePID        Op = 4
	OpReleaseNode       Op = 5
	// OpBatch is the first byte of a batch (EncodeBatch): several commands
	// in one log entry. It is not a command: DecodeCommand refuses it.
	OpBatch Op = 6
	// The STRONG scope's commands.
	OpReserve          Op = 7
	OpActivate         Op = 8
	OpAbort            Op = 9
	OpUnregisterStrong Op = 10
)

func (o Op) String() string {
	switch o {
	case OpRegister:
		return "register"
	case OpUnregister:
		return "unregister"
	case OpUnregisterIfOwned:
		return "unregister-if-owned"
	case OpReleasePID:
		return "release-pid"
	case OpReleaseNode:
		return "release-node"
	case OpBatch:
		return "batch"
	case OpReserve:
		return "reserve"
	case OpActivate:
		return "activate"
	case OpAbort:
		return "abort"
	case OpUnregisterStrong:
		return "unregister-strong"
	case OpLockAcquire:
		return "lock-acquire"
	case OpLockRelease:
		return "lock-release"

	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Command is one change to the table, as replicated through the log. The
// set of commands is closed: the values (not pointers) Register,
// Unregister, UnregisterIfOwned, ReleasePID, ReleaseNode, Reserve,
// Activate, Abort and UnregisterStrong. Anything else is refused with
// ErrBadCommand.
type Command interface {
	Op() Op
	// validate checks the fields against the registry limits.
	validate() error
}

// Register gives Name to PID. First write wins: a name held by another PID
// fails with registry.ErrAlreadyExists, a name PID already holds is a no-op.
type Register struct {
	Name string
	PID  pid.PID
}

// Unregister releases the CONSISTENT name Name if Owner holds it:
// registry.ErrNotFound when nobody holds it in that scope,
// registry.ErrNotOwner when another PID does.
type Unregister struct {
	Name  string
	Owner pid.PID
}

// UnregisterIfOwned releases Name, in any scope, if Owner holds it and
// otherwise does nothing, without an error. It follows a Register (or a
// STRONG registration) whose outcome is unknown (the proposal timed out),
// so that the name is either held by its rightful first writer or free,
// never held by a caller that was told it failed.
type UnregisterIfOwned struct {
	Name  string
	Owner pid.PID
}

// ReleasePID releases every name PID holds: the process ended. Releasing a
// PID without names is a no-op.
type ReleasePID struct {
	PID pid.PID
}

// ReleaseNode releases every name held by a PID of Node: membership
// declared the node dead or left. Result.Changes lists the released names
// in name order, so the leader can cancel holders that are still alive.
type ReleaseNode struct {
	Node string
}

// Reserve opens a STRONG reservation of Name for PID: first write wins
// against every name of the table, as Register. The reservation resolves
// at once but is pending until Activate; Deadline (Unix nanoseconds, the
// proposer's) is when the leader may Abort it. Reserving a name PID already
// holds in the STRONG scope changes nothing (Result.Active tells whether
// it is active already).
type Reserve struct {
	Name     string
	PID      pid.PID
	Deadline uint64
}

// Activate makes PID's pending reservation of Name active: every live node
// acknowledged it. registry.ErrNotFound when PID holds no STRONG
// reservation of Name any more (aborted, released); a no-op when it is
// active already.
type Activate struct {
	Name string
	PID  pid.PID
}

// Abort removes PID's reservation of Name if it is still pending, and
// otherwise does nothing, without an error: the acknowledgements did not
// come, or the reservation outlived its deadline.
type Abort struct {
	Name string
	PID  pid.PID
}

// UnregisterStrong releases the STRONG name Name (active or pending) if
// Owner holds it: registry.ErrNotFound when nobody holds it in that
// scope, registry.ErrNotOwner when another PID does.
type UnregisterStrong struct {
	Name  string
	Owner pid.PID
}

// Op implements Command.
func (Register) Op() Op { return OpRegister }

// Op implements Command.
func (Unregister) Op() Op { return OpUnregister }

// Op implements Command.
func (UnregisterIfOwned) Op() Op { return OpUnregisterIfOwned }

// Op implements Command.
func (ReleasePID) Op() Op { return OpReleasePID }

// Op implements Command.
func (ReleaseNode) Op() Op { return OpReleaseNode }

// Op implements Command.
func (Reserve) Op() Op { return OpReserve }

// Op implements Command.
func (Activate) Op() Op { return OpActivate }

// Op implements Command.
func (Abort) Op() Op { return OpAbort }

// Op implements Command.
func (UnregisterStrong) Op() Op { return OpUnregisterStrong }

func (c Register) validate() error          { return validateNamePID(c.Name, c.PID) }
func (c Unregister) validate() error        { return validateNamePID(c.Name, c.Owner) }
func (c UnregisterIfOwned) validate() error { return validateNamePID(c.Name, c.Owner) }
func (c ReleasePID) validate() error        { return registry.ValidatePID(c.PID) }
func (c ReleaseNode) validate() error       { return registry.ValidateNode(c.Node) }
func (c Reserve) validate() error           { return validateNamePID(c.Name, c.PID) }
func (c Activate) validate() error          { return validateNamePID(c.Name, c.PID) }
func (c Abort) validate() error             { return validateNamePID(c.Name, c.PID) }
func (c UnregisterStrong) validate() error  { return validateNamePID(c.Name, c.Owner) }

// check returns nil for a valid command of one of the value types, and
// an error wrapping ErrBadCommand otherwise (nil, a pointer to a command,
// fields out of limits).
func check(c Command) error {
	switch c.(type) {
	case Register, Unregister, UnregisterIfOwned, ReleasePID, ReleaseNode, Reserve, Activate, Abort, UnregisterStrong,
		LockAcquire, LockRelease:
	case nil:
		return fmt.Errorf("%w: nil command", ErrBadCommand)
	default:
		return fmt.Errorf("%w: unsupported command type %T", ErrBadCommand, c)
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadCommand, c.Op(), err)
	}
	return nil
}

func validateNamePID(name string, p pid.PID) error {
	if err := registry.ValidateName(name); err != nil {
		return err
	}
	return registry.ValidatePID(p)
}

// MaxCommandSize bounds an encoded command: the op byte, then the largest
// fields (a name, a PID and a deadline) with their msgpack headers.
const MaxCommandSize = 1 + (3 + registry.MaxNameLen) + (3 + registry.MaxNodeLen) + (3 + registry.MaxHostLen) + 9 + 9

// EncodeCommand returns the wire form of c: the op byte, then its fields as
// msgpack values in their shortest form, in this order:
//
//	Register, Unregister, UnregisterIfOwned,
//	Activate, Abort, UnregisterStrong:        name, node, host, seq
//	Reserve:                                  name, node, host, seq, deadline
//	ReleasePID:                               node, host, seq
//	ReleaseNode:                              node
//	LockAcquire, LockRelease:                 name, node, host, seq
//
// Names and node/host are msgpack strings, seq and deadline unsigned
// integers. There is
// no array header and no field tags: the op fixes the shape. A command with
// fields out of limits is refused with ErrBadCommand.
func EncodeCommand(c Command) ([]byte, error) {
	if err := check(c); err != nil {
		return nil, err
	}
	w := newWriter(32)
	w.raw(byte(c.Op()))
	switch c := c.(type) {
	case Register:
		w.str(c.Name)
		w.pid(c.PID)
	case Unregister:
		w.str(c.Name)
		w.pid(c.Owner)
	case UnregisterIfOwned:
		w.str(c.Name)
		w.pid(c.Owner)
	case ReleasePID:
		w.pid(c.PID)
	case ReleaseNode:
		w.str(c.Node)
	case Reserve:
		w.str(c.Name)
		w.pid(c.PID)
		w.uint(c.Deadline)
	case Activate:
		w.str(c.Name)
		w.pid(c.PID)
	case Abort:
		w.str(c.Name)
		w.pid(c.PID)
	case UnregisterStrong:
		w.str(c.Name)
		w.pid(c.Owner)
	case LockAcquire:
		w.str(c.Name)
		w.pid(c.PID)
	case LockRelease:
		w.str(c.Name)
		w.pid(c.Owner)
	}
	return w.bytes()
}

// DecodeCommand parses the wire form written by EncodeCommand. It is safe on
// hostile input: it never panics, refuses inputs over MaxCommandSize before
// reading them, checks every length against the bytes left before
// allocating, and accepts only the exact form EncodeCommand writes (shortest
// encodings, no trailing bytes), so a decoded command re-encodes to the very
// same bytes. Any failure wraps ErrBadCommand.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadCommand)
	}
	if len(b) > MaxCommandSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadCommand, len(b), MaxCommandSize)
	}
	op := Op(b[0])
	r := newReader(b[1:])
	var c Command
	switch op {
	case OpRegister:
		c = Register{Name: r.str(registry.MaxNameLen), PID: r.pid()}
	case OpUnregister:
		c = Unregister{Name: r.str(registry.MaxNameLen), Owner: r.pid()}
	case OpUnregisterIfOwned:
		c = UnregisterIfOwned{Name: r.str(registry.MaxNameLen), Owner: r.pid()}
	case OpReleasePID:
		c = ReleasePID{PID: r.pid()}
	case OpReleaseNode:
		c = ReleaseNode{Node: r.str(registry.MaxNodeLen)}
	case OpReserve:
		c = Reserve{Name: r.str(registry.MaxNameLen), PID: r.pid(), Deadline: r.uint()}
	case OpActivate:
		c = Activate{Name: r.str(registry.MaxNameLen), PID: r.pid()}
	case OpAbort:
		c = Abort{Name: r.str(registry.MaxNameLen), PID: r.pid()}
	case OpUnregisterStrong:
		c = UnregisterStrong{Name: r.str(registry.MaxNameLen), Owner: r.pid()}
	case OpLockAcquire:
		c = LockAcquire{Name: r.str(registry.MaxNameLen), PID: r.pid()}
	case OpLockRelease:
		c = LockRelease{Name: r.str(registry.MaxNameLen), Owner: r.pid()}
	default:
		return nil, fmt.Errorf("%w: unknown op %d", ErrBadCommand, b[0])
	}
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadCommand, op, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadCommand, op, err)
	}
	return c, nil
}
