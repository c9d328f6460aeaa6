package supervisor

import (
	"errors"
	"fmt"
	"time"
)

// ExitKind says how a service's process ended.
type ExitKind uint8

// How a process ended.
const (
	// ExitNormal: main returned normally. The service becomes exited.
	ExitNormal ExitKind = iota
	// ExitTerminated: the process was explicitly terminated or killed.
	// The service becomes failed.
	ExitTerminated
	// ExitError: main returned an error, raised, or was killed by the
	// runtime (link down, noconnection). Exit.Retryable decides.
	ExitError
)

var exitKindNames = [...]string{"normal", "terminated", "error"}

func (k ExitKind) String() string {
	if int(k) < len(exitKindNames) {
		return exitKindNames[k]
	}
	return fmt.Sprintf("exit(%d)", uint8(k))
}

// Exit describes the end of one run of a service.
type Exit struct {
	Kind ExitKind
	// Err is the exit reason; nil for ExitNormal.
	Err error
	// Retryable is the error's retryable() flag. Only an exactly False
	// value stops restarts; Unknown (nil in Lua) and True restart.
	Retryable Retryable
}

// Retryable is an error's three-valued retryable() flag. Its values are
// numbered like msg.Tri (Unknown, False, True), so the shell converts with
// Retryable(e.Retryable); the package stays free of runtime imports.
type Retryable uint8

// Retryable values.
const (
	RetryUnknown Retryable = iota // nil in Lua: restart
	RetryFalse                    // exactly false: do not restart
	RetryTrue                     // true: restart
)

// Decision is what the tracker decided after a run ended.
type Decision struct {
	// Restart is true when the shell should start the service again
	// after Delay.
	Restart bool
	// Delay is the back-off wait before the restart; 0 unless Restart.
	Delay time.Duration
	// Attempt is the number of restarts since the budget was last reset,
	// this one included when Restart is true (1 for the first restart).
	Attempt int
	// State is the service's new state: Restarting, Exited, Failed, or
	// Stopped when the run ended because of Stop.
	State State
	// Reason is a short human-readable explanation for the log.
	Reason string
	// Err is the run's exit error (nil for a normal return); for a failed
	// service it is the last error.
	Err error
}

// Tracker holds one service's state and restart budget and turns events
// (started, running, exited, timer checks, stop and restart requests) into
// decisions. It does no I/O and reads no clock: every time is an argument.
//
// A Tracker is not safe for concurrent use; the shell goroutine that
// supervises the service owns it.
type Tracker struct {
	policy Policy
	state  State

	attempts  int       // restarts since the last reset
	startedAt time.Time // when the current run entered Starting
	runningAt time.Time // when the current run entered Running
	stopAt    time.Time // when Stop was requested
	restartAt time.Time // when the pending restart is due (Restarting only)
	timedOut  bool      // StartTimedOut fired for the current run
	lastErr   error
}

// New returns a Tracker in state Stopped, or an error if p is invalid.
func New(p Policy) (*Tracker, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Tracker{policy: p}, nil
}

// Policy returns the tracker's restart policy.
func (t *Tracker) Policy() Policy { return t.policy }

// State returns the current state.
func (t *Tracker) State() State { return t.state }

// Attempts returns the number of restarts since the budget was last reset.
func (t *Tracker) Attempts() int { return t.attempts }

// LastErr returns the error of the last run that crashed or failed, or nil;
// the exit of a requested stop is not recorded, and Restart clears it.
func (t *Tracker) LastErr() error { return t.lastErr }

// RestartAt returns when the pending restart is due; ok is false unless the
// service is Restarting.
func (t *Tracker) RestartAt() (at time.Time, ok bool) {
	return t.restartAt, t.state == Restarting
}

func (t *Tracker) move(to State) error {
	if err := Transition(t.state, to); err != nil {
		return err
	}
	t.state = to
	return nil
}

// Started records that the shell spawned the service's process at now:
// Stopped -> Starting (a fresh budget) or Restarting -> Starting (the
// back-off wait is over). Exited and failed services need Restart.
func (t *Tracker) Started(now time.Time) error {
	if t.state != Stopped && t.state != Restarting {
		return fmt.Errorf("%w: start from %s (use Restart)", ErrIllegalTransition, t.state)
	}
	if t.state == Stopped {
		t.attempts = 0
	}
	t.begin(now)
	return nil
}

// Restart is an operator restart (POST /v1/services/{id}/restart) of a
// service that is stopped, exited or failed: the restart budget and last
// error are cleared and the service is Starting from now. A live service
// must be stopped first.
func (t *Tracker) Restart(now time.Time) error {
	if !t.state.Terminal() {
		return fmt.Errorf("%w: restart from %s (stop it first)", ErrIllegalTransition, t.state)
	}
	t.attempts = 0
	t.lastErr = nil
	t.begin(now)
	return nil
}

func (t *Tracker) begin(now time.Time) {
	t.state = Starting
	t.startedAt = now
	t.runningAt = time.Time{}
	t.restartAt = time.Time{}
	t.timedOut = false
}

