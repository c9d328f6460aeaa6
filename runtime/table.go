package runtime

import "sync"

const tableShards = 64

// table maps local PID sequence numbers to live processes.
type table struct {
	shards [tableShards]struct {
		mu sync.RWMutex
		m  map[uint64]*process
		_  [32]byte
	}
}

func newTable() *table {
	t := &table{}
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]*process)
	}
	return t
}

func (t *table) get(seq uint64) *process {
	s := &t.shards[seq%tableShards]
	s.mu.RLock()
	p := s.m[seq]
	s.mu.RUnlock()
	return p
}

func (t *table) put(p *process) {
	s := &t.shards[p.pid.Seq%tableShards]
	s.mu.Lock()
	s.m[p.pid.Seq] = p
	s.mu.Unlock()
}

func (t *table) del(seq uint64) {
	s := &t.shards[seq%tableShards]
	s.mu.Lock()
	delete(s.m, seq)
	if len(s.m) == 0 {
		// Let a shard's buckets go after a burst of processes has ended.
		s.m = make(map[uint64]*process)
	}
	s.mu.Unlock()
}

func (t *table) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// each calls f for every live process (a snapshot per shard).
func (t *table) each(f func(p *process)) {
	var buf []*process
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		buf = buf[:0]
		for _, p := range s.m {
			buf = append(buf, p)
		}
		s.mu.RUnlock()
		for _, p := range buf {
			f(p)
		}
	}
}

// tableEntry is one process of a table snapshot.
type tableEntry struct {
	seq uint64
	p   *process
}

// snapshot appends every live process to dst with its sequence number, a
// shard at a time: a shard's read lock is held only to copy its entries.
func (t *table) snapshot(dst []tableEntry) []tableEntry {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for seq, p := range s.m {
			dst = append(dst, tableEntry{seq, p})
		}
		s.mu.RUnlock()
	}
	return dst
}
