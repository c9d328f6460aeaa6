package fsm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// FSM is the name table driven by commands. The zero value is not usable;
// call New. See the package documentation for the concurrency contract.
type FSM struct {
	index uint64 // last applied command or restored snapshot

	names map[string]record
	// Secondary indexes, so that releasing a PID or a node costs the number
	// of its names, not a scan of the table. Invariants: names[n].pid == p
	// iff n is in byPID[p]; p is in byNode[p.Node] iff byPID[p] is not
	// empty; no empty slice or set is kept (checkInvariants in the tests).
	byPID  map[pid.PID][]string
	byNode map[string]map[pid.PID]struct{}
	// pending are the STRONG reservations not active yet: few, scanned by
	// the leader for expired ones.
	pending map[string]struct{}
	nstrong int // STRONG names, pending ones included

	lk lockTable // system.lock (lock.go)
}

// record is the value of one name.
type record struct {
	pid      pid.PID
	index    uint64 // log index of the Register that created it
	flags    uint8  // flagStrong, flagPending
	deadline uint64 // a pending reservation's, Unix nanoseconds
}

// Record flags (the snapshot stores them).
const (
	flagStrong  uint8 = 1
	flagPending uint8 = 2
)

func (r record) strong() bool  { return r.flags&flagStrong != 0 }
func (r record) pending() bool { return r.flags&flagPending != 0 }

func (r record) entry(name string) registry.Entry {
	e := registry.Entry{Name: name, PID: r.pid, Index: r.index, Strong: r.strong(), Pending: r.pending()}
	if e.Pending {
		e.Deadline = int64(r.deadline)
	}
	return e
}

// Result is the outcome of one Apply.
type Result struct {
	// Err is nil, or one of registry.ErrAlreadyExists, registry.ErrNotFound,
	// registry.ErrNotOwner (unwrapped, so they compare with ==), or an error
	// wrapping ErrBadCommand or ErrStaleIndex.
	Err error
	// Owner is the holder of the name when Err is ErrAlreadyExists or
	// ErrNotOwner.
	Owner pid.PID
	// Active: a Reserve found the name active for its PID already.
	Active bool
	// Changes lists what the command changed, in order; releases list their
	// names sorted. Empty for a failed command or a no-op. The slice is the
	// caller's.
	Changes []registry.Event
}

// New returns an empty table at index 0.
func New() *FSM { return newSized(0) }

// newSized returns an empty table with room for n names.
func newSized(n int) *FSM {
	return &FSM{
		names:   make(map[string]record, n),
		byPID:   make(map[pid.PID][]string, n),
		byNode:  make(map[string]map[pid.PID]struct{}),
		pending: make(map[string]struct{}),
		lk:      newLockTable(),
	}
}

// Index returns the log index of the last applied command or restored
// snapshot; 0 for a new table.
func (f *FSM) Index() uint64 { return f.index }

// Len returns the number of names.
func (f *FSM) Len() int { return len(f.names) }

// Apply applies cmd, the command of log entry index, and returns its
// outcome. index must be greater than Index() (ErrStaleIndex otherwise, and
// nothing changes); any other command, even one that fails, moves Index()
// to index, since every replica applies the same entry the same way.
//
// Apply depends only on the table, index and cmd: no clock, no randomness,
// no map iteration order reaches the table or the result.
func (f *FSM) Apply(index uint64, cmd Command) Result {
	if index <= f.index {
		return Result{Err: f.stale(index)}
	}
	f.index = index
	return f.apply(index, cmd)
}

// ApplyBatch applies cmds, the commands of one log entry (a batch, see
// EncodeBatch), in order and all at index, and returns their outcomes in
// the same order: the same results and changes as Apply of each command in
// turn, except that every change carries index. index must be greater
// than Index(); otherwise every result is ErrStaleIndex and nothing
// changes.
func (f *FSM) ApplyBatch(index uint64, cmds []Command) []Result {
	out := make([]Result, len(cmds))
	if index <= f.index {
		for i := range out {
			out[i].Err = f.stale(index)
		}
		return out
	}
	f.index = index
	for i, cmd := range cmds {
		out[i] = f.apply(index, cmd)
	}
	return out
}

func (f *FSM) stale(index uint64) error {
	return fmt.Errorf("%w: %d after %d", ErrStaleIndex, index, f.index)
}

