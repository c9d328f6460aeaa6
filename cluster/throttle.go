package cluster

import (
	"sync"
	"time"
)

// throttle lets one log line through per key per interval.
type throttle struct {
	mu       sync.Mutex
	interval time.Duration
	now      func() time.Time
	last     map[[2]string]time.Time
}

func (t *throttle) allow(a, b string) bool {
	now := t.now()
	k := [2]string{a, b}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[k]; ok && now.Sub(last) < t.interval {
		return false
	}
	if len(t.last) >= 4096 {
		// Bounded: forget entries older than the interval.
		for k, at := range t.last {
			if now.Sub(at) >= t.interval {
				delete(t.last, k)
			}
		}
		if len(t.last) >= 4096 {
			clear(t.last)
		}
	}
	t.last[k] = now
	return true
}
