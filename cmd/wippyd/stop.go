package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/wippyd/wippyd/node"
)

// stopGrace bounds a stop: services get their stop_timeout and other
// processes their host's cancel_timeout (1s without one) within it;
// whatever still runs when it ends is terminated at once.
const stopGrace = 30 * time.Second

// stopper runs the node's one stop, whatever asks for it first: the first
// SIGINT or SIGTERM, the end of the -x program, a failed start. A signal
// that arrives once the stop has begun ends the command at once (unless
// it is the first one delivered twice, see duplicateWindow).
type stopper struct {
	n      *node.Node
	log    *slog.Logger
	once   sync.Once
	begun  chan struct{} // closed when the stop begins
	done   chan struct{} // closed when the stop has returned
	killed chan struct{} // closed when a signal ends the command at once
	forced os.Signal     // that signal; set before killed closes
	err    error         // the stop's error, set before done closes
	first  os.Signal     // the signal that began the stop, if one did; set before begun closes
	exit   int           // the code of a system.exit that began the stop; -1 for none; set before begun closes
}

// duplicateWindow: a signal this soon after the one that began the stop
// is the same request delivered twice (GNU timeout signals the command
// and its process group; so do some process managers), not an operator
// asking again.
const duplicateWindow = 250 * time.Millisecond

// watch starts a stopper for n that listens to signals.
func watch(n *node.Node, log *slog.Logger, signals <-chan os.Signal) *stopper {
	s := &stopper{n: n, log: log, begun: make(chan struct{}), done: make(chan struct{}), killed: make(chan struct{}), exit: -1}
	go func() {
		var first time.Time
		for {
			select {
			case sig := <-signals:
				if s.begin(sig) {
					first = time.Now()
					continue
				}
				if !first.IsZero() && time.Since(first) < duplicateWindow {
					continue
				}
				s.forced = sig
				close(s.killed)
				return
			case code := <-n.ExitRequested():
				s.once.Do(func() {
					s.exit = code
					s.log.Info("stopping", "system.exit", code)
					s.beginLocked()
				})
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// exitCode returns the code of the system.exit that began the stop, or
// status.
func (s *stopper) exitCode(status int) int {
	select {
	case <-s.begun:
		if s.exit >= 0 {
			return s.exit
		}
	default:
	}
	return status
}

// stop begins the stop unless it has begun (sig is nil when no signal
// asks for it).
func (s *stopper) stop() { s.begin(nil) }

// begin begins the stop and reports whether this call did.
func (s *stopper) begin(sig os.Signal) bool {
	began := false
	s.once.Do(func() {
		began = true
		s.first = sig
		if sig != nil {
			s.log.Info("stopping", "signal", sig.String())
		}
		s.beginLocked()
	})
	return began
}

// beginLocked starts the stop; called once, inside s.once.
func (s *stopper) beginLocked() {
	close(s.begun)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopGrace)
		defer cancel()
		s.err = s.n.Stop(ctx)
		close(s.done)
	}()
}

// signalled reports whether a signal began the stop.
func (s *stopper) signalled() bool {
	select {
	case <-s.begun:
		return s.first != nil
	default:
		return false
	}
}

// run calls f and returns false when it returns, or true at once when a
// signal ends the command first (f is then abandoned: the command exits).
func (s *stopper) run(f func()) (killed bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return false
	case <-s.killed:
		return true
	}
}

// wait waits for the stop to end and logs its error. It returns the exit
// status when a second signal cut it short, else -1.
func (s *stopper) wait() int {
	select {
	case <-s.done:
		if s.err != nil {
			s.log.Error("stop", "err", s.err)
		}
		return -1
	case <-s.killed:
		return s.killedStatus()
	}
}

// killedStatus logs the signal that ended the command at once and returns
// the exit status: 128 + its number, as a shell reports a process it
// killed.
func (s *stopper) killedStatus() int {
	s.log.Error("signal during the stop: exiting at once", "signal", s.forced.String())
	if n, ok := s.forced.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}