// Running records that the process entered main at now: Starting ->
// Running. After StartTimedOut has fired for this run it returns
// ErrStartTimeout instead: the shell is already killing the process.
func (t *Tracker) Running(now time.Time) error {
	if t.state == Starting && t.timedOut {
		return fmt.Errorf("%w: running after the start timeout", ErrStartTimeout)
	}
	if err := t.move(Running); err != nil {
		return err
	}
	t.runningAt = now
	return nil
}

// StartTimedOut reports whether the current start has outlasted the start
// timeout at now. Once it returns true for a run, it keeps returning true,
// the shell should kill the process, and the run's exit (whatever its
// reason) is decided as a retryable ErrStartTimeout: it uses up one attempt
// like any crash.
func (t *Tracker) StartTimedOut(now time.Time) bool {
	if t.state != Starting {
		return false
	}
	if !t.timedOut && t.policy.StartTimeout > 0 && now.Sub(t.startedAt) >= t.policy.StartTimeout {
		t.timedOut = true
	}
	return t.timedOut
}

// Stop records a stop request at now. wait is true when a process is alive
// (Starting or Running: now Stopping, or already Stopping): the shell sends
// CANCEL, escalates to terminate when StopTimedOut, and reports the end with
// Exited. wait is false when there is nothing to stop: a service in back-off
// becomes Stopped at once, and stopped, exited and failed services keep
// their state (a failed service stays failed, with its last error).
func (t *Tracker) Stop(now time.Time) (wait bool, err error) {
	switch t.state {
	case Starting, Running:
		t.state = Stopping
		t.stopAt = now
		return true, nil
	case Stopping:
		return true, nil
	case Restarting:
		t.state = Stopped
		t.restartAt = time.Time{}
	}
	return false, nil
}

// StopTimedOut reports whether a stopping service has outlasted the stop
// timeout at now, so the shell should terminate it.
func (t *Tracker) StopTimedOut(now time.Time) bool {
	return t.state == Stopping && t.policy.StopTimeout > 0 && now.Sub(t.stopAt) >= t.policy.StopTimeout
}

// Exited records that the current run ended at now and decides what
// happens next; rnd in [0, 1) is the random number for the back-off jitter.
//
//   - Stopping: the service becomes Stopped, whatever the exit.
//   - A normal return: Exited, no restart.
//   - An explicit termination, or an error whose Retryable is exactly
//     False: Failed, no restart.
//   - Any other error (or a start timeout): if the run stayed Running for
//     at least StableThreshold the attempt counter resets first; then, when
//     MaxAttempts > 0 and that many restarts were already made, Failed with
//     this error; otherwise Restarting with attempt+1 and its Delay.
//
// Exited in any other state returns ErrIllegalTransition and changes
// nothing.
func (t *Tracker) Exited(now time.Time, exit Exit, rnd float64) (Decision, error) {
	switch t.state {
	case Stopping:
		// The exit of a stop (often "terminated" after the stop timeout)
		// is not a failure of the service: LastErr is left alone.
		t.state = Stopped
		return Decision{State: Stopped, Attempt: t.attempts, Reason: "stopped", Err: exit.Err}, nil
	case Starting, Running:
	default:
		return Decision{}, fmt.Errorf("%w: exit while %s", ErrIllegalTransition, t.state)
	}
	if t.timedOut {
		exit = Exit{Kind: ExitError, Err: ErrStartTimeout, Retryable: RetryTrue}
	}
	if exit.Kind != ExitNormal && exit.Err == nil {
		// A crash must always leave an error to log; never a nil LastErr.
		exit.Err = fmt.Errorf("supervisor: %s exit without a reason", exit.Kind)
	}
	if t.state == Running && t.policy.StableThreshold > 0 && now.Sub(t.runningAt) >= t.policy.StableThreshold {
		t.attempts = 0
	}
	d := t.decide(exit, rnd)
	t.state = d.State
	if d.Err != nil {
		t.lastErr = d.Err
	}
	if d.Restart {
		t.attempts = d.Attempt
		t.restartAt = now.Add(d.Delay)
	}
	return d, nil
}

func (t *Tracker) decide(exit Exit, rnd float64) Decision {
	d := Decision{Attempt: t.attempts, Err: exit.Err}
	switch {
	case exit.Kind == ExitNormal:
		d.State, d.Reason = Exited, "exited normally"
	case exit.Kind == ExitTerminated:
		d.State, d.Reason = Failed, "terminated"
	case exit.Retryable == RetryFalse:
		d.State, d.Reason = Failed, "error is not retryable"
	case t.policy.MaxAttempts > 0 && t.attempts >= t.policy.MaxAttempts:
		d.State = Failed
		d.Reason = fmt.Sprintf("restart budget spent (%d attempts)", t.attempts)
	default:
		d.Restart = true
		d.State = Restarting
		d.Attempt = t.attempts + 1
		d.Delay = t.policy.Delay(d.Attempt, rnd)
		d.Reason = fmt.Sprintf("restart %d after error", d.Attempt)
		if errors.Is(exit.Err, ErrStartTimeout) {
			d.Reason = fmt.Sprintf("restart %d after start timeout", d.Attempt)
		}
	}
	return d
}
