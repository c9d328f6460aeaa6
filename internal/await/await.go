// Package await is how this module's tests wait for what they cannot be
// told about: poll a condition until it holds, with a deadline, failing
// the test with what was awaited. A test waits on a channel or a callback
// where the code offers one; await is for state only a query shows (a
// member table, a counter, a process's liveness).
//
// Polling starts at a millisecond and backs off to 10 ms, so a condition
// that holds soon is seen soon and a slow one does not burn the CPU that
// the awaited work needs. The deadline is generous (Timeout): -race on a
// loaded two-core machine is slow, and a passing test waits only as long
// as its condition takes.
package await

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// maxPause bounds the back-off: a benchmark that awaits the end of its
// work inside the timed region measures at most this much too long.
const maxPause = 10 * time.Millisecond

// Timeout is how long Until waits.
const Timeout = 20 * time.Second

// Until polls cond until it holds; after Timeout it fails t, naming what
// it waited for.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Timeout, what, cond)
}

// Within is Until with the deadline d.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// NoError polls f until it returns nil; after Timeout it fails t, naming
// what it waited for and the last error f returned (how far it got).
func NoError(t testing.TB, what string, f func() error) {
	t.Helper()
	var last error
	if !poll(Timeout, func() bool { last = f(); return last == nil }) {
		t.Fatalf("timed out after %v waiting for %s: %v", Timeout, what, last)
	}
}

// Never polls bad for d and fails t, naming what, as soon as it holds: for
// what must not happen within a window (a rogue node getting in) when
// nothing signals that it did not.
func Never(t testing.TB, d time.Duration, what string, bad func() bool) {
	t.Helper()
	if poll(d, bad) {
		t.Fatalf("%s", what)
	}
}

// NoLeaks waits up to d for goleak to find no unexpected goroutine and
// returns its last finding (nil when none): for goroutines that outlive a
// Stop by a timer of their own, as memberlist's probe does.
func NoLeaks(d time.Duration, opts ...goleak.Option) error {
	var err error
	poll(d, func() bool {
		err = goleak.Find(opts...)
		return err == nil
	})
	return err
}

// poll calls cond at growing intervals until it holds or d has passed,
// and reports whether it held.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for !cond() {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t.Reset(min(pause, left))
		<-t.C
		pause = min(2*pause, maxPause)
	}
	return true
}