// apply applies cmd at index, which is already Index().
func (f *FSM) apply(index uint64, cmd Command) Result {
	if err := check(cmd); err != nil {
		return Result{Err: err}
	}
	switch c := cmd.(type) {
	case Register:
		return f.register(index, c.Name, c.PID)
	case Unregister:
		return f.unregister(index, c.Name, c.Owner, scopeConsistent)
	case UnregisterIfOwned:
		return f.unregister(index, c.Name, c.Owner, scopeAny)
	case UnregisterStrong:
		return f.unregister(index, c.Name, c.Owner, scopeStrong)
	case Reserve:
		return f.reserve(index, c)
	case Activate:
		return f.activate(index, c)
	case Abort:
		return f.abort(index, c)
	case ReleasePID:
		f.releaseLocksOf(c.PID)
		evs := f.releasePID(index, c.PID, registry.CauseExit, nil)
		sortEvents(evs)
		return Result{Changes: evs}
	case LockAcquire:
		return f.lockAcquire(c)
	case LockRelease:
		return f.lockRelease(c)
	case ReleaseNode:
		return Result{Changes: f.releaseNode(index, c.Node)}
	}
	panic("fsm: check accepted an unknown command") // unreachable: check lists the same types
}

// register is a conditional write, set if absent: the primitive every
// claim of a name (CONSISTENT, a STRONG reservation) goes through.
func (f *FSM) register(index uint64, name string, p pid.PID) Result {
	if r, ok := f.names[name]; ok {
		if r.pid == p && !r.strong() {
			return Result{}
		}
		return Result{Err: registry.ErrAlreadyExists, Owner: r.pid}
	}
	return f.claim(index, name, record{pid: p, index: index})
}

// claim inserts a name that is not in the table.
func (f *FSM) claim(index uint64, name string, r record) Result {
	f.insert(name, r)
	return Result{Changes: []registry.Event{{
		Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: name, PID: r.pid, Index: index, Strong: r.strong(),
	}}}
}

// scope selects the names an unregister may release.
type scope uint8

const (
	scopeAny        scope = iota // UnregisterIfOwned: any, and no error when not owned
	scopeConsistent              // Unregister
	scopeStrong                  // UnregisterStrong
)

func (s scope) has(r record) bool { return s == scopeAny || (s == scopeStrong) == r.strong() }

// unregister is a conditional delete, delete if held by owner: the
// primitive every release of a name goes through.
func (f *FSM) unregister(index uint64, name string, owner pid.PID, in scope) Result {
	r, ok := f.names[name]
	ok = ok && in.has(r)
	switch {
	case ok && r.pid == owner:
	case in == scopeAny:
		return Result{}
	case !ok:
		return Result{Err: registry.ErrNotFound}
	default:
		return Result{Err: registry.ErrNotOwner, Owner: r.pid}
	}
	f.remove(name, owner)
	return Result{Changes: []registry.Event{{
		Kind: registry.EventUnregistered, Cause: registry.CauseRequest, Name: name, PID: owner, Index: index, Strong: r.strong(),
	}}}
}

func (f *FSM) reserve(index uint64, c Reserve) Result {
	if r, ok := f.names[c.Name]; ok {
		if r.pid == c.PID && r.strong() {
			return Result{Active: !r.pending()}
		}
		return Result{Err: registry.ErrAlreadyExists, Owner: r.pid}
	}
	return f.claim(index, c.Name, record{pid: c.PID, index: index, flags: flagStrong | flagPending, deadline: c.Deadline})
}

func (f *FSM) activate(index uint64, c Activate) Result {
	r, ok := f.names[c.Name]
	switch {
	case !ok || r.pid != c.PID || !r.strong():
		return Result{Err: registry.ErrNotFound}
	case !r.pending():
		return Result{}
	}
	r.flags, r.deadline = flagStrong, 0
	f.names[c.Name] = r
	delete(f.pending, c.Name)
	return Result{Changes: []registry.Event{{
		Kind: registry.EventActivated, Cause: registry.CauseRequest, Name: c.Name, PID: c.PID, Index: index, Strong: true,
	}}}
}

func (f *FSM) abort(index uint64, c Abort) Result {
	if r, ok := f.names[c.Name]; !ok || r.pid != c.PID || !r.pending() {
		return Result{}
	}
	f.remove(c.Name, c.PID)
	return Result{Changes: []registry.Event{{
		Kind: registry.EventUnregistered, Cause: registry.CauseRequest, Name: c.Name, PID: c.PID, Index: index, Strong: true,
	}}}
}

