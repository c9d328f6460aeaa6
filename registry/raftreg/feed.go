package raftreg

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
)

// A member of the Raft configuration feeds the copies of clients, nodes
// outside it (Config.Client). A client subscribes (opSubscribe, renewed
// every FeedRenew); the member answers with a snapshot of its table, then
// pushes every command entry it applies after it, in log order, on the
// registry stream (framePush):
//
//	feedEntries  1: leader str, prev uint, entries array of [index uint, data bin]
//	feedSnapshot 2: leader str, index uint, page uint, pages uint, chunk bin
//	feedReset    3: (nothing): the subscription is dropped, subscribe again
//
// prev is the index of the last entry pushed before (the snapshot's for
// the first): a client that sees another prev than the index it holds
// missed something and subscribes afresh. The client applies the commands
// to its own table at their indexes, the very replica a member would
// hold, its hooks (revoke, claim) included.

const (
	feedEntries  byte = 1
	feedSnapshot byte = 2
	feedReset    byte = 3
)

// maxFeedQueue bounds the items waiting to be pushed: past it every
// subscription is reset (its client fetches a snapshot again) rather than
// let the queue grow.
const maxFeedQueue = 4096

// maxFeedFrame bounds the entries of one push.
const maxFeedFrame = 1 << 20

// fedEntry is one applied command entry.
type fedEntry struct {
	index uint64
	data  []byte
}

// feedItem is one thing to push: entries to every subscription, a
// snapshot to one, or a reset of all.
type feedItem struct {
	entries []fedEntry
	to      string // a snapshot's subscriber
	snap    []byte
	index   uint64
	reset   bool
}

type subscription struct {
	next    uint64 // index of the last entry pushed (or of its snapshot)
	expires time.Time
}

// feed is a member's subscriptions and the queue of what to push; one
// goroutine (run) pushes. The table adds items while applying, under its
// lock, so a snapshot taken under the same lock and the entries after it
// queue in log order.
type feed struct {
	r     *Registry
	mu    sync.Mutex
	subs  map[string]*subscription
	queue []feedItem
	any   atomic.Bool // subscriptions exist: the table skips the feed otherwise
	wake  chan struct{}
	reset atomic.Uint64
}

func (f *feed) init(r *Registry) {
	f.r = r
	f.subs = make(map[string]*subscription)
	f.wake = make(chan struct{}, 1)
}

// applied queues the command entries the table just applied (t.mu held).
func (f *feed) applied(es []fedEntry) {
	if len(es) == 0 || !f.any.Load() {
		return
	}
	f.add(feedItem{entries: es})
}

// restored tells every subscription to start over (t.mu held).
func (f *feed) restored() {
	if f.any.Load() {
		f.add(feedItem{reset: true})
	}
}

func (f *feed) add(it feedItem) {
	f.mu.Lock()
	if len(f.queue) >= maxFeedQueue {
		f.queue = append(f.queue[:0], feedItem{reset: true})
		f.reset.Add(1)
	} else {
		f.queue = append(f.queue, it)
	}
	f.mu.Unlock()
	signal(f.wake)
}

// subscribe serves a client's opSubscribe: with fresh, a new subscription
// starting with a snapshot at least as recent as from (codeBusy while this
// replica is behind that); without, a renewal (codeNotFound when the
// subscription is unknown here).
func (f *feed) subscribe(node string, fresh bool, from uint64) reply {
	lease := time.Now().Add(3 * f.r.cfg.FeedRenew)
	leader := f.r.leaderName()
	if f.r.outside.Load() {
		// Only members feed: this node's copy is fed itself, or empty.
		return reply{code: codeBusy, leader: leader}
	}
	if !fresh {
		// The table's lock is taken before f.mu, never under it: the
		// table holds its lock while it queues pushes (applied), which
		// takes f.mu (a renewal that read the index under f.mu deadlocked
		// with an apply: TestClientLag hung for 9 minutes).
		index := f.r.table.index()
		f.mu.Lock()
		defer f.mu.Unlock()
		s := f.subs[node]
		if s == nil {
			return reply{code: codeNotFound, leader: leader}
		}
		s.expires = lease
		return reply{code: codeOK, leader: leader, index: index, flag: true}
	}
	t := f.r.table
	t.mu.RLock()
	defer t.mu.RUnlock()
	index := t.f.Index()
	if index < from {
		return reply{code: codeBusy, leader: leader, index: index}
	}
	snap, err := t.f.Snapshot()
	if err != nil {
		return reply{code: codeUnavailable, leader: leader}
	}
	f.mu.Lock()
	f.subs[node] = &subscription{next: index, expires: lease}
	f.any.Store(true)
	f.mu.Unlock()
	f.add(feedItem{to: node, snap: snap, index: index})
	return reply{code: codeOK, leader: leader, index: index}
}

// run pushes what queues, and drops subscriptions not renewed, until the
// registry closes.
func (f *feed) run() {
	t := time.NewTicker(f.r.cfg.FeedRenew)
	defer t.Stop()
	for {
		select {
		case <-f.wake:
		case <-t.C:
			f.expire(time.Now())
		case <-f.r.stopping:
			return
		}
		f.mu.Lock()
		items := f.queue
		f.queue = nil
		f.mu.Unlock()
		for _, it := range items {
			f.push(it)
		}
	}
}

