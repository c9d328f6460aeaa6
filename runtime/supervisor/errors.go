package supervisor

import "errors"

var (
	// ErrInvalidPolicy is returned by Policy.Validate (and New) for a restart
	// policy that cannot be used.
	ErrInvalidPolicy = errors.New("supervisor: invalid policy")

	// ErrIllegalTransition is returned when an event arrives in a state that
	// does not allow it (for example Exited for a service that is not
	// running). The tracker's state is unchanged.
	ErrIllegalTransition = errors.New("supervisor: illegal transition")

	// ErrStartTimeout is the error recorded for a run that did not reach
	// running within the start timeout.
	ErrStartTimeout = errors.New("supervisor: start timeout")

	// ErrCycle is returned by Order when services require each other; the
	// wrapping error names the cycle.
	ErrCycle = errors.New("supervisor: dependency cycle")

	// ErrUnknownService is returned by Order when a service requires one that
	// is not in the set.
	ErrUnknownService = errors.New("supervisor: unknown service")
)
