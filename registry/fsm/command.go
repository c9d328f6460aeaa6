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
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Command is one change to the table, as replicated through the log. The
// set of commands is closed: the values (not pointers) Register,
// Unregister, UnregisterIfOwned, ReleasePID and ReleaseNode. Anything else
// is refused with ErrBadCommand.
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

// Unregister releases Name if Owner holds it: registry.ErrNotFound when
// nobody does, registry.ErrNotOwner when another PID does.
type Unregister struct {
	Name  string
	Owner pid.PID
}

// UnregisterIfOwned releases Name if Owner holds it and otherwise does
// nothing, without an error. It follows a Register whose outcome is unknown
// (the proposal timed out), so that the name is either held by its rightful
// first writer or free, never held by a caller that was told it failed.
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

func (c Register) validate() error          { return validateNamePID(c.Name, c.PID) }
func (c Unregister) validate() error        { return validateNamePID(c.Name, c.Owner) }
func (c UnregisterIfOwned) validate() error { return validateNamePID(c.Name, c.Owner) }
func (c ReleasePID) validate() error        { return registry.ValidatePID(c.PID) }
func (c ReleaseNode) validate() error       { return registry.ValidateNode(c.Node) }

// check returns nil for a valid command of one of the five value types, and
// an error wrapping ErrBadCommand otherwise (nil, a pointer to a command,
// fields out of limits).
func check(c Command) error {
	switch c.(type) {
	case Register, Unregister, UnregisterIfOwned, ReleasePID, ReleaseNode:
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
// fields (a name and a PID) with their msgpack headers.
const MaxCommandSize = 1 + (3 + registry.MaxNameLen) + (3 + registry.MaxNodeLen) + (3 + registry.MaxHostLen) + 9

// EncodeCommand returns the wire form of c: the op byte, then its fields as
// msgpack values in their shortest form, in this order:
//
//	Register, Unregister, UnregisterIfOwned:  name, node, host, seq
//	ReleasePID:                               node, host, seq
//	ReleaseNode:                              node
//
// Names and node/host are msgpack strings, seq an unsigned integer. There is
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
