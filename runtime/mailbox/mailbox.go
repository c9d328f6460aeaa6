package mailbox

import (
	"errors"
	"sync"
	"sync/atomic"
)

var (
	// ErrFull is returned by Push when the ordinary lane is at its bound.
	ErrFull = errors.New("mailbox: full")
	// ErrClosed is returned by Push after Close: the owner has ended.
	ErrClosed = errors.New("mailbox: closed")
)

// keepCap is the ring size a mailbox may always keep; a larger ring is
// halved after shrinkAfter drains in a row that found it under a quarter
// full at its fullest. Dropping a large ring as soon as it emptied made a
// process that is sent bursts (tokens bunching up in a ring) reallocate it
// burst after burst: most of the allocation, and most of the GC work, of
// the ring benchmark.
const (
	keepCap     = 64
	shrinkAfter = 32
)

// Mailbox is a two-lane queue. The zero value is an empty, open mailbox.
type Mailbox[T any] struct {
	mu     sync.Mutex
	n      atomic.Int64 // items queued in both lanes; read without the lock
	closed bool
	ring   []T // ordinary lane: a ring of power-of-two size, nil when empty and idle
	head   int // index of the oldest item in ring
	count  int // items in ring
	peak   int // most items in ring since the last drain that emptied it
	quiet  int // drains in a row that emptied a ring whose peak was under a quarter of it
	sys    []T // system lane
}

// shrink halves an oversized ring that has been mostly empty for a while.
// Called with the ring empty.
func (m *Mailbox[T]) shrink() {
	if len(m.ring) <= keepCap {
		m.peak, m.quiet = 0, 0
		return
	}
	if m.peak*4 >= len(m.ring) {
		m.quiet = 0
	} else if m.quiet++; m.quiet >= shrinkAfter {
		m.ring = make([]T, len(m.ring)/2)
		m.quiet = 0
	}
	m.peak = 0
}

// grow doubles the ring, keeping items in order from index 0.
func (m *Mailbox[T]) grow() {
	size := max(4, 2*len(m.ring))
	next := make([]T, size)
	if m.count > 0 {
		k := copy(next, m.ring[m.head:min(m.head+m.count, len(m.ring))])
		copy(next[k:], m.ring[:m.count-k])
	}
	m.ring, m.head = next, 0
}

// Push appends v to the ordinary lane. limit > 0 bounds the lane: when it
// already holds limit items, Push returns ErrFull. It reports whether the
// mailbox was empty before, which is when the owner may need waking.
func (m *Mailbox[T]) Push(v T, limit int) (wasEmpty bool, err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false, ErrClosed
	}
	if limit > 0 && m.count >= limit {
		m.mu.Unlock()
		return false, ErrFull
	}
	if m.count == len(m.ring) {
		m.grow()
	}
	m.ring[(m.head+m.count)&(len(m.ring)-1)] = v
	m.count++
	m.peak = max(m.peak, m.count)
	wasEmpty = m.n.Add(1) == 1
	m.mu.Unlock()
	return wasEmpty, nil
}

// PushSystem appends v to the system lane, which is never bounded.
func (m *Mailbox[T]) PushSystem(v T) (wasEmpty bool, err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false, ErrClosed
	}
	m.sys = append(m.sys, v)
	wasEmpty = m.n.Add(1) == 1
	m.mu.Unlock()
	return wasEmpty, nil
}

// Len returns the number of queued items. It takes no lock: a concurrent
// Push may or may not be counted.
func (m *Mailbox[T]) Len() int { return int(m.n.Load()) }

// Drain appends up to max items to dst, system lane first, and returns it.
// max <= 0 means no limit.
func (m *Mailbox[T]) Drain(dst []T, max int) []T {
	if m.n.Load() == 0 {
		return dst
	}
	m.mu.Lock()
	taken := 0
	if len(m.sys) > 0 {
		k := len(m.sys)
		if max > 0 && k > max {
			k = max
		}
		dst = append(dst, m.sys[:k]...)
		clear(m.sys[:k])
		if k == len(m.sys) {
			m.sys = m.sys[:0]
			if cap(m.sys) > keepCap {
				m.sys = nil
			}
		} else {
			m.sys = append(m.sys[:0], m.sys[k:]...)
		}
		taken = k
	}
	if m.count > 0 && (max <= 0 || taken < max) {
		k := m.count
		if max > 0 && k > max-taken {
			k = max - taken
		}
		end := min(m.head+k, len(m.ring))
		dst = append(dst, m.ring[m.head:end]...)
		clear(m.ring[m.head:end])
		if rest := k - (end - m.head); rest > 0 {
			dst = append(dst, m.ring[:rest]...)
			clear(m.ring[:rest])
		}
		m.head = (m.head + k) & (len(m.ring) - 1)
		m.count -= k
		taken += k
		if m.count == 0 {
			m.head = 0
			m.shrink()
		}
	}
	m.n.Add(-int64(taken))
	m.mu.Unlock()
	return dst
}

// Close refuses every later Push and returns what was still queued, system
// lane first. Closing twice returns nothing the second time.
func (m *Mailbox[T]) Close() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	rest := m.sys
	for i := 0; i < m.count; i++ {
		rest = append(rest, m.ring[(m.head+i)&(len(m.ring)-1)])
	}
	m.sys, m.ring, m.head, m.count, m.peak, m.quiet = nil, nil, 0, 0, 0, 0
	m.n.Store(0)
	return rest
}
