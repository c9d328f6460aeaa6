package supervisor

import (
	"errors"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// service is one supervised service; owned by the manager's goroutine.
type service struct {
	spec       ServiceSpec
	t          *Tracker
	requires   []*service
	dependents []*service

	pid      pid.PID   // current process; zero when none
	timer    Timer     // the one armed timer, nil when none
	gen      uint64    // timer generation: a fire with another gen is stale
	runAt    time.Time // when the current run started
	stopAt   time.Time // when the current stop was requested
	last     State     // state at the last mark, for since
	since    time.Time // when last was entered
	restarts uint64    // automatic restarts made

	wanted   bool // should run: auto-started, required by a wanted service, or operator-started
	auto     bool // part of what Start brings up
	operator bool // the next run is an operator restart (fresh budget, clears the last error)
	again    bool // operator restart of a live service: start again once stopped
	tried    bool // a run has ended since Start
	blocked  bool // "cannot start" was logged for the current wait
	// killed: terminated at its stop_timeout while the node stops; given
	// up on if its process has not ended abandonWait later.
	killed bool
}

// abandonWait is how long the node's stop waits for a service terminated
// at its stop_timeout to end before it gives up on it: a terminated Lua
// process ends at once, a Go-native callback that never returns does not,
// and must not hold the node's stop.
const abandonWait = 2 * time.Second

// live reports whether the service has a process (or is about to lose it).
func (s *service) live() bool {
	st := s.t.State()
	return st == Starting || st == Running || st == Stopping
}

// mark records when the service entered its current state.
func (m *Manager) mark(s *service, now time.Time) {
	if st := s.t.State(); st != s.last || s.since.IsZero() {
		s.last, s.since = st, now
	}
}

// want marks s, and everything it requires, as wanted; auto marks them
// as part of Start. Failed and exited requirements are left alone: only an
// operator restart brings them back.
func (m *Manager) want(s *service, auto bool) {
	if auto {
		s.auto = true
	}
	if s.t.State() == Stopped {
		s.wanted = true
	}
	for _, r := range s.requires {
		if (auto && !r.auto) || (!r.wanted && r.t.State() == Stopped) {
			m.want(r, auto)
		}
	}
}

// progress starts wanted services whose requirements run, or, when
// stopping, stops services whose dependents are down; then releases the
// callers of Start and Stop that are done waiting.
func (m *Manager) progress() {
	if m.stopping {
		m.progressStop()
		return
	}
	for _, s := range m.order {
		if !s.wanted || !s.t.State().Terminal() {
			continue
		}
		if waiting := m.notRunning(s); len(waiting) > 0 {
			if !s.blocked && m.requirementDown(s) {
				s.blocked = true
				m.log.Warn("service cannot start: a requirement is down", "service", s.spec.ID, "waiting", waiting)
			}
			continue
		}
		s.blocked = false
		m.run(s)
	}
	if len(m.startWaiters) > 0 && m.settled() {
		for _, w := range m.startWaiters {
			w <- nil
		}
		m.startWaiters = nil
	}
}

// notRunning lists the requirements of s that are not running.
func (m *Manager) notRunning(s *service) []string {
	var ids []string
	for _, r := range s.requires {
		if r.t.State() != Running {
			ids = append(ids, r.spec.ID)
		}
	}
	return ids
}

// requirementDown reports whether a requirement of s has exited or failed
// (and so will not come up without an operator), or is itself blocked.
func (m *Manager) requirementDown(s *service) bool {
	for _, r := range s.requires {
		if st := r.t.State(); st == Exited || st == Failed || (st == Stopped && r.wanted && r.blocked) {
			return true
		}
	}
	return false
}

// settled reports whether every service Start brings up has given its
// answer: running, exited, failed, crashed at least once, or waiting on a
// requirement that settled without running. Requirements come first in
// m.order, so one pass sees them decided.
func (m *Manager) settled() bool {
	ok := make(map[*service]bool, len(m.order))
	all := true
	for _, s := range m.order {
		if !s.auto {
			continue
		}
		st := s.t.State()
		done := st == Running || st == Exited || st == Failed || s.tried
		if !done && st == Stopped && s.wanted {
			for _, r := range s.requires {
				if ok[r] && r.t.State() != Running {
					done = true
					break
				}
			}
		}
		ok[s] = done
		all = all && done
	}
	return all
}

// run starts a new run of s.
func (m *Manager) run(s *service) {
	op := s.operator
	s.operator = false
	p, err := m.procs.Start(s.spec)
	now := m.clock.Now()
	var terr error
	if op {
		terr = s.t.Restart(now)
	} else {
		terr = s.t.Started(now)
	}
	if terr != nil {
		// Only reachable through a bug in the manager: keep the process
		// from running unsupervised.
		m.log.Error("service start refused", "service", s.spec.ID, "error", terr)
		if err == nil {
			_ = m.procs.Terminate(p)
		}
		return
	}
	s.runAt = now
	m.mark(s, now)
	if err != nil {
		m.log.Debug("service process not started", "service", s.spec.ID, "error", err)
		m.decide(s, exitOf(err), now)
		return
	}
	s.pid = p
	m.byPID[p] = s
	m.log.Debug("service starting", "service", s.spec.ID, "pid", p.String())
	m.armIf(s, s.spec.Policy.StartTimeout)
}

// restart handles an operator restart request for s.
func (m *Manager) restart(s *service) {
	now := m.clock.Now()
	switch s.t.State() {
	case Restarting:
		_, _ = s.t.Stop(now)
		m.disarm(s)
		fallthrough
	case Stopped, Exited, Failed:
		s.operator, s.blocked = true, false
		s.wanted = true
		m.want(s, false)
		m.log.Info("service restart requested", "service", s.spec.ID)
	case Starting, Running:
		s.again = true
		m.log.Info("service restart requested: stopping it first", "service", s.spec.ID)
		m.stopRun(s, now)
	case Stopping:
		s.again = true
	}
	m.mark(s, now)
}

func (m *Manager) handle(e *event) {
	now := m.clock.Now()
	switch e.kind {
	case evRunning:
		s := m.byPID[e.pid]
		if s == nil || s.t.State() != Starting {
			return
		}
		if err := s.t.Running(now); err != nil {
			return // start timed out: the process is being killed
		}
		m.disarm(s)
		m.mark(s, now)
		m.log.Info("service running", "service", s.spec.ID, "pid", e.pid.String())
	case evExited:
		s := m.byPID[e.pid]
		if s == nil {
			return // a process of an earlier run, or not ours
		}
		delete(m.byPID, e.pid)
		s.pid, s.killed = pid.PID{}, false
		m.disarm(s)
		m.decide(s, exitOf(e.err), now)
	case evTimer:
		s := e.svc
		if e.gen != s.gen {
			return // disarmed after it fired
		}
		s.timer = nil
		m.timerFired(s, now)
	}
}

func (m *Manager) timerFired(s *service, now time.Time) {
	switch s.t.State() {
	case Restarting:
		m.run(s)
	case Starting:
		if !s.t.StartTimedOut(now) {
			m.arm(s, s.runAt.Add(s.spec.Policy.StartTimeout).Sub(now))
			return
		}
		m.log.Warn("service start timed out: terminating it", "service", s.spec.ID,
			"pid", s.pid.String(), "start_timeout", s.spec.Policy.StartTimeout)
		m.terminate(s)
	case Stopping:
		if s.killed {
			m.abandon(s, now)
			return
		}
		if !s.t.StopTimedOut(now) {
			m.arm(s, s.stopAt.Add(s.spec.Policy.StopTimeout).Sub(now))
			return
		}
		m.log.Warn("service did not stop in time: terminating it", "service", s.spec.ID,
			"pid", s.pid.String(), "stop_timeout", s.spec.Policy.StopTimeout)
		m.terminate(s)
		if m.stopping {
			s.killed = true
			m.arm(s, abandonWait)
		}
	}
}

// abandon gives up on a service terminated at its stop_timeout during the
// node's stop whose process has not ended abandonWait later: the stop goes
// on as if it had ended (its exit, if it ever comes, is ignored).
func (m *Manager) abandon(s *service, now time.Time) {
	m.log.Error("service did not end when terminated: abandoning it", "service", s.spec.ID,
		"pid", s.pid.String(), "waited", abandonWait)
	delete(m.byPID, s.pid)
	s.pid, s.killed = pid.PID{}, false
	m.decide(s, exitOf(proc.ErrTerminated), now)
}

// decide asks the tracker what follows the end of a run and does it.
func (m *Manager) decide(s *service, exit Exit, now time.Time) {
	d, err := s.t.Exited(now, exit, m.rnd())
	if err != nil {
		m.log.Error("service exit refused", "service", s.spec.ID, "error", err)
		return
	}
	s.tried = true
	switch d.State {
	case Restarting:
		if m.stopping {
			// Crashed while the node stops: no back-off restart.
			_, _ = s.t.Stop(now)
			m.log.Warn("service crashed while stopping", "service", s.spec.ID, "error", errText(d.Err))
			m.stopped(s)
			break
		}
		s.restarts++
		m.log.Warn("service restarting", "service", s.spec.ID, "attempt", d.Attempt,
			"delay", d.Delay, "reason", d.Reason, "error", errText(d.Err))
		m.arm(s, d.Delay)
	case Exited:
		s.wanted = false
		m.log.Info("service exited", "service", s.spec.ID)
	case Failed:
		s.wanted = false
		m.log.Error("service failed", "service", s.spec.ID, "reason", d.Reason,
			"attempts", d.Attempt, "error", errText(d.Err), "dependents", m.dependents(s))
	case Stopped:
		m.log.Info("service stopped", "service", s.spec.ID)
		m.stopped(s)
	}
	m.mark(s, now)
}

// stopped follows a run that ended because of a stop.
func (m *Manager) stopped(s *service) {
	s.wanted = false
	if s.again && !m.stopping {
		s.again = false
		s.operator, s.wanted = true, true
		m.want(s, false)
	}
}

// dependents lists every service that requires s, directly or not, in
// start order.
func (m *Manager) dependents(s *service) []string {
	seen := map[*service]bool{}
	var walk func(*service)
	walk = func(x *service) {
		for _, d := range x.dependents {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(s)
	ids := []string{}
	for _, x := range m.order {
		if seen[x] {
			ids = append(ids, x.spec.ID)
		}
	}
	return ids
}

// progressStop moves the node's stop along, in reverse start order.
func (m *Manager) progressStop() {
	now := m.clock.Now()
	down := true
	for i := len(m.order) - 1; i >= 0; i-- {
		s := m.order[i]
		s.wanted, s.operator, s.again = false, false, false
		switch s.t.State() {
		case Restarting:
			_, _ = s.t.Stop(now)
			m.disarm(s)
			m.mark(s, now)
			m.log.Info("service stopped", "service", s.spec.ID)
		case Starting, Running:
			if m.dependentsDown(s) {
				m.stopRun(s, now)
			}
		}
		down = down && !s.live()
	}
	if down {
		for _, w := range m.stopWaiters {
			close(w)
		}
		m.stopWaiters = nil
	}
}

func (m *Manager) dependentsDown(s *service) bool {
	for _, d := range s.dependents {
		if d.live() {
			return false
		}
	}
	return true
}

// stopRun sends CANCEL to the process of a starting or running service and
// arms the stop timeout.
func (m *Manager) stopRun(s *service, now time.Time) {
	if wait, _ := s.t.Stop(now); !wait {
		return
	}
	s.stopAt = now
	m.mark(s, now)
	m.log.Info("service stopping", "service", s.spec.ID, "pid", s.pid.String())
	if err := m.procs.Cancel(s.pid, "service stopping"); err != nil {
		m.log.Warn("service cancel failed", "service", s.spec.ID, "error", err)
	}
	m.armIf(s, s.spec.Policy.StopTimeout)
}

func (m *Manager) terminate(s *service) {
	if err := m.procs.Terminate(s.pid); err != nil {
		m.log.Warn("service terminate failed", "service", s.spec.ID, "error", err)
	}
}

// terminateAll ends every remaining process at once (Stop's context ran
// out) and returns the services it hit.
func (m *Manager) terminateAll() []string {
	var ids []string
	for i := len(m.order) - 1; i >= 0; i-- {
		if s := m.order[i]; s.live() && !s.pid.IsZero() {
			m.log.Warn("service still running at the end of the stop: terminating it", "service", s.spec.ID, "pid", s.pid.String())
			m.terminate(s)
			ids = append(ids, s.spec.ID)
		}
	}
	return ids
}

// arm replaces the service's timer with one firing after d; d <= 0 fires
// at the loop's next round without a clock timer.
func (m *Manager) arm(s *service, d time.Duration) {
	m.disarm(s)
	gen := s.gen
	if d <= 0 {
		m.post(event{kind: evTimer, svc: s, gen: gen})
		return
	}
	s.timer = m.clock.AfterFunc(d, func() { m.post(event{kind: evTimer, svc: s, gen: gen}) })
}

// armIf arms a timeout; 0 means none, so it only disarms.
func (m *Manager) armIf(s *service, timeout time.Duration) {
	if timeout > 0 {
		m.arm(s, timeout)
	} else {
		m.disarm(s)
	}
}

// disarm stops the service's timer; a fire already queued is stale.
func (m *Manager) disarm(s *service) {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.gen++
}

// exitOf classifies a process's exit error (SPEC section 3): nil is a
// normal return, "terminated" an explicit termination, anything else an
// error whose retryable flag decides.
func exitOf(err error) Exit {
	if err == nil {
		return Exit{Kind: ExitNormal}
	}
	e := proc.AsError(err)
	if errors.Is(e, proc.ErrTerminated) {
		return Exit{Kind: ExitTerminated, Err: err, Retryable: RetryFalse}
	}
	r := RetryUnknown
	switch e.Retryable {
	case msg.False:
		r = RetryFalse
	case msg.True:
		r = RetryTrue
	}
	return Exit{Kind: ExitError, Err: err, Retryable: r}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
