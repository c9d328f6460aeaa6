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

// keepCap is the ring size a mailbox may always keep. A larger ring is
// halved once the drains and hand-overs since it was last well used (a
// quarter full or more) have carried shrinkItems times its size, each of
// them under a quarter of it. Dropping a large ring as soon as it emptied
// made a process that is sent bursts (tokens bunching up in a ring)
// reallocate it burst after burst: most of the allocation, and most of the
// GC work, of the ring benchmark. Counting drains instead of items (32 in
// a row) still did so for a receiver with a backlog of tens of thousands
// (a remote sender's window): between two bursts it drains many small
// batches, so its rings of megabytes were halved, and grown and copied
// again at the next burst, hundreds of times a second. Counted in items,
// halving a ring costs at most one copy of it per shrinkItems rings of
// traffic.
const (
	keepCap     = 64
	shrinkItems = 4
)

// Mailbox is a two-lane queue. The zero value is an empty, open mailbox.
//
// Producers append to a ring under mu. The consumer does not copy out of
// that ring under the lock: it takes the whole ring at once (an O(1) swap
// with the empty ring it finished before) and hands its items out without
// the lock. A push therefore never waits behind a drain's copy, which was
// most of the lock's contention with many senders and one receiver.
type Mailbox[T any] struct {
	mu     sync.Mutex
	n      atomic.Int64 // items not yet drained, both lanes; read without the lock
	nsys   atomic.Int32 // items in the system lane
	closed bool         // mu
	lend   bool         // mu: the last push came with a Rings, so an emptied ring may go to one
	ring   []T          // mu: ordinary lane, a ring of power-of-two size; nil until first used
	head   int32        // mu: index of the oldest item in ring
	count  int32        // mu: items in ring
	sys    *[]T         // mu: system lane, made on first use (most processes never get a system item while alive)
	// taken is the consumer's side: a ring taken over from the producers,
	// the oldest ordinary items, handed out before anything pushed since.
	// It is made the first time a drain finds many items queued: a
	// pointer keeps the mailbox (part of every process) small.
	taken *takenRing[T]
}

// takenRing is a ring the consumer took over; only the consumer uses it.
// It also holds quiet (under the mailbox's lock): the items carried by the
// drains and hand-overs in a row that used under a quarter of the larger
// ring (see keepCap). Only a mailbox with a ring above keepCap needs it.
type takenRing[T any] struct {
	buf   []T
	head  int32
	count int32
	quiet int64
	lend  bool // buf was last pushed to with a Rings (Mailbox.lend when taken)
}

// addQuiet counts k items of quiet use and reports whether that makes a
// ring of size big due for halving.
func (m *Mailbox[T]) addQuiet(k, big int) bool {
	if m.taken == nil {
		m.taken = &takenRing[T]{}
	}
	m.taken.quiet += int64(k)
	return m.taken.quiet >= int64(shrinkItems)*int64(big)
}

// resetQuiet notes a drain or hand-over that used the rings well.
func (m *Mailbox[T]) resetQuiet() {
	if m.taken != nil {
		m.taken.quiet = 0
	}
}

// outCount is how many taken items the consumer has not handed out.
func (m *Mailbox[T]) outCount() int32 {
	if m.taken == nil {
		return 0
	}
	return m.taken.count
}

// spareLen is the size of the consumer's ring.
func (m *Mailbox[T]) spareLen() int {
	if m.taken == nil {
		return 0
	}
	return len(m.taken.buf)
}

// grow doubles the ring, keeping items in order from index 0. The new
// ring comes from rings when it holds one large enough, and the old one
// goes there.
func (m *Mailbox[T]) grow(rings *Rings[T]) {
	size := max(4, 2*len(m.ring))
	next := rings.get(size)
	if next == nil {
		next = make([]T, size)
	}
	if m.count > 0 {
		k := copy(next, m.ring[m.head:min(int(m.head+m.count), len(m.ring))])
		copy(next[k:], m.ring[:int(m.count)-k])
	}
	if old := m.ring; rings.room(len(old)) {
		clear(old) // a kept ring holds no stale references
		rings.put(old)
	}
	m.ring, m.head = next, 0
}

