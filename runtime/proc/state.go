package proc

import "fmt"

// State is a process's life-cycle state (SPEC section 4).
type State uint32

// The states of a process.
const (
	Ready    State = iota // runnable, queued on a worker
	Running               // on a worker
	Blocked               // waiting on one or more things (inbox, events, channel, timer, I/O)
	Idle                  // nothing to wait for but its mailbox
	Complete              // finished; never runs again
)

var stateNames = [...]string{"ready", "running", "blocked", "idle", "complete"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// Legal reports whether from -> to is a legal transition:
// ready -> running; running -> ready | blocked | idle | complete;
// blocked | idle -> ready. Terminating a blocked or idle process goes through
// ready to complete.
func Legal(from, to State) bool {
	switch from {
	case Ready:
		return to == Running
	case Running:
		return to == Ready || to == Blocked || to == Idle || to == Complete
	case Blocked, Idle:
		return to == Ready
	}
	return false
}

// Transition panics unless from -> to is legal: an illegal transition is a
// bug in the runtime, never a consequence of user input.
func Transition(from, to State) {
	if !Legal(from, to) {
		panic(fmt.Sprintf("proc: illegal transition %s -> %s", from, to))
	}
}
