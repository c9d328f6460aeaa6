package wire

import "errors"

// Errors of encoding and decoding. Decoders wrap them with what was wrong
// and where; test with errors.Is.
var (
	// ErrUnknownType: the type byte names no message this version knows.
	ErrUnknownType = errors.New("wire: unknown message type")
	// ErrTruncated: the body ends inside a message, or a length prefix is
	// larger than what is left.
	ErrTruncated = errors.New("wire: truncated message")
	// ErrMalformed: a field of the wrong type or shape, too few fields, or
	// bytes after the message.
	ErrMalformed = errors.New("wire: malformed message")
	// ErrEncode: a message that cannot be encoded (an actor meta value that
	// is not a scalar, a field too large for msgpack, an invalid payload).
	ErrEncode = errors.New("wire: cannot encode message")
)
