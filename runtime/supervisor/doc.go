// Package supervisor is the pure decision core behind process.service: the
// restart policy with exponential back-off and jitter, the service state
// machine, and the dependency order in which services start and stop.
//
// Nothing here starts a goroutine, does I/O, reads the clock or draws a
// random number: every time and random number is an argument, so the whole
// policy is covered by table tests. A shell goroutine (one per service, or
// one for all) owns a Tracker and drives it:
//
//	t, err := supervisor.New(policy)          // state Stopped
//	t.Started(now)                            // process spawned: Starting
//	t.Running(now)                            // main entered: Running
//	d, err := t.Exited(now, exit, rand.Float64())
//	if d.Restart { after d.Delay: spawn again, then t.Started(now) }
//	// d.State is Restarting, Exited, Failed (log d.Err), or Stopped.
//
// While Starting the shell polls StartTimedOut(now) from a timer and kills
// the process when it returns true; the exit that follows is decided as a
// retryable start timeout. Stop(now) asks for a graceful stop (CANCEL), and
// StopTimedOut(now) says when to escalate to terminate. Restart(now) is the
// operator restart of a stopped, exited or failed service; it clears the
// restart budget.
//
// Exit classification (SPEC section 3): a normal return ends in Exited; an
// explicit termination, or an error whose retryable() is exactly false,
// ends in Failed; any other error restarts (link down and Lua errors have
// an unknown flag, noconnection a true one) until MaxAttempts restarts were
// made, then Failed with the last error. A run that stayed Running for
// StableThreshold starts a fresh budget.
//
// Order gives the start order of a set of services from their requires
// lists; stop in the reverse order.
//
// Invariants: the tracker's state only changes along Legal transitions; an
// event that does not fit the state returns ErrIllegalTransition and
// changes nothing; a Failed tracker always has a non-nil LastErr. A Tracker
// is not safe for concurrent use: exactly one goroutine owns it.
package supervisor
