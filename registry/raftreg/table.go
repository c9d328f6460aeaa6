package raftreg

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Log entries. Data is one of:
//
//   - empty: a no-op that a new leader commits to learn that every earlier
//     entry is applied (its barrier);
//   - an fsm command (fsm.EncodeCommand), as written before batching;
//   - a batch of commands (fsm.EncodeBatch, first byte fsm.OpBatch), all
//     applied at the entry's index (batch.go).
//
// Extensions carry big-endian 8-byte proposal ids of the node that
// proposed the entry, which that node uses to hand results to the waiting
// callers; other nodes ignore them. A no-op or a single command has its
// id or nothing; a batch has its own id, then one per command in order,
// or nothing. This layout is stored in Raft logs: change it only with a
// new marker that old entries cannot have.

// result is the outcome of one committed entry.
type result struct {
	err    error   // nil, registry.ErrAlreadyExists, ErrNotFound, ErrNotOwner, or a wrapped fsm.ErrBadCommand
	owner  pid.PID // holder, with ErrAlreadyExists and ErrNotOwner
	index  uint64
	term   uint64 // a batch entry's own result: the entry's term
	active bool   // a Reserve found its name active already
}

// table is the raft.FSM of the registry: the fsm table behind a RWMutex,
// the watchers, the callers waiting for their proposals and the revoke
// hook. Raft applies entries from one goroutine; readers take the read
// lock.
type table struct {
	node string

	mu       sync.RWMutex
	f        *fsm.FSM
	applied  chan struct{} // closed and replaced after each applied batch
	watchers map[*watcher]struct{}
	closed   bool

	waitMu  sync.Mutex
	waiting map[uint64]chan result
	results []delivery // of the batch being applied, handed over at its end

	feed   *feed // clients' subscriptions (a member's table); nil on a client
	revoke atomic.Pointer[func(string, pid.PID)]
	claim  atomic.Pointer[func(string, pid.PID)]
	// downed is called after an entry releasing this node's own names
	// (the cluster declared it dead) is applied: its lock holders are
	// fenced (locks.go).
	downed   atomic.Pointer[func()]
	names    atomic.Int64
	strong   atomic.Int64
	npending atomic.Int64
	revoked  atomic.Uint64
	bad      atomic.Uint64 // entries that did not decode (a bug, or a newer node's format)

	// conf is the latest committed configuration this replica applied
	// (raft.ConfigurationStore), and onConf, set by tests before Start,
	// sees each one in log order.
	conf     atomic.Pointer[raft.Configuration]
	onConf   func(index uint64, c raft.Configuration)
	confWake broadcast
}

var (
	_ raft.BatchingFSM        = (*table)(nil)
	_ raft.ConfigurationStore = (*table)(nil)
)

// StoreConfiguration implements raft.ConfigurationStore: it sees, in log
// order with the entries, each configuration entry committed (raft hands
// them to ApplyBatch, which calls it).
func (t *table) StoreConfiguration(index uint64, c raft.Configuration) {
	c = c.Clone()
	t.conf.Store(&c)
	if t.onConf != nil {
		t.onConf(index, c)
	}
	t.confWake.notify()
}

func newTable(node string) *table {
	return &table{
		node:     node,
		f:        fsm.New(),
		applied:  make(chan struct{}),
		watchers: make(map[*watcher]struct{}),
		waiting:  make(map[uint64]chan result),
	}
}

// expect registers a proposal id; its result arrives on the returned
// channel (buffered) when the entry is applied here. Call drop when no
// longer waiting.
func (t *table) expect(id uint64) chan result {
	ch := make(chan result, 1)
	t.waitMu.Lock()
	t.waiting[id] = ch
	t.waitMu.Unlock()
	return ch
}

func (t *table) drop(id uint64) {
	t.waitMu.Lock()
	delete(t.waiting, id)
	t.waitMu.Unlock()
}

