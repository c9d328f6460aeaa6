package mailbox

import (
	"errors"
	"sync"
	"testing"
	"unsafe"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSystemLaneFirstAndBatch(t *testing.T) {
	var m Mailbox[int]
	for i := 1; i <= 3; i++ {
		if _, err := m.Push(i, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.PushSystem(100); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 4 {
		t.Fatalf("Len = %d, want 4", m.Len())
	}
	got := m.Drain(nil, 2)
	if len(got) != 2 || got[0] != 100 || got[1] != 1 {
		t.Fatalf("first batch = %v, want [100 1]", got)
	}
	got = m.Drain(got[:0], 0)
	if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("second batch = %v, want [2 3]", got)
	}
	if m.Len() != 0 || len(m.Drain(nil, 0)) != 0 {
		t.Fatal("mailbox not empty after draining")
	}
}

func TestWasEmpty(t *testing.T) {
	var m Mailbox[int]
	if e, _ := m.Push(1, 0); !e {
		t.Fatal("first push must report empty")
	}
	if e, _ := m.PushSystem(2); e {
		t.Fatal("second push must not report empty")
	}
	m.Drain(nil, 0)
	if e, _ := m.PushSystem(3); !e {
		t.Fatal("push after drain must report empty")
	}
}

func TestBound(t *testing.T) {
	var m Mailbox[int]
	for i := 0; i < 3; i++ {
		if _, err := m.Push(i, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Push(9, 3); !errors.Is(err, ErrFull) {
		t.Fatalf("push over bound: %v, want ErrFull", err)
	}
	if _, err := m.PushSystem(9); err != nil {
		t.Fatalf("system lane must not be bounded: %v", err)
	}
	m.Drain(nil, 2)
	if _, err := m.Push(10, 3); err != nil {
		t.Fatalf("push after partial drain: %v", err)
	}
}

func TestClose(t *testing.T) {
	var m Mailbox[int]
	m.Push(1, 0)
	m.PushSystem(2)
	rest := m.Close()
	if len(rest) != 2 || rest[0] != 2 || rest[1] != 1 {
		t.Fatalf("Close returned %v, want [2 1]", rest)
	}
	if _, err := m.Push(3, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v", err)
	}
	if _, err := m.PushSystem(3); !errors.Is(err, ErrClosed) {
		t.Fatalf("system push after close: %v", err)
	}
	if m.Close() != nil || m.Len() != 0 {
		t.Fatal("second close must return nothing")
	}
}

// rings returns the sizes of the producers' and the consumer's rings.
func (m *Mailbox[T]) rings() (int, int) { return len(m.ring), m.spareLen() }

// pushDrain pushes n items into m and drains them all in one call.
func pushDrain(t *testing.T, m *Mailbox[int], n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		m.Push(i, 0)
	}
	if got := len(m.Drain(nil, 0)); got != n {
		t.Fatalf("drained %d of %d", got, n)
	}
}

func TestShrinks(t *testing.T) {
	var m Mailbox[int]
	burst := func() { pushDrain(t, &m, 1000) }
	// Two bursts: the producers fill one ring while the consumer holds
	// the other.
	burst()
	burst()
	r, o := m.rings()
	if r < 1000 || o < 1000 {
		t.Fatalf("rings %d and %d for bursts of 1000", r, o)
	}
	// Bursts of the same size again reuse the rings: no allocation.
	for i := 0; i < 4; i++ {
		burst()
		if r2, o2 := m.rings(); max(r2, o2) != max(r, o) || min(r2, o2) != min(r, o) {
			t.Fatalf("rings changed to %d and %d on a same-size burst", r2, o2)
		}
	}
	// Quiet use halves them step by step, down to keepCap: a ring of n
	// after shrinkItems*n items of it.
	for round := 0; round < 64*shrinkItems*r; round++ {
		if r, o := m.rings(); r <= keepCap && o <= keepCap {
			break
		}
		m.Push(1, 0)
		m.Drain(nil, 0)
	}
	if r, o := m.rings(); r > keepCap || o > keepCap {
		t.Fatalf("rings %d and %d after long quiet use, want at most %d", r, o, keepCap)
	}
	for i := 0; i < 4*shrinkItems*keepCap; i++ {
		m.Push(1, 0)
		m.Drain(nil, 0)
	}
	if r, o := m.rings(); r == 0 && o == 0 {
		t.Fatal("small rings not kept")
	}
}

// A mailbox that never empties (producers outpace the consumer) keeps a
// ring proportional to its backlog, not to everything ever pushed.
func TestNeverEmptyStaysBounded(t *testing.T) {
	var m Mailbox[int]
	for i := 0; i < 10; i++ {
		m.Push(i, 0)
	}
	next, out := 0, []int(nil)
	for round := 0; round < 100000; round++ {
		m.Push(10+round, 0)
		out = m.Drain(out[:0], 1)
		if out[0] != next {
			t.Fatalf("got %d, want %d", out[0], next)
		}
		next++
	}
	if r, o := m.rings(); r > 16 || o > 16 {
		t.Fatalf("rings grew to %d and %d for a backlog of 10", r, o)
	}
}

// Wrap-around order through growth and partial drains.
func TestRingOrder(t *testing.T) {
	var m Mailbox[int]
	next, want := 0, 0
	var out []int
	for round := 0; round < 2000; round++ {
		for i := 0; i < round%7+1; i++ {
			m.Push(next, 0)
			next++
		}
		out = m.Drain(out[:0], round%5+1)
		for _, v := range out {
			if v != want {
				t.Fatalf("got %d, want %d", v, want)
			}
			want++
		}
	}
	out = m.Drain(out[:0], 0)
	for _, v := range out {
		if v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
		want++
	}
	if want != next || m.Len() != 0 {
		t.Fatalf("drained %d of %d", want, next)
	}
}

// Per-producer order holds with many producers and one batch consumer.
func TestConcurrentOrder(t *testing.T) {
	type item struct{ prod, seq int }
	var m Mailbox[item]
	const producers, per = 8, 20000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := m.Push(item{p, i}, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, producers)
	total := 0
	var buf []item
	for total < producers*per {
		buf = m.Drain(buf[:0], 128)
		for _, it := range buf {
			if it.seq != next[it.prod] {
				t.Fatalf("producer %d: got %d, want %d", it.prod, it.seq, next[it.prod])
			}
			next[it.prod]++
		}
		total += len(buf)
	}
	wg.Wait()
}

func BenchmarkPushDrain(b *testing.B) {
	var m Mailbox[[96]byte]
	var buf [][96]byte
	var v [96]byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Push(v, 0)
		if i%64 == 63 {
			buf = m.Drain(buf[:0], 0)
		}
	}
}

// BenchmarkContended: two producers push while one consumer drains in
// batches of up to 1,024, as a receiver behind many senders does.
func BenchmarkContended(b *testing.B) {
	var m Mailbox[[112]byte]
	var v [112]byte
	var wg sync.WaitGroup
	per := b.N / 2
	b.ReportAllocs()
	b.ResetTimer()
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				m.Push(v, 0)
			}
		}()
	}
	var buf [][112]byte
	for got := 0; got < 2*per; {
		buf = m.Drain(buf[:0], 1024)
		got += len(buf)
	}
	wg.Wait()
}

