package proc

import (
	"errors"
	"fmt"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Error kinds, as Wippy names them. They are strings so that they travel
// unchanged to Lua (errors.NOT_FOUND == "NOT_FOUND").
const (
	KindUnknown          = "UNKNOWN"
	KindInvalid          = "INVALID"
	KindNotFound         = "NOT_FOUND"
	KindAlreadyExists    = "ALREADY_EXISTS"
	KindPermissionDenied = "PERMISSION_DENIED"
	KindTimeout          = "TIMEOUT"
	KindCanceled         = "CANCELED"
	KindUnavailable      = "UNAVAILABLE"
	KindInternal         = "INTERNAL"
	KindConflict         = "CONFLICT"
	KindRateLimited      = "RATE_LIMITED"
)

// Error is a Wippy-style error object: a kind, a message, a three-valued
// retryable flag and optional details. Exit reasons are Errors.
//
// Errors compare with errors.Is by kind and message (see Is), so
// errors.Is(err, ErrTerminated) holds for any "terminated" exit.
type Error struct {
	Kind      string
	Message   string
	Retryable msg.Tri
	Details   msg.Value
	cause     error
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the wrapped cause, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is matches another *Error with the same kind and message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Message == e.Message
}

// NewError returns an Error of the given kind.
func NewError(kind, message string, retryable msg.Tri) *Error {
	return &Error{Kind: kind, Message: message, Retryable: retryable}
}

// Errorf returns an Error of the given kind with a formatted message; a %w
// verb records the cause for errors.Is/As.
func Errorf(kind string, retryable msg.Tri, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Retryable: retryable, cause: errors.Unwrap(err)}
}

// Exit reasons the runtime makes (SPEC section 3).
var (
	// ErrTerminated ends a process that was terminated or killed.
	ErrTerminated = NewError(KindCanceled, "terminated", msg.False)
	// ErrNoConnection ends links and monitors to a process on an unreachable node.
	ErrNoConnection = NewError(KindUnavailable, "noconnection", msg.True)
	// ErrNoProcess is the result of monitoring or linking a dead PID.
	ErrNoProcess = NewError(KindNotFound, "no process", msg.False)
)

// LinkDown is the exit reason of a process killed because a linked process
// failed. Its retryable flag is unknown (nil in Lua).
func LinkDown(from pid.PID) *Error {
	return &Error{Kind: KindCanceled, Message: "link down: " + from.String()}
}

// IsLinkDown reports whether err is a link-down exit reason.
func IsLinkDown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == KindCanceled && len(e.Message) > 11 && e.Message[:11] == "link down: "
}

// Panic is the exit reason of a behaviour that panicked.
func Panic(v any) *Error {
	return &Error{Kind: KindInternal, Message: fmt.Sprintf("panic: %v", v), Retryable: msg.Unknown}
}

// AsError converts any error to an *Error: an *Error anywhere in the chain is
// returned as is; any other error becomes UNKNOWN with its text.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindUnknown, Message: err.Error(), cause: err}
}

// Value converts e to a payload value, so an error travels in messages and
// across nodes.
func (e *Error) Value() msg.Value {
	return msg.Error(msg.ErrorValue{Kind: e.Kind, Message: e.Message, Retryable: e.Retryable, Details: e.Details})
}

// ErrorFromValue converts an error payload value back to an *Error.
func ErrorFromValue(v msg.ErrorValue) *Error {
	kind := v.Kind
	if kind == "" {
		kind = KindUnknown
	}
	return &Error{Kind: kind, Message: v.Message, Retryable: v.Retryable, Details: v.Details}
}

// ExitReason names the reason of an exit for counters and logs: "normal",
// "terminated", "link_down", "noconnection", "no_process", "panic" or "error".
func ExitReason(err error) string {
	if err == nil {
		return "normal"
	}
	e := AsError(err)
	switch {
	case e.Is(ErrTerminated):
		return "terminated"
	case e.Is(ErrNoConnection):
		return "noconnection"
	case e.Is(ErrNoProcess):
		return "no_process"
	case IsLinkDown(e):
		return "link_down"
	case e.Kind == KindInternal && len(e.Message) >= 6 && e.Message[:6] == "panic:":
		return "panic"
	}
	return "error"
}
