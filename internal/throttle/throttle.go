// Package throttle limits repeated log lines: Pairs lets one line through
// per (a, b) key per interval and remembers a bounded number of keys, so
// a flood of distinct keys (made-up peer or host names) cannot grow it.
package throttle

import (
	"sync"
	"time"
)

// Max is how many keys a Pairs remembers; past it, keys older than the
// interval are forgotten, and if none is, all of them.
const Max = 4096

// Pairs throttles per (a, b) key. The zero value is ready to use.
type Pairs struct {
	mu   sync.Mutex
	last map[[2]string]time.Time
}

// Allow reports whether a line for (a, b) may be logged at now, given
// that one is allowed per every, and records it when so.
func (p *Pairs) Allow(a, b string, now time.Time, every time.Duration) bool {
	k := [2]string{a, b}
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, ok := p.last[k]; ok && now.Sub(at) < every {
		return false
	}
	if p.last == nil {
		p.last = make(map[[2]string]time.Time)
	}
	if len(p.last) >= Max {
		for k, at := range p.last {
			if now.Sub(at) >= every {
				delete(p.last, k)
			}
		}
		if len(p.last) >= Max {
			clear(p.last)
		}
	}
	p.last[k] = now
	return true
}

// Len is how many keys are remembered.
func (p *Pairs) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.last)
}