// Every push is either refused (ErrClosed), drained, or returned by
// Close: nothing is lost when the consumer closes while producers push
// and part of the lane is in the consumer's hands.
func TestCloseAccountsEveryPush(t *testing.T) {
	for round := 0; round < 20; round++ {
		var m Mailbox[int]
		var wg sync.WaitGroup
		var mu sync.Mutex
		accepted := 0
		for p := 0; p < 4; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for i := 0; i < 5000; i++ {
					if _, err := m.Push(i, 0); err == nil {
						n++
					} else if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					if i%50 == 0 {
						m.PushSystem(-1)
					}
				}
				mu.Lock()
				accepted += n
				mu.Unlock()
			}()
		}
		seen := 0
		var buf []int
		for i := 0; i < 100+round*40; i++ {
			buf = m.Drain(buf[:0], 7)
			for _, v := range buf {
				if v >= 0 {
					seen++
				}
			}
		}
		for _, v := range m.Close() {
			if v >= 0 {
				seen++
			}
		}
		wg.Wait()
		if seen != accepted {
			t.Fatalf("round %d: %d pushes accepted, %d drained or returned by Close", round, accepted, seen)
		}
	}
}

// The bound counts what the consumer has taken over but not handed out.
func TestBoundCountsConsumerRing(t *testing.T) {
	var m Mailbox[int]
	for i := 0; i < 4; i++ {
		m.Push(i, 4)
	}
	if got := m.Drain(nil, 1); len(got) != 1 || got[0] != 0 {
		t.Fatalf("Drain = %v, want [0]", got)
	}
	// Three are still queued (in the consumer's ring): one more fits.
	if _, err := m.Push(4, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Push(5, 4); !errors.Is(err, ErrFull) {
		t.Fatalf("push over bound: %v, want ErrFull", err)
	}
	if got := m.Drain(nil, 0); len(got) != 4 || got[0] != 1 || got[3] != 4 {
		t.Fatalf("Drain = %v, want [1 2 3 4]", got)
	}
}

// A receiver that gets a burst now and then and small batches between
// (a remote sender's window: a backlog of thousands, then a trickle)
// keeps its rings: halving them after a run of small drains and growing
// them at the next burst copied megabytes per burst.
func TestBurstsBetweenTrickleKeepRings(t *testing.T) {
	var m Mailbox[int]
	burst := func() { pushDrain(t, &m, 1000) }
	burst()
	burst()
	r, o := m.rings()
	for round := 0; round < 20; round++ {
		for range 100 {
			pushDrain(t, &m, 1)
		}
		burst()
		if r2, o2 := m.rings(); max(r2, o2) != max(r, o) || min(r2, o2) != min(r, o) {
			t.Fatalf("round %d: rings %d and %d, were %d and %d", round, r2, o2, r, o)
		}
	}
}

// A convoy hops from one mailbox to the next on one goroutine: the ring
// the drain of the first emptied is the ring the second fills, in order,
// holding no stale items, and the small rings stay with their mailboxes.
func TestRingsLendEmptiedRing(t *testing.T) {
	var rings Rings[*int]
	var a, b Mailbox[*int]
	vals := make([]int, 100)
	for i := range vals {
		vals[i] = i
		v := &vals[i]
		if _, err := a.PushRings(&v, 0, &rings); err != nil {
			t.Fatal(err)
		}
	}
	ringA := &a.ring[0]
	got := a.DrainRings(nil, 0, &rings)
	// The rings a outgrew were kept too; the one it drained is the last.
	last := len(rings.free) - 1
	if len(got) != 100 || a.ring != nil || last < 0 || &rings.free[last][0] != ringA {
		t.Fatalf("drained %d; a's ring %v; free %d: want 100 drained and a's ring lent", len(got), a.ring != nil, len(rings.free))
	}
	for _, r := range rings.free {
		for _, v := range r {
			if v != nil {
				t.Fatal("a kept ring still references an item")
			}
		}
	}
	kept := len(rings.free)
	for _, p := range got {
		if _, err := b.PushRings(&p, 0, &rings); err != nil {
			t.Fatal(err)
		}
	}
	if &b.ring[0] != ringA || len(rings.free) != kept-1 {
		t.Fatal("b did not reuse the ring a lent")
	}
	for i, p := range b.Drain(nil, 0) {
		if *p != i {
			t.Fatalf("item %d is %d: order lost", i, *p)
		}
	}
	// A ring under lendMin stays with its mailbox.
	var c Mailbox[*int]
	var none Rings[*int]
	for i := range lendMin / 2 {
		v := &vals[i]
		c.PushRings(&v, 0, &none)
	}
	c.DrainRings(nil, 0, &none)
	if c.ring == nil || len(none.free) != 0 {
		t.Fatal("a small ring was lent")
	}
}

// Rings keeps at most ringsMax rings of ringsItems items in all, dropping
// the smallest, and get hands out the largest.
func TestRingsBounded(t *testing.T) {
	var rings Rings[int]
	for i := range 3 * ringsMax {
		if n := lendMin << (i % 5); rings.room(n) {
			rings.put(make([]int, n))
		}
	}
	if len(rings.free) > ringsMax || rings.size > ringsItems {
		t.Fatalf("%d rings of %d items kept", len(rings.free), rings.size)
	}
	if rings.room(lendMin-1) || rings.room(ringsItems+1) || (*Rings[int])(nil).room(64) {
		t.Fatal("room for a ring under lendMin, over ringsItems, or in no Rings")
	}
	if b := rings.get(2 * ringsItems); b != nil {
		t.Fatal("get returned a ring smaller than asked")
	}
	if b := rings.get(4); len(b) != lendMin<<4 {
		t.Fatalf("get(4) gave a ring of %d, want the largest, %d", len(b), lendMin<<4)
	}
}

// A mailbox fed by a goroutine without a Rings (a remote peer's reader)
// keeps its ring when a worker drains it: lending it would make every
// burst from the reader grow a ring from nothing.
func TestRingsKeptWhenFedWithout(t *testing.T) {
	var rings Rings[int]
	var m Mailbox[int]
	for i := range 100 {
		m.Push(i, 0)
	}
	ring := &m.ring[0]
	if got := len(m.DrainRings(nil, 0, &rings)); got != 100 {
		t.Fatalf("drained %d of 100", got)
	}
	if m.ring == nil || &m.ring[0] != ring || len(rings.free) != 0 {
		t.Fatal("the ring of a mailbox fed without a Rings was lent")
	}
}

// A process sent one message, that got a large ring from the sender's
// Rings, does not keep it when the drain cannot lend it back (a ring over
// ringsItems, which no Rings keeps).
func TestRingsOversizedNotKept(t *testing.T) {
	var sender, drainer Rings[int]
	sender.free, sender.size = [][]int{make([]int, 2*ringsItems)}, 2*ringsItems
	var m Mailbox[int]
	one := 1
	m.PushRings(&one, 0, &sender)
	if len(m.ring) != 2*ringsItems {
		t.Fatalf("ring %d, want the sender's %d", len(m.ring), 2*ringsItems)
	}
	m.DrainRings(nil, 0, &drainer)
	if m.ring != nil || len(drainer.free) != 0 {
		t.Fatalf("kept a ring of %d for one message", len(m.ring))
	}
}

// A convoy longer than copyMax is taken over whole; once handed out, that
// ring is lent like one emptied by a copy.
func TestRingsLendTakenRing(t *testing.T) {
	var rings Rings[int]
	var m Mailbox[int]
	for i := range 2 * copyMax {
		m.PushRings(&i, 0, &rings)
	}
	ring := &m.ring[0]
	before := len(rings.free)
	if got := m.DrainRings(nil, 0, &rings); len(got) != 2*copyMax || got[2*copyMax-1] != 2*copyMax-1 {
		t.Fatalf("drained %d", len(got))
	}
	if len(rings.free) != before+1 || &rings.free[len(rings.free)-1][0] != ring || m.taken.buf != nil {
		t.Fatal("the handed-out ring was not lent")
	}
}

// Reserve hands out the next slot, zero, under the lock; Commit queues it
// in order and reports an empty mailbox once. A refused Reserve holds
// nothing: the next call still gets the lock.
func TestReserveCommit(t *testing.T) {
	var m Mailbox[[2]int]
	for i := range 100 {
		slot, err := m.Reserve(0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *slot != ([2]int{}) {
			t.Fatalf("slot %d not zero: %v", i, *slot)
		}
		slot[0], slot[1] = i, -i
		if wasEmpty := m.Commit(); wasEmpty != (i == 0) {
			t.Fatalf("commit %d: wasEmpty %v", i, wasEmpty)
		}
	}
	got := m.Drain(nil, 0)
	for i, v := range got {
		if v != [2]int{i, -i} {
			t.Fatalf("item %d is %v: order lost", i, v)
		}
	}
	for i := range 3 {
		if _, err := m.Push([2]int{i}, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Reserve(3, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("Reserve past the bound: %v, want ErrFull", err)
	}
	if _, err := m.Push([2]int{9}, 0); err != nil { // the refused Reserve left the lock free
		t.Fatal(err)
	}
	m.Close()
	if _, err := m.Reserve(0, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reserve after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Push([2]int{}, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after a refused Reserve: %v", err)
	}
}

// The lock is a Mailbox's first field: the runtime keeps a process's
// hottest runner field off its cache line by the mailbox's offset
// (runtime's TestKillOffTheMailboxLockLine).
func TestLockFirst(t *testing.T) {
	var m Mailbox[int]
	if off := unsafe.Offsetof(m.mu); off != 0 {
		t.Fatalf("mu at offset %d", off)
	}
}
