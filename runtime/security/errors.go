package security

import "errors"

var (
	// ErrPermissionDenied is what every refusal wraps (as a *DeniedError
	// naming the action and resource when a policy decided). The runtime
	// turns it into a PERMISSION_DENIED error object.
	ErrPermissionDenied = errors.New("security: permission denied")

	// ErrInvalidPolicy is returned by Compile for a policy that cannot be
	// evaluated: no actions or resources, a bad pattern, an unknown effect,
	// or a bad condition.
	ErrInvalidPolicy = errors.New("security: invalid policy")

	// ErrUnknownPolicy is returned by Resolve for a policy id that is not
	// defined.
	ErrUnknownPolicy = errors.New("security: unknown policy")

	// ErrUnknownGroup is returned by Resolve for a policy group that no
	// policy belongs to.
	ErrUnknownGroup = errors.New("security: unknown policy group")
)