// releasePID removes every name of p and appends the events to evs, in no
// particular order: the caller sorts.
func (f *FSM) releasePID(index uint64, p pid.PID, cause registry.Cause, evs []registry.Event) []registry.Event {
	names := f.byPID[p]
	if len(names) == 0 {
		return evs
	}
	for _, name := range names {
		strong := f.names[name].strong()
		evs = append(evs, registry.Event{
			Kind: registry.EventUnregistered, Cause: cause, Name: name, PID: p, Index: index, Strong: strong,
		})
		if strong {
			f.nstrong--
		}
		delete(f.names, name)
		delete(f.pending, name)
	}
	delete(f.byPID, p)
	f.dropFromNode(p)
	return evs
}

func (f *FSM) releaseNode(index uint64, node string) []registry.Event {
	pids := f.byNode[node]
	if len(pids) == 0 {
		return nil
	}
	n := 0
	for p := range pids {
		n += len(f.byPID[p])
	}
	evs := make([]registry.Event, 0, n)
	// releasePID deletes from pids while this loop ranges over it, which
	// Go allows; the order is random, hence the sort.
	for p := range pids {
		evs = f.releasePID(index, p, registry.CauseNodeDown, evs)
	}
	sortEvents(evs)
	return evs
}

// sortEvents sorts by name; names are unique within one release.
func sortEvents(evs []registry.Event) {
	slices.SortFunc(evs, func(a, b registry.Event) int { return strings.Compare(a.Name, b.Name) })
}

// insert adds a name that is not in the table.
func (f *FSM) insert(name string, r record) {
	f.names[name] = r
	if r.pending() {
		f.pending[name] = struct{}{}
	}
	if r.strong() {
		f.nstrong++
	}
	held := f.byPID[r.pid]
	if len(held) == 0 {
		set := f.byNode[r.pid.Node]
		if set == nil {
			set = make(map[pid.PID]struct{})
			f.byNode[r.pid.Node] = set
		}
		set[r.pid] = struct{}{}
	}
	f.byPID[r.pid] = append(held, name)
}

// remove deletes name, held by p, from the table.
func (f *FSM) remove(name string, p pid.PID) {
	if f.names[name].strong() {
		f.nstrong--
	}
	delete(f.names, name)
	delete(f.pending, name)
	held := f.byPID[p]
	if len(held) == 1 {
		delete(f.byPID, p)
		f.dropFromNode(p)
		return
	}
	i := slices.Index(held, name)
	last := len(held) - 1
	held[i] = held[last]
	held[last] = "" // let the string go
	f.byPID[p] = held[:last]
}

func (f *FSM) dropFromNode(p pid.PID) {
	set := f.byNode[p.Node]
	delete(set, p)
	if len(set) == 0 {
		delete(f.byNode, p.Node)
	}
}

// Lookup returns the holder of name.
func (f *FSM) Lookup(name string) (pid.PID, bool) {
	r, ok := f.names[name]
	return r.pid, ok
}

// Get returns the entry of name.
func (f *FSM) Get(name string) (registry.Entry, bool) {
	r, ok := f.names[name]
	if !ok {
		return registry.Entry{}, false
	}
	return r.entry(name), true
}

// List returns every entry, sorted by name.
func (f *FSM) List() []registry.Entry {
	out := make([]registry.Entry, 0, len(f.names))
	for name, r := range f.names {
		out = append(out, r.entry(name))
	}
	slices.SortFunc(out, func(a, b registry.Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Pending returns the STRONG reservations not active yet, sorted by name:
// the leader aborts those past their deadline.
func (f *FSM) Pending() []registry.Entry {
	out := make([]registry.Entry, 0, len(f.pending))
	for name := range f.pending {
		out = append(out, f.names[name].entry(name))
	}
	slices.SortFunc(out, func(a, b registry.Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Strong returns the number of STRONG names, pending ones included.
func (f *FSM) Strong() int { return f.nstrong }

// NamesOf returns the names p holds, sorted; nil if none.
func (f *FSM) NamesOf(p pid.PID) []string {
	held := f.byPID[p]
	if len(held) == 0 {
		return nil
	}
	out := slices.Clone(held)
	slices.Sort(out)
	return out
}

// Nodes returns the nodes that hold at least one name, sorted. A new leader
// compares it with membership to release the names of nodes that died
// while no leader could do it.
func (f *FSM) Nodes() []string {
	out := make([]string, 0, len(f.byNode))
	for node := range f.byNode {
		out = append(out, node)
	}
	slices.Sort(out)
	return out
}