// Rings is a free list of emptied rings, for the goroutine that owns it
// alone (it is not safe for concurrent use). A drain that empties a ring
// of lendMin items or more, last pushed to by a goroutine with a Rings,
// gives it to the draining goroutine's Rings, and a push that needs a
// larger ring takes one from the pushing goroutine's. Messages that travel
// in convoys (tokens bunching up in a ring of processes) then reuse the
// ring the last hop just emptied, still in the processor's cache, instead
// of each process keeping a ring of the convoy's size that is cold by the
// time the convoy comes round again, and only the processes that hold
// messages hold large rings. A mailbox fed by a goroutine without a Rings
// (a remote peer's reader) keeps its ring as before.
type Rings[T any] struct {
	free [][]T
	size int // total items of the rings in free
}

// lendMin is the ring size from which an emptied ring is given away:
// smaller ones stay with their mailbox (a process handling one message at
// a time would otherwise trade rings on every message).
const lendMin = 32

// Bounds of one Rings: at most ringsMax rings, of ringsItems items in all.
const (
	ringsMax   = 8
	ringsItems = 4096
)

// get returns the largest free ring if it has at least n items, else
// nil. The largest: a mailbox that needs a ring is most often the next hop
// of a convoy, and a ring of the convoy's size spares it the grows.
func (r *Rings[T]) get(n int) []T {
	if r == nil || len(r.free) == 0 {
		return nil
	}
	big := 0
	for i := range r.free {
		if len(r.free[i]) > len(r.free[big]) {
			big = i
		}
	}
	b := r.free[big]
	if len(b) < n {
		return nil
	}
	r.remove(big)
	return b
}

// remove drops the ring at index i.
func (r *Rings[T]) remove(i int) {
	last := len(r.free) - 1
	r.size -= len(r.free[i])
	r.free[i] = r.free[last]
	r.free[last] = nil
	r.free = r.free[:last]
}

// room reports whether a ring of n items is worth giving to put: one of
// at least lendMin items, within the bounds.
func (r *Rings[T]) room(n int) bool {
	return r != nil && n >= lendMin && n <= ringsItems
}

// put keeps b, an empty ring (every item zero) that room accepted; past
// the bounds the smallest rings are dropped, b itself if it is smallest.
func (r *Rings[T]) put(b []T) {
	r.free = append(r.free, b)
	r.size += len(b)
	for len(r.free) > ringsMax || r.size > ringsItems {
		small := 0
		for i := range r.free {
			if len(r.free[i]) < len(r.free[small]) {
				small = i
			}
		}
		r.remove(small)
	}
}

// Push appends v to the ordinary lane. limit > 0 bounds the lane: when it
// already holds limit items, Push returns ErrFull. It reports whether the
// mailbox was empty before, which is when the owner may need waking.
func (m *Mailbox[T]) Push(v T, limit int) (wasEmpty bool, err error) {
	return m.PushRings(&v, limit, nil)
}

// PushRings is Push of *v taking a larger ring, when it needs one, from
// rings (the calling goroutine's own; nil for none). v is not kept.
func (m *Mailbox[T]) PushRings(v *T, limit int, rings *Rings[T]) (wasEmpty bool, err error) {
	slot, err := m.Reserve(limit, rings)
	if err != nil {
		return false, err
	}
	*slot = *v
	return m.Commit(), nil
}

// Reserve is the first half of PushRings: it locks m and returns the slot
// the next ordinary item goes to, zero, for the caller to fill and then
// queue with Commit. Filling the slot in place spares a copy of an item
// that was just built: loading a struct from the stores that just wrote
// it stalls (a few ns, most of the cost of an item). On an error nothing
// is held. Between Reserve and Commit the caller only fills the slot.
func (m *Mailbox[T]) Reserve(limit int, rings *Rings[T]) (*T, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	// n counts what the consumer holds but has not handed out yet, so the
	// bound sees the whole ordinary lane.
	if limit > 0 && int(m.n.Load())-int(m.nsys.Load()) >= limit {
		m.mu.Unlock()
		return nil, ErrFull
	}
	if int(m.count) == len(m.ring) {
		m.grow(rings)
	}
	m.lend = rings != nil
	return &m.ring[(int(m.head+m.count))&(len(m.ring)-1)], nil
}