// Apply implements raft.FSM.
func (t *table) Apply(l *raft.Log) any {
	return t.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: one lock for the batch, then the
// results, watchers and hooks (OnRevoke, OnClaim) in log order.
func (t *table) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var hooked []registry.Event
	var fed []fedEntry
	self := false // an entry released this node's names
	t.mu.Lock()
	for i, l := range logs {
		// An entry at or below the table's index is one this replica
		// already holds: a node that was outside the configuration kept a
		// fed copy (client.go) and is now replicated by raft from an
		// older point.
		if l.Type == raft.LogConfiguration {
			// A batching FSM gets configurations here, not through
			// StoreConfiguration.
			t.StoreConfiguration(l.Index, raft.DecodeConfiguration(l.Data))
			continue
		}
		if l.Type != raft.LogCommand || len(l.Data) > 0 && l.Index <= t.f.Index() {
			continue
		}
		if t.feed != nil && len(l.Data) > 0 && t.feed.any.Load() {
			fed = append(fed, fedEntry{index: l.Index, data: bytes.Clone(l.Data)})
		}
		if fsm.IsBatch(l.Data) {
			hooked = t.applyBatchLocked(l, hooked, &self)
			continue
		}
		res := result{index: l.Index}
		if len(l.Data) > 0 {
			cmd, err := fsm.DecodeCommand(l.Data)
			if err != nil {
				t.bad.Add(1)
				res.err = err
			} else {
				r := t.f.Apply(l.Index, cmd)
				res.err, res.owner, res.active = r.Err, r.Owner, r.Active
				self = self || t.downsSelf(cmd)
				t.publishLocked(r.Changes)
				hooked = t.collectHooked(hooked, r.Changes)
			}
		}
		out[i] = res
		t.keep(l.Extensions, res)
	}
	t.counted()
	t.handOver()
	if t.feed != nil {
		t.feed.applied(fed)
	}
	close(t.applied)
	t.applied = make(chan struct{})
	t.mu.Unlock()
	t.runHooks(hooked)
	if f := t.downed.Load(); self && f != nil {
		(*f)()
	}
	return out
}

// downsSelf reports whether cmd releases the names of this node.
func (t *table) downsSelf(cmd fsm.Command) bool {
	rn, ok := cmd.(fsm.ReleaseNode)
	return ok && rn.Node == t.node
}

// applyBatchLocked applies a batch entry and hands each command's result
// to its caller, then the entry's own id its index; t.mu is held for
// writing.
func (t *table) applyBatchLocked(l *raft.Log, hooked []registry.Event, self *bool) []registry.Event {
	cmds, err := fsm.DecodeBatch(l.Data)
	ids := l.Extensions
	if err != nil {
		t.bad.Add(1)
		for k := 8; k+8 <= len(ids); k += 8 {
			t.keep(ids[k:k+8], result{err: err, index: l.Index})
		}
		if len(ids) >= 8 {
			t.keep(ids[:8], result{index: l.Index})
		}
		return hooked
	}
	if len(ids) != 8*(len(cmds)+1) {
		ids = nil
	}
	for _, c := range cmds {
		*self = *self || t.downsSelf(c)
	}
	for k, r := range t.f.ApplyBatch(l.Index, cmds) {
		t.publishLocked(r.Changes)
		hooked = t.collectHooked(hooked, r.Changes)
		if ids != nil {
			t.keep(ids[8*(k+1):8*(k+2)], result{err: r.Err, owner: r.Owner, index: l.Index, active: r.Active})
		}
	}
	if ids != nil {
		t.keep(ids[:8], result{index: l.Index, term: l.Term})
	}
	return hooked
}

// delivery is the result of the proposal whose id is ext.
type delivery struct {
	ext []byte
	res result
}

// keep holds res for the caller waiting on the proposal id in ext while a
// batch is applied; t.mu is held for writing. handOver delivers what was
// kept once the batch is applied and the gauges count it, so that a
// caller told its register committed reads a names count with it.
func (t *table) keep(ext []byte, res result) {
	if len(ext) == 8 {
		t.results = append(t.results, delivery{ext, res})
	}
}

func (t *table) handOver() {
	for i, d := range t.results {
		t.deliver(d.ext, d.res)
		t.results[i] = delivery{}
	}
	t.results = t.results[:0]
}

// deliver hands res to the caller waiting on the proposal id in ext.
func (t *table) deliver(ext []byte, res result) {
	if len(ext) != 8 {
		return
	}
	id := binary.BigEndian.Uint64(ext)
	t.waitMu.Lock()
	ch := t.waiting[id]
	delete(t.waiting, id)
	t.waitMu.Unlock()
	if ch != nil {
		ch <- res
	}
}

// collectHooked keeps what the hooks hear of: the releases that took a
// name from a process of this node by a decision of the cluster (node
// down, or a snapshot that no longer has it) rather than by the process
// itself (OnRevoke), and the names given to processes of this node
// (OnClaim).
func (t *table) collectHooked(acc []registry.Event, evs []registry.Event) []registry.Event {
	for _, ev := range evs {
		if ev.PID.Node != t.node {
			continue
		}
		switch {
		case ev.Kind == registry.EventRegistered,
			ev.Kind == registry.EventUnregistered && (ev.Cause == registry.CauseNodeDown || ev.Cause == registry.CauseRestore):
			acc = append(acc, ev)
		}
	}
	return acc
}

// runHooks runs the hooks for what collectHooked kept, in order.
func (t *table) runHooks(evs []registry.Event) {
	if len(evs) == 0 {
		return
	}
	revoke, claim := t.revoke.Load(), t.claim.Load()
	for _, ev := range evs {
		switch {
		case ev.Kind == registry.EventRegistered:
			if claim != nil {
				(*claim)(ev.Name, ev.PID)
			}
		default:
			t.revoked.Add(1)
			if revoke != nil {
				(*revoke)(ev.Name, ev.PID)
			}
		}
	}
}

