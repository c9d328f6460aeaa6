package await

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB that records a failure instead of stopping.
type recorder struct {
	testing.TB
	failed atomic.Bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed.Store(true)
	r.msg = format
}

func TestUntilSeesTheConditionSoon(t *testing.T) {
	var n atomic.Int32
	start := time.Now()
	Until(t, "three polls", func() bool { return n.Add(1) == 3 })
	if el := time.Since(start); el > time.Second {
		t.Fatalf("three polls took %v", el)
	}
}

func TestWithinFailsAfterTheDeadline(t *testing.T) {
	r := &recorder{TB: t}
	start := time.Now()
	Within(r, 30*time.Millisecond, "never", func() bool { return false })
	if !r.failed.Load() {
		t.Fatal("no failure for a condition that never held")
	}
	if el := time.Since(start); el < 30*time.Millisecond || el > 5*time.Second {
		t.Fatalf("failed after %v, want about 30ms", el)
	}
}

func TestNoErrorReportsTheLastError(t *testing.T) {
	var n atomic.Int32
	NoError(t, "the third try", func() error {
		if n.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n.Load() != 3 {
		t.Fatalf("%d tries", n.Load())
	}
}

func TestNever(t *testing.T) {
	r := &recorder{TB: t}
	Never(r, 20*time.Millisecond, "held", func() bool { return false })
	if r.failed.Load() {
		t.Fatal("failed for a condition that never held")
	}
	var n atomic.Int32
	Never(r, time.Minute, "held", func() bool { return n.Add(1) == 2 })
	if !r.failed.Load() {
		t.Fatal("no failure for a condition that held")
	}
}

func TestNoLeaks(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }()
	if err := NoLeaks(20 * time.Millisecond); err == nil {
		t.Fatal("a blocked goroutine was not reported")
	}
	close(stop)
	if err := NoLeaks(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