// Commit queues the slot the last Reserve returned and unlocks m. It
// reports whether the mailbox was empty before.
func (m *Mailbox[T]) Commit() (wasEmpty bool) {
	m.count++
	wasEmpty = m.n.Add(1) == 1
	m.mu.Unlock()
	return wasEmpty
}

// PushSystem appends v to the system lane, which is never bounded.
func (m *Mailbox[T]) PushSystem(v T) (wasEmpty bool, err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false, ErrClosed
	}
	if m.sys == nil {
		m.sys = new([]T)
	}
	*m.sys = append(*m.sys, v)
	m.nsys.Add(1)
	wasEmpty = m.n.Add(1) == 1
	m.mu.Unlock()
	return wasEmpty, nil
}

// Len returns the number of queued items. It takes no lock: a concurrent
// Push may or may not be counted.
func (m *Mailbox[T]) Len() int { return int(m.n.Load()) }

// Drain appends up to max items to dst, system lane first, and returns it.
// max <= 0 means no limit. Only the consumer calls it.
func (m *Mailbox[T]) Drain(dst []T, max int) []T { return m.DrainRings(dst, max, nil) }

// DrainRings is Drain giving a ring it empties, when large, to rings (the
// calling goroutine's own; nil for none).
func (m *Mailbox[T]) DrainRings(dst []T, max int, rings *Rings[T]) []T {
	if m.n.Load() == 0 {
		return dst
	}
	taken := 0
	if m.nsys.Load() > 0 || m.outCount() == 0 {
		dst, taken = m.take(dst, max, rings)
	}
	for pass := 0; pass < 2 && (max <= 0 || taken < max); pass++ {
		k := int(m.outCount())
		if max > 0 && k > max-taken {
			k = max - taken
		}
		if k > 0 {
			dst = m.handOut(dst, k)
			taken += k
			if t := m.taken; t.count == 0 && t.lend && rings.room(len(t.buf)) {
				// Handed out (and so cleared): lend it, as copyLocked
				// lends the producers' ring it empties.
				rings.put(t.buf)
				t.buf = nil
			}
		}
		// The consumer's ring ran out: take what the producers queued
		// meanwhile, if this call still wants more.
		if m.outCount() > 0 || (max > 0 && taken >= max) || m.n.Load() == int64(taken) {
			break
		}
		var more int
		dst, more = m.take(dst, max-taken, rings)
		taken += more
	}
	m.n.Add(-int64(taken))
	return dst
}

// take moves system items (up to max) to dst and, when the consumer's ring
// is empty, takes over the producers' ring. It returns dst and how many
// items it appended. max <= 0 means no limit.
func (m *Mailbox[T]) take(dst []T, max int, rings *Rings[T]) ([]T, int) {
	m.mu.Lock()
	taken := 0
	if m.sys != nil && len(*m.sys) > 0 {
		sys := *m.sys
		k := len(sys)
		if max > 0 && k > max {
			k = max
		}
		dst = append(dst, sys[:k]...)
		clear(sys[:k])
		if k == len(sys) {
			*m.sys = sys[:0]
			if cap(sys) > keepCap {
				m.sys = nil
			}
		} else {
			*m.sys = append(sys[:0], sys[k:]...)
		}
		m.nsys.Add(-int32(k))
		taken = k
	}
	if m.outCount() == 0 && m.count > 0 && (max <= 0 || taken < max) {
		if m.count > copyMax {
			m.swapLocked()
		} else {
			k := int(m.count)
			if max > 0 && k > max-taken {
				k = max - taken
			}
			dst = m.copyLocked(dst, k, rings)
			taken += k
		}
	}
	m.mu.Unlock()
	return dst, taken
}

// copyMax is the most items a drain copies out of the producers' ring
// under the lock; past it the consumer takes the whole ring. Copying keeps
// one ring per process: in a ring of 10,000 processes the tokens travel in
// convoys of up to a few hundred, and with a hand-over each process kept
// two rings of a convoy's size (heap 515 MB against 295 MB at 64, 20M
// hops). Swapping keeps the lock short when a backlog is long (a receiver
// with many senders).
const copyMax = 256