// Snapshot implements raft.FSM: the bytes are made now, under the read
// lock, so Persist runs alongside later applies.
func (t *table) Snapshot() (raft.FSMSnapshot, error) {
	t.mu.RLock()
	b, err := t.f.Snapshot()
	t.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	return snapshot(b), nil
}

// Restore implements raft.FSM.
func (t *table) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("raftreg: reading snapshot: %w", err)
	}
	t.mu.Lock()
	if at, err := fsm.SnapshotIndex(b); err == nil && at <= t.f.Index() && t.f.Index() > 0 {
		// Not older than what this replica holds (a fed copy before it
		// joined the configuration): keep it, and the reads monotonic.
		t.mu.Unlock()
		return nil
	}
	evs, err := t.f.Restore(b)
	if err == nil {
		t.publishLocked(evs)
		t.counted()
		if t.feed != nil {
			t.feed.restored()
		}
		close(t.applied)
		t.applied = make(chan struct{})
	}
	t.mu.Unlock()
	if err != nil {
		return err
	}
	t.runHooks(t.collectHooked(nil, evs))
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (snapshot) Release() {}

// counted updates the gauges; t.mu is held.
func (t *table) counted() {
	t.names.Store(int64(t.f.Len()))
	t.strong.Store(int64(t.f.Strong()))
	t.npending.Store(int64(len(t.f.Pending())))
}

// Reads of the local replica.

func (t *table) get(name string) (registry.Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.f.Get(name)
}

func (t *table) pending() []registry.Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.f.Pending()
}

func (t *table) lookup(name string) (pid.PID, bool) {
	t.mu.RLock()
	p, ok := t.f.Lookup(name)
	t.mu.RUnlock()
	return p, ok
}

func (t *table) index() uint64 {
	t.mu.RLock()
	i := t.f.Index()
	t.mu.RUnlock()
	return i
}

func (t *table) list() []registry.Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.f.List()
}

// listUpTo is list when the replica holds at most limit names; otherwise
// nil. It also returns the replica's size.
func (t *table) listUpTo(limit int) ([]registry.Entry, int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.f.Len(); n > limit {
		return nil, n
	}
	l := t.f.List()
	return l, len(l)
}

func (t *table) holds(p pid.PID) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.f.NamesOf(p)) > 0 || t.f.HoldsLock(p)
}

func (t *table) nodes() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.f.Nodes()
}

// waitIndex returns once the replica has applied index i.
func (t *table) waitIndex(ctx context.Context, i uint64) error {
	for {
		t.mu.RLock()
		done, ch := t.f.Index() >= i, t.applied
		t.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Watchers.

type watcher struct {
	t    *table
	ch   chan registry.Event
	done chan struct{}
	err  atomic.Pointer[error]
}

var _ registry.Watcher = (*watcher)(nil)

// watch subscribes: the current table as CauseSync events, then every
// change, in one order, because both happen under the write lock.
func (t *table) watch(buffer int) (*watcher, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, registry.ErrClosed
	}
	list := t.f.List()
	w := &watcher{t: t, ch: make(chan registry.Event, len(list)+buffer), done: make(chan struct{})}
	idx := t.f.Index()
	for _, e := range list {
		w.ch <- registry.Event{Kind: registry.EventRegistered, Cause: registry.CauseSync, Name: e.Name, PID: e.PID, Index: idx}
	}
	t.watchers[w] = struct{}{}
	return w, nil
}

func (t *table) publishLocked(evs []registry.Event) {
	if len(evs) == 0 || len(t.watchers) == 0 {
		return
	}
	for w := range t.watchers {
		for _, ev := range evs {
			select {
			case w.ch <- ev:
			default:
				w.endLocked(registry.ErrWatchLagged)
			}
			if _, ok := t.watchers[w]; !ok {
				break
			}
		}
	}
}

// close ends every watcher with ErrClosed and refuses new ones.
func (t *table) close() {
	t.mu.Lock()
	t.closed = true
	for w := range t.watchers {
		w.endLocked(registry.ErrClosed)
	}
	t.mu.Unlock()
}

// endLocked stops w with err; t.mu is held for writing.
func (w *watcher) endLocked(err error) {
	if _, ok := w.t.watchers[w]; !ok {
		return
	}
	delete(w.t.watchers, w)
	w.err.Store(&err)
	close(w.ch)
	close(w.done)
}

func (w *watcher) end(err error) {
	w.t.mu.Lock()
	w.endLocked(err)
	w.t.mu.Unlock()
}

// Events implements registry.Watcher.
func (w *watcher) Events() <-chan registry.Event { return w.ch }

// Err implements registry.Watcher.
func (w *watcher) Err() error {
	if p := w.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Stop implements registry.Watcher.
func (w *watcher) Stop() { w.end(registry.ErrClosed) }
