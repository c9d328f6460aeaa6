package raftreg

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/registry/fsm"
)

// Group commit. Raft's leader writes what its apply queue holds when its
// loop comes round, so proposals arriving one by one (each client resumes
// when its previous result is applied) became many small entries: with 64
// clients, most disk writes on the leader held one entry and the others
// waited behind them. Instead, the proposals of a leadership queue here and
// one goroutine proposes them as batch entries (fsm.EncodeBatch), one
// entry in flight at a time: each holds everything that queued while the
// previous one was written, replicated and applied. A lone proposal finds
// nothing in flight and goes at once, so a single client waits no longer
// than before; under load the batches grow with the load. Every change is
// still on a quorum's disks before its caller hears of it.
//
// One entry in flight alone splits steady clients into two groups that
// alternate: the callers of the batch just applied come back a moment
// after the next batch left with the others. So after a batch of n > 1
// commands is applied, the next one waits until n more proposals arrived
// (usually the same callers), but at most 1/gatherShare of the time that
// batch took: 64 clients then share one batch instead of two of 32, for
// up to 1/gatherShare more latency while there is concurrency.
//
// Most of those callers are on other nodes: their next change comes back
// through a reply and a new request on the registry stream. With an eighth
// of the commit time as the bound, the gather often closed before they
// were back on a loaded machine (64 clients: 34 commands per batch on
// average, two groups again), and half-full batches cost twice the disk
// writes and raft messages per change. With half the commit time as the
// bound the batches held 51 on average (BENCHMARKS.md).
//
// Two entries in flight (the leader writing the next batch while the
// followers write the last one) was tried and measured no better: with 64
// clients each waiting for its own change, the rate is the clients over
// the time one change takes, which a second entry in flight does not
// shorten, and the smaller batches cost more CPU per change.

// maxBatchBytes bounds the commands of one batch entry, so that an
// AppendEntries of raft's 64 entries (1 MiB) stays within a snapshot chunk
// and well under the transport's frame limit.
const maxBatchBytes = 16 << 10

// gatherShare: the wait for the callers of the last batch to come back is
// at most its commit time divided by this. 8 split 64 clients into two
// groups under load; 2 keeps them together (BENCHMARKS.md).
const gatherShare = 2

// batchItemOverhead is what a command adds to a batch besides its bytes:
// its bin header.
const batchItemOverhead = 3

// proposal is one command waiting for its batch.
type proposal struct {
	id       uint64 // the proposal id its caller waits on
	data     []byte // fsm.EncodeCommand form
	deadline time.Time
	nudge    bool // its caller waits for the other replicas to apply it (nudges)
}

// proposals is the queue of one leadership, filled by proposeLocal and
// drained by batchLoop. It holds one proposal per caller waiting for its
// result, so the callers bound it, as they bounded raft's apply queue
// before: forwarded requests by MaxForwarded, releases by ReleaseParallel,
// plus the local callers of Register and Unregister.
type proposals struct {
	mu    sync.Mutex
	queue []proposal
	added uint64        // proposals ever added
	wake  chan struct{} // 1-buffered
}

func newProposals() *proposals { return &proposals{wake: make(chan struct{}, 1)} }

func (p *proposals) add(q proposal) {
	p.mu.Lock()
	p.queue = append(p.queue, q)
	p.added++
	p.mu.Unlock()
	signal(p.wake)
}

// take removes and returns the next batch: queued proposals in order, up
// to maxBytes of commands (at least one). Proposals whose deadline passed
// are dropped, never proposed: their callers gave up, and a forwarded
// request must not commit after its sender's deadline (see forward.go).
func (p *proposals) take(now time.Time, maxBytes int) []proposal {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []proposal
	size, i := 0, 0
	for ; i < len(p.queue); i++ {
		q := p.queue[i]
		if !now.Before(q.deadline) {
			continue
		}
		if len(out) > 0 && size+len(q.data)+batchItemOverhead > maxBytes {
			break
		}
		out = append(out, q)
		size += len(q.data) + batchItemOverhead
	}
	n := copy(p.queue, p.queue[i:])
	clear(p.queue[n:])
	p.queue = p.queue[:n]
	return out
}

// batchLoop proposes the queued proposals of leadership e as batch
// entries, one in flight at a time, until the leadership ends. Proposals
// still queued then are dropped; their callers see e.lost.
func (r *Registry) batchLoop(e *epoch) {
	rf := r.raft()
	for {
		select {
		case <-e.props.wake:
		case <-e.lost:
			return
		case <-r.stopping:
			return
		}
		for {
			b := e.props.take(time.Now(), maxBatchBytes)
			if len(b) == 0 {
				break
			}
			start := time.Now()
			if !r.submit(rf, e, b) {
				return
			}
			if len(b) > 1 && !r.gather(e, uint64(len(b)), time.Since(start)/gatherShare) {
				return
			}
		}
	}
}

// gather waits until n more proposals were added to e's queue, or for
// limit; it reports false when the leadership or the registry ends.
func (r *Registry) gather(e *epoch, n uint64, limit time.Duration) bool {
	p := e.props
	p.mu.Lock()
	target := p.added + n
	p.mu.Unlock()
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		p.mu.Lock()
		enough := p.added >= target
		p.mu.Unlock()
		if enough {
			return true
		}
		select {
		case <-p.wake:
		case <-t.C:
			return true
		case <-e.lost:
			return false
		case <-r.stopping:
			return false
		}
	}
}

