package msg

import "errors"

// Errors of building, encoding and decoding values. Decode wraps them with
// the offset and the length or code at fault; test with errors.Is.
var (
	// ErrTooDeep is returned when a value nests deeper than MaxDepth.
	ErrTooDeep = errors.New("msg: value nested deeper than 64 levels")
	// ErrKey is returned for a map key that is neither a string nor an integer.
	ErrKey = errors.New("msg: map key must be a string or an integer")
	// ErrDupKey is returned when encoded input holds the same map key twice.
	ErrDupKey = errors.New("msg: duplicate map key")
	// ErrTruncated is returned when the input ends inside a value.
	ErrTruncated = errors.New("msg: unexpected end of input")
	// ErrLength is returned for a length prefix (str, bin, array, map, ext)
	// that the remaining input cannot hold.
	ErrLength = errors.New("msg: length prefix larger than remaining input")
	// ErrIntRange is returned for an encoded integer above math.MaxInt64.
	ErrIntRange = errors.New("msg: integer out of int64 range")
	// ErrType is returned for a msgpack type that no Value kind maps to.
	ErrType = errors.New("msg: unsupported msgpack type")
	// ErrExt is returned for an ext type code other than ExtPID and ExtError.
	ErrExt = errors.New("msg: unknown ext type")
	// ErrMalformed is returned for a PID or error body of the wrong shape, an
	// ext body whose content does not fill its length exactly, or a Tri
	// outside Unknown, False and True.
	ErrMalformed = errors.New("msg: malformed value")
	// ErrTrailing is returned by Unmarshal when bytes follow the value.
	ErrTrailing = errors.New("msg: trailing bytes after value")
	// ErrTooLarge is returned when encoding a string, bytes, list or map
	// longer than msgpack's limit of 2^32-1.
	ErrTooLarge = errors.New("msg: value too large for msgpack")
	// ErrBudget is returned when decoding would allocate more than
	// DecodeBudget of the input's size, and by the encoders for a value
	// that decoding would refuse so.
	ErrBudget = errors.New("msg: decoded value would exceed the memory budget")
	// ErrSource is returned by Decode for a msgpack.Decoder whose reader does
	// not report how many bytes are left.
	ErrSource = errors.New("msg: decoder source must report its length")
)
