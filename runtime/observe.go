package runtime

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Read-only views of the live processes for observers (the admin
// endpoint's process list and process page). Nothing here stops a
// process or holds a lock the scheduler needs for longer than copying one
// table shard's pointers; what a view shows may be a moment old.

// entryTable interns the entry ids processes are spawned from, so a
// process keeps a 4-byte index instead of a string. Reads are lock-free
// (copy on write: ids are added once per distinct entry, and a node runs
// a bounded set of entries).
type entryTable struct {
	mu  sync.Mutex
	idx atomic.Pointer[map[string]uint32]
	ids atomic.Pointer[[]string] // index -> id; index 0 is ""
}

// maxEntryIDs bounds the table: the spawns of further distinct ids show
// no entry.
const maxEntryIDs = 1 << 16

func (t *entryTable) index(id string) uint32 {
	if id == "" {
		return 0
	}
	if m := t.idx.Load(); m != nil {
		if i, ok := (*m)[id]; ok {
			return i
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.idx.Load()
	if old != nil {
		if i, ok := (*old)[id]; ok {
			return i
		}
	}
	ids := []string{""}
	if p := t.ids.Load(); p != nil {
		ids = *p
	}
	if len(ids) >= maxEntryIDs {
		return 0
	}
	ids = append(ids[:len(ids):len(ids)], id)
	m := make(map[string]uint32, len(ids))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	i := uint32(len(ids) - 1)
	m[id] = i
	t.ids.Store(&ids)
	t.idx.Store(&m)
	return i
}

func (t *entryTable) all() []string {
	if p := t.ids.Load(); p != nil {
		return *p
	}
	return []string{""}
}

// Entries returns the entry ids processes of this runtime were spawned
// from (live or not), sorted.
func (rt *Runtime) Entries() []string {
	ids := slices.Clone(rt.entries.all()[1:])
	slices.Sort(ids)
	return ids
}

// ProcessFilter selects processes for ProcessPage. Empty fields match
// every process; Entry and Name match a substring (of the spawn's entry
// id, of one of the process's local names).
type ProcessFilter struct {
	Host  string
	State string // a proc.State name: ready, running, blocked, idle
	Entry string
	Name  string
}

// ProcessRow is one live process as an observer sees it. It never holds
// message payloads.
type ProcessRow struct {
	PID   pid.PID
	Host  string
	Entry string // the entry id it was spawned from; "" for none
	Actor string // the id of the actor it runs as; "" for none
	State proc.State
	Names []string // its local names
	// Mailbox counts the deliveries queued for it: those in its mailbox
	// and those its behaviour took but has not handled yet (a Lua
	// process's inbox and listen channels).
	Mailbox int
	// In counts the deliveries its turns took from the mailbox (messages,
	// events, timers), Out the messages it sent.
	In, Out uint64
	Born    time.Time
}

// ProcessDetail is a process's page: its row and its relations.
type ProcessDetail struct {
	ProcessRow
	Links       []pid.PID // linked both ways
	Monitors    []pid.PID // processes it monitors
	MonitoredBy []pid.PID // processes that monitor it
	Topics      []string  // topics it listens to (a behaviour that tells them)
	TrapLinks   bool
}

// TopicLister is implemented by a behaviour that listens to topics (a
// Lua process's process.listen). It is called from observers' goroutines
// while the process runs, so it must be safe for that.
type TopicLister interface {
	Topics() []string
}

// ProcessPage returns the live processes matching f, by PID sequence,
// from offset, at most limit of them, and how many match in all.
//
// It copies the table one shard at a time (each shard's read lock is held
// only to copy its pointers) and builds rows only for the page: 100,000
// processes answer in milliseconds (BenchmarkProcessPage).
func (rt *Runtime) ProcessPage(f ProcessFilter, offset, limit int) ([]ProcessRow, int) {
	state, anyState := proc.State(0), f.State == ""
	if !anyState {
		var ok bool
		if state, ok = parseState(f.State); !ok {
			return nil, 0
		}
	}
	var entryOK []bool // by entry index; nil: any entry
	if f.Entry != "" {
		ids := rt.entries.all()
		entryOK = make([]bool, len(ids))
		for i, id := range ids {
			entryOK[i] = id != "" && strings.Contains(id, f.Entry)
		}
	}
	var named map[*process]struct{} // nil: any name
	if f.Name != "" {
		named = map[*process]struct{}{}
		rt.names.mu.RLock()
		for n, p := range rt.names.m {
			if strings.Contains(n, f.Name) {
				named[p] = struct{}{}
			}
		}
		rt.names.mu.RUnlock()
	}
	buf, _ := rt.pageBufs.Get().(*[]tableEntry)
	if buf == nil {
		buf = new([]tableEntry)
	}
	all := rt.procs.snapshot((*buf)[:0])
	defer func() {
		clear(all) // the pointers would keep ended processes alive
		*buf = all[:0]
		rt.pageBufs.Put(buf)
	}()
	match := all[:0]
	filtered := f.Host != "" || !anyState || entryOK != nil || named != nil
	for _, e := range all {
		if filtered && !e.p.matches(&f, state, anyState, entryOK, named) {
			continue
		}
		match = append(match, e)
	}
	total := len(match)
	offset = max(offset, 0)
	if offset >= total || limit <= 0 {
		return []ProcessRow{}, total
	}
	page := pageOf(match, offset, min(total, offset+limit))
	rows := make([]ProcessRow, len(page))
	ids := rt.entries.all()
	for i, e := range page {
		rows[i] = e.p.row(ids)
	}
	return rows, total
}

func (p *process) matches(f *ProcessFilter, state proc.State, anyState bool, entryOK []bool, named map[*process]struct{}) bool {
	switch {
	case f.Host != "" && p.host.cfg.ID != f.Host:
		return false
	case !anyState && proc.State(p.state.Load()) != state:
		return false
	case entryOK != nil && (int(p.entry) >= len(entryOK) || !entryOK[p.entry]):
		return false
	}
	if named != nil {
		_, ok := named[p]
		return ok
	}
	return true
}

// pageOf returns the entries of ranks [from, to) by sequence, in order:
// two selections and a sort of the page, linear in len(es) on average
// rather than a sort of the whole table. It reorders es.
func pageOf(es []tableEntry, from, to int) []tableEntry {
	selectRank(es, from)
	rest := es[from:]
	if to-from < len(rest) {
		selectRank(rest, to-from)
	}
	page := rest[:to-from]
	slices.SortFunc(page, func(a, b tableEntry) int { return cmp.Compare(a.seq, b.seq) })
	return page
}

// selectRank reorders es so that es[k] is the entry of rank k by
// sequence, those before it smaller and those after larger (Hoare's
// quickselect; the pivot is the median of three).
func selectRank(es []tableEntry, k int) {
	lo, hi := 0, len(es)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		a, b, c := es[lo].seq, es[mid].seq, es[hi].seq
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for es[i].seq < pivot {
				i++
			}
			for es[j].seq > pivot {
				j--
			}
			if i <= j {
				es[i], es[j] = es[j], es[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
}

func parseState(s string) (proc.State, bool) {
	for st := proc.Ready; st <= proc.Complete; st++ {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

// row reads p's observable figures without stopping it.
func (p *process) row(ids []string) ProcessRow {
	r := ProcessRow{PID: p.pid, Host: p.host.cfg.ID, State: proc.State(p.state.Load()),
		Mailbox: p.mbox.Len(), In: p.in.Load(), Out: p.out.Load(), Born: time.Unix(0, p.born)}
	if int(p.entry) < len(ids) {
		r.Entry = ids[p.entry]
	}
	if a := p.sec.Actor(); a != nil {
		r.Actor = a.ID
	}
	if p.hold != nil {
		r.Mailbox += p.hold.Held()
	}
	p.mu.Lock()
	if p.rel != nil {
		r.Names = slices.Clone(p.rel.names)
	}
	p.mu.Unlock()
	return r
}

// Process returns the page of the live local process id; false when there
// is none.
func (rt *Runtime) Process(id pid.PID) (ProcessDetail, bool) {
	p := rt.local(id)
	if p == nil {
		return ProcessDetail{}, false
	}
	d := ProcessDetail{ProcessRow: p.row(rt.entries.all()), TrapLinks: p.trap.Load()}
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		return ProcessDetail{}, false
	}
	if r := p.rel; r != nil {
		d.Links, d.Monitors, d.MonitoredBy = pidList(r.links), pidList(r.monitoring), pidList(r.monitoredBy)
	}
	p.mu.Unlock()
	if tl, ok := p.hold.(TopicLister); ok {
		d.Topics = tl.Topics()
	} else if tl, ok := p.intr.(TopicLister); ok {
		d.Topics = tl.Topics()
	}
	return d, true
}

func pidList(m map[pid.PID]struct{}) []pid.PID {
	out := make([]pid.PID, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b pid.PID) int { return cmp.Compare(a.String(), b.String()) })
	return out
}

// LocalName is one LOCAL name and its holder.
type LocalName struct {
	Name string
	PID  pid.PID
}

// LocalNames returns the LOCAL names, sorted by name, at most limit of
// them, and how many there are.
func (rt *Runtime) LocalNames(limit int) ([]LocalName, int) {
	rt.names.mu.RLock()
	out := make([]LocalName, 0, min(limit, len(rt.names.m)))
	total := len(rt.names.m)
	for n, p := range rt.names.m {
		out = append(out, LocalName{Name: n, PID: p.pid})
	}
	rt.names.mu.RUnlock()
	slices.SortFunc(out, func(a, b LocalName) int { return cmp.Compare(a.Name, b.Name) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, total
}