// nudges reports whether a command's caller waits for every replica to
// apply it: a STRONG reservation or release (strong.go).
func nudges(cmd []byte) bool {
	return len(cmd) > 0 && (fsm.Op(cmd[0]) == fsm.OpReserve || fsm.Op(cmd[0]) == fsm.OpUnregisterStrong)
}

// nudge tells the other replicas at once that the batch entry at
// at.index is committed, if a caller of the batch waits for every replica
// to apply it (a STRONG reservation or release). Followers learn that an
// entry is committed from the next AppendEntries, which raft sends with
// the next entry or after CommitTimeout (50-100 ms) idle. So the leader
// sends each server of the configuration an AppendEntries of its own
// (notifyCommit): no entries, the batch entry as the previous entry and
// its index as the commit index. A follower holding that entry applies up
// to it; a follower without it refuses, and only then the batch is
// followed by an empty entry when nothing else is queued, whose
// AppendEntries carries the commit index (it costs a disk write on every
// replica before any of them applies: about a commit). A CONSISTENT change
// is not followed by either: CONSISTENT reads may lag.
func (r *Registry) nudge(rf *raft.Raft, e *epoch, b []proposal, at result) {
	wanted := false
	for _, q := range b {
		wanted = wanted || q.nudge
	}
	if !wanted {
		return
	}
	fallback := func() {
		e.props.mu.Lock()
		idle := len(e.props.queue) == 0
		e.props.mu.Unlock()
		if idle {
			_ = rf.ApplyLog(raft.Log{}, r.cfg.ApplyTimeout)
		}
	}
	if at.term != e.term || at.index == 0 {
		fallback()
		return
	}
	r.notifyCommit(e, at.index, fallback)
}

// notifyCommit sends every other server of the configuration an
// AppendEntries of term e.term with no entries, previous entry index (of
// term e.term) and commit index index, and calls refused once if one of
// them does not accept it. index must be committed and applied here.
//
// This is the empty AppendEntries raft itself sends after CommitTimeout,
// sent sooner: a follower accepts it only when its log holds the entry at
// index with the leader's term, so (by raft's log matching) its log up to
// index is the leader's, every entry of which is committed; it then
// applies up to index, and nothing else changes. Raft's own replication
// to the follower does not see the exchange and needs not: it changes no
// log.
func (r *Registry) notifyCommit(e *epoch, index uint64, refused func()) {
	conf := r.table.conf.Load()
	if conf == nil {
		refused()
		return
	}
	q := raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{
			ProtocolVersion: raft.ProtocolVersionMax,
			ID:              []byte(r.cfg.Node),
			Addr:            r.trans.EncodePeer(raft.ServerID(r.cfg.Node), r.trans.LocalAddr()),
		},
		Term:              e.term,
		PrevLogEntry:      index,
		PrevLogTerm:       e.term,
		LeaderCommitIndex: index,
	}
	var once sync.Once
	for _, s := range conf.Servers {
		if string(s.ID) == r.cfg.Node {
			continue
		}
		ok := r.track.start(func() {
			var resp raft.AppendEntriesResponse
			req := q
			err := r.trans.AppendEntries(s.ID, s.Address, &req, &resp)
			if err != nil || !resp.Success {
				once.Do(refused)
			}
		})
		if !ok {
			return
		}
	}
}

// submit proposes b as one entry and waits until it is applied here, the
// leadership ends (false) or ApplyTimeout passes. Like proposeLocal it
// never waits on raft's future. The entry's Extensions are the batch's own
// proposal id, then its commands' in order (see table.go).
func (r *Registry) submit(rf *raft.Raft, e *epoch, b []proposal) bool {
	cmds := make([][]byte, len(b))
	ext := make([]byte, 8, 8*(len(b)+1))
	bid := r.propSeq.Add(1)
	binary.BigEndian.PutUint64(ext, bid)
	for i, q := range b {
		cmds[i] = q.data
		ext = binary.BigEndian.AppendUint64(ext, q.id)
	}
	data, err := fsm.EncodeBatch(cmds)
	if err != nil {
		// Not reached: every proposal is one encoded command, and take
		// keeps a batch far below fsm.MaxBatchSize. Fail the callers
		// rather than leave them waiting.
		r.log.Error("batch not encoded", "err", err)
		for i := range b {
			r.table.deliver(ext[8*(i+1):8*(i+2)], result{err: err})
		}
		return true
	}
	ch := r.table.expect(bid)
	defer r.table.drop(bid)
	_ = rf.ApplyLog(raft.Log{Data: data, Extensions: ext}, r.cfg.ApplyTimeout)
	t := time.NewTimer(r.cfg.ApplyTimeout)
	defer t.Stop()
	select {
	case res := <-ch:
		r.nudge(rf, e, b, res)
		return true
	case <-t.C:
		// Not committed in time (no quorum, or raft refused it): let the
		// next batch go behind it, as separate proposals would.
		return true
	case <-e.lost:
		return false
	case <-r.stopping:
		return false
	}
}