func (f *feed) expire(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for n, s := range f.subs {
		if now.After(s.expires) {
			delete(f.subs, n)
		}
	}
	f.any.Store(len(f.subs) > 0)
}

// push sends one item to its subscribers; one that cannot be sent to is
// dropped.
func (f *feed) push(it feedItem) {
	leader := f.r.leaderName()
	switch {
	case it.reset:
		f.mu.Lock()
		nodes := make([]string, 0, len(f.subs))
		for n := range f.subs {
			nodes = append(nodes, n)
		}
		clear(f.subs)
		f.any.Store(false)
		f.mu.Unlock()
		for _, n := range nodes {
			_ = f.r.fwd.send(n, func(w *msgp.Writer) { w.WriteByte(feedReset) })
		}
	case it.snap != nil:
		pages := max(1, (len(it.snap)+f.r.cfg.SnapshotChunk-1)/f.r.cfg.SnapshotChunk)
		for i := range pages {
			chunk := it.snap[i*f.r.cfg.SnapshotChunk : min(len(it.snap), (i+1)*f.r.cfg.SnapshotChunk)]
			err := f.r.fwd.send(it.to, func(w *msgp.Writer) {
				w.WriteByte(feedSnapshot)
				w.Str(leader)
				w.Uint(it.index)
				w.Uint(uint64(i))
				w.Uint(uint64(pages))
				w.Bin(chunk)
			})
			if err != nil {
				f.drop(it.to)
				return
			}
		}
	default:
		f.mu.Lock()
		subs := make(map[string]uint64, len(f.subs))
		for n, s := range f.subs {
			subs[n] = s.next
			s.next = max(s.next, it.entries[len(it.entries)-1].index)
		}
		f.mu.Unlock()
		for n, next := range subs {
			if err := f.pushEntries(n, leader, next, it.entries); err != nil {
				f.drop(n)
			}
		}
	}
}

// pushEntries sends the entries after index prev, in frames of at most
// maxFeedFrame bytes.
func (f *feed) pushEntries(node, leader string, prev uint64, es []fedEntry) error {
	for len(es) > 0 && es[0].index <= prev {
		es = es[1:]
	}
	for len(es) > 0 {
		n, size := 0, 0
		for n < len(es) && (n == 0 || size+len(es[n].data) < maxFeedFrame) {
			size += len(es[n].data) + 16
			n++
		}
		part := es[:n]
		err := f.r.fwd.send(node, func(w *msgp.Writer) {
			w.WriteByte(feedEntries)
			w.Str(leader)
			w.Uint(prev)
			w.ArrayHeader(len(part))
			for _, e := range part {
				w.Uint(e.index)
				w.Bin(e.data)
			}
		})
		if err != nil {
			return err
		}
		prev = part[len(part)-1].index
		es = es[n:]
	}
	return nil
}

func (f *feed) drop(node string) {
	f.mu.Lock()
	delete(f.subs, node)
	f.any.Store(len(f.subs) > 0)
	f.mu.Unlock()
}

// subscribers returns the number of clients fed.
func (f *feed) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// pushed is a decoded push.
type pushed struct {
	kind    byte
	leader  string
	prev    uint64
	entries []fedEntry
	index   uint64 // a snapshot's
	page    int
	pages   int
	chunk   []byte
}

// maxFeedEntries bounds the entries of one push a client accepts: the
// smallest command entry is a few bytes.
const maxFeedEntries = maxFeedFrame / 4

// decodePush parses a push body (after the mux header). It is safe on
// hostile input: every length is checked against the bytes left, every
// entry against fsm.MaxBatchSize, and what a client applies is decoded
// again by the table (fsm.DecodeCommand, DecodeBatch, Restore).
func decodePush(r *msgp.Reader, maxChunk int) (pushed, error) {
	p := pushed{kind: r.Byte()}
	switch p.kind {
	case feedEntries:
		p.leader = r.Str(registry.MaxNodeLen)
		p.prev = r.Uint()
		n := r.ArrayLen(maxFeedEntries, 3)
		p.entries = make([]fedEntry, 0, n)
		last := p.prev
		for range n {
			e := fedEntry{index: r.Uint(), data: r.BytesCopy(fsm.MaxBatchSize)}
			if r.Err() == nil && (e.index <= last || len(e.data) == 0) {
				r.Fail("entry %d after %d", e.index, last)
			}
			if r.Err() != nil {
				break
			}
			last = e.index
			p.entries = append(p.entries, e)
		}
	case feedSnapshot:
		p.leader = r.Str(registry.MaxNodeLen)
		p.index = r.Uint()
		p.page, p.pages = int(min(r.Uint(), 1<<20)), int(min(r.Uint(), 1<<20))
		p.chunk = r.BytesCopy(maxChunk)
		if r.Err() == nil && p.page >= p.pages {
			r.Fail("page %d of %d", p.page, p.pages)
		}
	case feedReset:
	default:
		r.Fail("unknown push %d", p.kind)
	}
	return p, r.End()
}
