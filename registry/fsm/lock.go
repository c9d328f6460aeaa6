package fsm

import (
	"cmp"
	"slices"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Locks (system.lock): a table of its own beside the names, so that a
// lock is never a name (nobody resolves, sends to or registers it) and is
// released on its own terms:
//
//   - LockAcquire is a conditional write, set if absent, of the holder's
//     PID; the holder acquiring again changes nothing.
//   - LockRelease is a conditional delete, delete if held by the owner.
//   - ReleasePID, the end of a process, releases its locks with its names.
//   - ReleaseNode does not: the leader releases the locks of a node
//     declared dead with LockRelease, each conditional on its holder, a
//     grace period later, so that the holder's node has fenced its
//     holders by then (see registry/raftreg/locks.go), and a lock a new
//     life of that node took meanwhile stays.
//
// Lock names are 1 to registry.MaxNameLen bytes, like names.

// Lock ops (see Op).
const (
	OpLockAcquire Op = 11
	OpLockRelease Op = 12
)

// LockAcquire takes lock Name for PID: registry.ErrAlreadyExists (with
// Result.Owner) when another PID holds it; a no-op when PID does.
type LockAcquire struct {
	Name string
	PID  pid.PID
}

// LockRelease releases lock Name if Owner holds it: registry.ErrNotFound
// when nobody does, registry.ErrNotOwner (with Result.Owner) when another
// PID does.
type LockRelease struct {
	Name  string
	Owner pid.PID
}

// Op implements Command.
func (LockAcquire) Op() Op { return OpLockAcquire }

// Op implements Command.
func (LockRelease) Op() Op { return OpLockRelease }

func (c LockAcquire) validate() error { return validateNamePID(c.Name, c.PID) }
func (c LockRelease) validate() error { return validateNamePID(c.Name, c.Owner) }

// lockTable is the FSM's locks. Invariant: locks[n] == p iff n is in
// byPID[p]; no empty slice is kept.
type lockTable struct {
	locks map[string]pid.PID
	byPID map[pid.PID][]string
}

func newLockTable() lockTable {
	return lockTable{locks: map[string]pid.PID{}, byPID: map[pid.PID][]string{}}
}

func (t *lockTable) insert(name string, p pid.PID) {
	t.locks[name] = p
	t.byPID[p] = append(t.byPID[p], name)
}

func (t *lockTable) remove(name string) {
	p := t.locks[name]
	delete(t.locks, name)
	held := slices.DeleteFunc(t.byPID[p], func(n string) bool { return n == name })
	if len(held) == 0 {
		delete(t.byPID, p)
	} else {
		t.byPID[p] = held
	}
}

func (f *FSM) lockAcquire(c LockAcquire) Result {
	if p, ok := f.lk.locks[c.Name]; ok {
		if p == c.PID {
			return Result{}
		}
		return Result{Err: registry.ErrAlreadyExists, Owner: p}
	}
	f.lk.insert(c.Name, c.PID)
	return Result{}
}

func (f *FSM) lockRelease(c LockRelease) Result {
	p, ok := f.lk.locks[c.Name]
	switch {
	case !ok:
		return Result{Err: registry.ErrNotFound}
	case p != c.Owner:
		return Result{Err: registry.ErrNotOwner, Owner: p}
	}
	f.lk.remove(c.Name)
	return Result{}
}

// releaseLocksOf releases every lock p holds.
func (f *FSM) releaseLocksOf(p pid.PID) {
	for _, n := range slices.Clone(f.lk.byPID[p]) {
		f.lk.remove(n)
	}
}

// Lock returns the holder of lock name.
func (f *FSM) Lock(name string) (pid.PID, bool) {
	p, ok := f.lk.locks[name]
	return p, ok
}

// LockEntry is one held lock.
type LockEntry struct {
	Name string
	PID  pid.PID
}

// Locks returns the locks held by processes of node ("" for every node),
// by name.
func (f *FSM) Locks(node string) []LockEntry {
	var out []LockEntry
	for n, p := range f.lk.locks {
		if node == "" || p.Node == node {
			out = append(out, LockEntry{Name: n, PID: p})
		}
	}
	slices.SortFunc(out, func(a, b LockEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// HoldsLock reports whether p holds a lock.
func (f *FSM) HoldsLock(p pid.PID) bool { return len(f.lk.byPID[p]) > 0 }

// Snapshot section of the locks (version 3, after the names):
//
//	count                            uint
//	count times, by increasing name: name, node, host, seq
func (t *lockTable) write(w *writer) {
	names := make([]string, 0, len(t.locks))
	for n := range t.locks {
		names = append(names, n)
	}
	slices.Sort(names)
	w.uint(uint64(len(names)))
	for _, n := range names {
		w.str(n)
		w.pid(t.locks[n])
	}
}

// minLockSize is the smallest encoded lock: three one-byte strings with
// their headers and a one-byte integer.
const minLockSize = 3*2 + 1

func readLocks(r *reader) (lockTable, error) {
	t := newLockTable()
	count := r.uint()
	if r.err == nil && count > uint64(r.remaining()/minLockSize) {
		r.fail("%d locks cannot fit in %d bytes", count, r.remaining())
	}
	last := ""
	for i := range count {
		if r.err != nil {
			break
		}
		name := r.str(registry.MaxNameLen)
		p := r.pid()
		if r.err != nil {
			break
		}
		if i > 0 && name <= last {
			r.fail("lock %d: names not strictly increasing", i)
			break
		}
		if err := validateNamePID(name, p); err != nil {
			return t, err
		}
		t.insert(name, p)
		last = name
	}
	return t, r.err
}
