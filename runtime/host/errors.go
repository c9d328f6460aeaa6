package host

import "errors"

var (
	// ErrPermissionDenied is what every denied check wraps (as a
	// *DeniedError naming the action and resource). The runtime turns it
	// into a PERMISSION_DENIED error object.
	ErrPermissionDenied = errors.New("host: permission denied")

	// ErrInvalidPolicy is returned by NewPolicy for a policy that cannot be
	// evaluated: no actions or resources, a bad pattern, an unknown effect,
	// or a bad condition.
	ErrInvalidPolicy = errors.New("host: invalid policy")

	// ErrUnknownPolicy is returned by Resolve for a policy id that is not
	// defined.
	ErrUnknownPolicy = errors.New("host: unknown policy")

	// ErrUnknownGroup is returned by Resolve for a policy group that no
	// policy belongs to.
	ErrUnknownGroup = errors.New("host: unknown policy group")
)
