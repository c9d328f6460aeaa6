package supervisor

import "fmt"

// State is a service's life-cycle state (SPEC section 3), plus Restarting
// for the back-off wait between a crash and the next start.
type State uint8

// The states of a service. The zero value is Stopped: a service that has not
// been started yet.
const (
	Stopped    State = iota // not running and not meant to run (initial, or after Stop)
	Starting                // process spawned; chunk loading, main not entered yet
	Running                 // main entered
	Stopping                // Stop requested; waiting for the process to end
	Exited                  // main returned normally; not restarted
	Failed                  // restart budget spent, non-retryable error, or terminated
	Restarting              // crashed; waiting out the back-off delay before Starting
)

var stateNames = [...]string{"stopped", "starting", "running", "stopping", "exited", "failed", "restarting"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Terminal reports whether s is a state the service leaves only through an
// operator restart or a new Start: stopped, exited or failed.
func (s State) Terminal() bool { return s == Stopped || s == Exited || s == Failed }

// Legal reports whether from -> to is a legal transition:
//
//	stopped    -> starting
//	starting   -> running | restarting | exited | failed | stopping
//	running    -> restarting | exited | failed | stopping
//	restarting -> starting | stopped
//	stopping   -> stopped
//	exited     -> starting              (operator restart)
//	failed     -> starting              (operator restart)
//
// A service in back-off has no process, so stopping it goes straight to
// stopped.
func Legal(from, to State) bool {
	switch from {
	case Stopped, Exited, Failed:
		return to == Starting
	case Starting:
		return to == Running || to == Restarting || to == Exited || to == Failed || to == Stopping
	case Running:
		return to == Restarting || to == Exited || to == Failed || to == Stopping
	case Restarting:
		return to == Starting || to == Stopped
	case Stopping:
		return to == Stopped
	}
	return false
}

// Transition returns nil when from -> to is legal and an error wrapping
// ErrIllegalTransition otherwise. Unlike a process's scheduler states, a
// service's transitions are driven by outside events (operator requests,
// exits racing a stop), so an illegal one is reported, not a panic.
func Transition(from, to State) error {
	if !Legal(from, to) {
		return fmt.Errorf("%w: %s -> %s", ErrIllegalTransition, from, to)
	}
	return nil
}