// copyLocked appends the k oldest items of the producers' ring to dst.
// When that empties a ring and the quiet use counted (see keepCap) is due,
// the ring is halved and a large spare dropped.
func (m *Mailbox[T]) copyLocked(dst []T, k int, rings *Rings[T]) []T {
	head, size := int(m.head), len(m.ring)
	peak := int(m.count)
	end := min(head+k, size)
	dst = append(dst, m.ring[head:end]...)
	clear(m.ring[head:end])
	if rest := k - (end - head); rest > 0 {
		dst = append(dst, m.ring[:rest]...)
		clear(m.ring[:rest])
	}
	m.head = int32((head + k) & (size - 1))
	m.count -= int32(k)
	if m.count > 0 {
		return dst
	}
	m.head = 0
	if m.lend && rings.room(size) {
		// Emptied: lend the ring to the next process this goroutine
		// pushes a convoy to (see Rings).
		rings.put(m.ring)
		m.ring = nil
		m.resetQuiet()
		return dst
	}
	if m.lend && rings != nil && size > keepCap && peak*4 < size {
		// A ring taken from a Rings for a few items, with no room to
		// give it back: not kept, or processes sent one message each
		// would keep convoy-sized rings while idle.
		m.ring = nil
		m.resetQuiet()
		return dst
	}
	big := max(size, m.spareLen())
	if big <= keepCap || peak*4 >= big {
		m.resetQuiet()
		return dst
	}
	if m.addQuiet(peak, big) {
		m.taken.quiet = 0
		if size > keepCap {
			m.ring = make([]T, size/2)
		}
		if m.spareLen() > keepCap {
			m.taken = nil // empty: taken items are handed out before a copy
		}
	}
	return dst
}

// swapLocked gives the producers the consumer's empty ring and the
// consumer the producers' ring. The producers' ring only fills between
// hand-overs, so its count now is the demand since the last one: once the
// quiet use counted (see keepCap) is due, the ring given to the producers
// is halved (down to keepCap).
func (m *Mailbox[T]) swapLocked() {
	if m.taken == nil {
		m.taken = &takenRing[T]{}
	}
	t := m.taken
	spare, used := t.buf, int(m.count)
	t.buf, t.head, t.count, t.lend = m.ring, m.head, m.count, m.lend
	m.ring, m.head, m.count = spare, 0, 0
	if big := max(len(spare), len(t.buf)); big <= keepCap || used*4 >= big {
		t.quiet = 0
		return
	}
	if m.addQuiet(used, max(len(spare), len(t.buf))) && len(spare) > keepCap && used*4 < len(spare) {
		m.ring = make([]T, len(spare)/2)
		t.quiet = 0
	}
}

// handOut appends the k oldest items of the consumer's ring to dst.
func (m *Mailbox[T]) handOut(dst []T, k int) []T {
	t := m.taken
	head := int(t.head)
	end := min(head+k, len(t.buf))
	dst = append(dst, t.buf[head:end]...)
	clear(t.buf[head:end])
	if rest := k - (end - head); rest > 0 {
		dst = append(dst, t.buf[:rest]...)
		clear(t.buf[:rest])
	}
	t.head = int32((head + k) & (len(t.buf) - 1))
	t.count -= int32(k)
	if t.count == 0 {
		t.head = 0
	}
	return dst
}

// Close refuses every later Push and returns what was still queued, system
// lane first. Closing twice returns nothing the second time. Only the
// consumer calls it.
func (m *Mailbox[T]) Close() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	var rest []T
	if m.sys != nil {
		rest = *m.sys
	}
	if t := m.taken; t != nil {
		for i := int32(0); i < t.count; i++ {
			rest = append(rest, t.buf[int(t.head+i)&(len(t.buf)-1)])
		}
	}
	for i := int32(0); i < m.count; i++ {
		rest = append(rest, m.ring[int(m.head+i)&(len(m.ring)-1)])
	}
	m.sys, m.ring, m.head, m.count = nil, nil, 0, 0
	m.taken = nil
	m.n.Store(0)
	m.nsys.Store(0)
	return rest
}
