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
	// is not in the set, and by Manager.Restart for an id it does not know.
	ErrUnknownService = errors.New("supervisor: unknown service")

	// ErrInvalidConfig is returned by NewManager and NewWatcher for a
	// config they cannot use; the wrapping error says what is wrong.
	ErrInvalidConfig = errors.New("supervisor: invalid config")

	// ErrStarted is returned by a second Manager.Start.
	ErrStarted = errors.New("supervisor: already started")

	// ErrStopped is returned by a Manager that is stopping or stopped, and
	// by a Watcher whose process has ended (or was never started).
	ErrStopped = errors.New("supervisor: stopped")

	// ErrStopTimeout is returned by Manager.Stop when its context ended
	// before every service stopped; the services still alive were then
	// terminated.
	ErrStopTimeout = errors.New("supervisor: stop timed out")

	// ErrWatcherTimeout is the start error of a service whose spawn the
	// watcher process did not take within WatcherConfig.SpawnTimeout. Its
	// retryable flag is unknown, so the service is restarted with back-off.
	ErrWatcherTimeout = errors.New("supervisor: watcher did not answer")
)
