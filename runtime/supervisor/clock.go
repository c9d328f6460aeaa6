package supervisor

import "time"

// Clock is where the manager reads the time and arms its timers. Tests
// pass a fake one; SystemClock is the real one.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f on its own goroutine after d, like time.AfterFunc.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer armed with Clock.AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing; false when it already fired or
	// was stopped. A fire racing Stop is harmless: the manager ignores
	// timers it has disarmed.
	Stop() bool
}

// SystemClock returns the clock of package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

var _ Clock = systemClock{}
