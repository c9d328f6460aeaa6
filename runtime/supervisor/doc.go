// Package supervisor runs process.service entries: a pure decision core
// (the restart policy with exponential back-off and jitter, the service
// state machine, the dependency order in which services start and stop)
// and a thin shell around it (Manager, Watcher).
//
// # Core
//
// Policy, Tracker, State and Order start no goroutine, do no I/O, read no
// clock and draw no random number: every time and random number is an
// argument, so the whole policy is covered by table tests. The shell owns
// one Tracker per service and drives it:
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
// # Shell
//
// Manager supervises a set of ServiceSpecs (SpecsOf converts the loaded
// process.service entries). One goroutine owns every Tracker; the public
// methods send it requests and wait for the answer, and the process side
// reports through Events (Running, Exited), which only queue, so they may
// be called from a scheduler worker. Time comes from a Clock and jitter
// from a Rand function, both injected. A node wires it as:
//
//	w, _ := supervisor.NewWatcher(supervisor.WatcherConfig{Runtime: rt, Catalog: cat})
//	m, _ := supervisor.NewManager(supervisor.ManagerConfig{Services: specs, Processes: w, Logger: log})
//	w.Run(m)                  // the watcher process reports to m
//	m.Start(ctx)              // auto_start services, in dependency order
//	...                       // m.Restart(id), m.Status()
//	m.Stop(ctx); w.Close()    // reverse order; then rt.Stop
//
// What the shell does, per SPEC sections 2 and 3:
//
//   - Start brings up every auto_start service and what it requires
//     (a requirement that is not auto_start is started for its
//     dependent). A service starts once everything it requires is
//     running. Start returns when each has settled: running, exited,
//     failed, crashed at least once (it keeps restarting in the
//     background), or unable to start because a requirement exited or
//     failed (logged, with the requirement named; it starts once an
//     operator restarted the requirement and it runs).
//   - A run is starting until the process finished its first turn alive
//     (for Lua: the chunk loaded, main entered and reached its first wait
//     or yield); then running. start_timeout bounds starting: at expiry
//     the process is terminated and the run counts as a retryable
//     failure. A process that ends in its first turn never was running.
//   - Every exit goes through the Tracker: restarts wait out the back-off
//     on a timer (a zero delay goes through the event queue, so requests
//     are still served in a tight crash loop); every restart is logged at
//     warn with the attempt, delay and error; the final failure at error
//     with the last error and the names of the dependents, which keep
//     running. A failed service stays failed until Restart.
//   - Stop stops services in reverse dependency order, independent ones
//     together: CANCEL once every dependent has ended, terminate after
//     stop_timeout. Pending restarts are dropped; a crash during the stop
//     is not restarted.
//   - Restart(id) is the operator restart: a fresh budget and no last
//     error. A live service is stopped first; one in back-off starts at
//     once.
//   - ServiceStatus.Restarts counts automatic restarts per service, for
//     wippy_service_restarts_total{service}.
//
// Watcher is the Processes of a Manager over the runtime. It runs one
// Go-native process that spawns each service run with a monitor (set up
// by the spawn itself, before the child runs, so the exit reason is never
// lost to a race) and forwards every EXIT to the Manager; it wraps the
// service's behaviour to report the first turn. The package does not
// import the runtime: Runtime and Catalog are the small interfaces it
// needs, which *runtime.Runtime and the node's catalog have.
//
// Bounds: the Manager's event queue holds at most one Running and one
// Exited per run and one timer fire per service beyond a few stale ones,
// whatever the restart rate; the heap does not grow with the number of
// restarts (measured over 10,000 in TestCrashLoopBounded).
//
// Invariants: the tracker's state only changes along Legal transitions; an
// event that does not fit the state returns ErrIllegalTransition and
// changes nothing; a Failed tracker always has a non-nil LastErr. A Tracker
// is not safe for concurrent use: exactly one goroutine owns it. Manager
// and Watcher are safe for concurrent use.
package supervisor
