package fsm

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/wippyd/wippyd/registry"
)

func checkLocks(t *testing.T, f *FSM) {
	t.Helper()
	n := 0
	for p, held := range f.lk.byPID {
		if len(held) == 0 {
			t.Fatalf("empty lock list kept for %v", p)
		}
		for _, name := range held {
			if f.lk.locks[name] != p {
				t.Fatalf("byPID says %v holds %s, locks says %v", p, name, f.lk.locks[name])
			}
			n++
		}
	}
	if n != len(f.lk.locks) {
		t.Fatalf("%d locks indexed, %d held", n, len(f.lk.locks))
	}
}

func TestLocks(t *testing.T) {
	f := New()
	i := uint64(0)
	apply := func(c Command) Result {
		i++
		r := f.Apply(i, c)
		checkLocks(t, f)
		return r
	}
	if r := apply(LockAcquire{"x", a1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := apply(LockAcquire{"x", a1}); r.Err != nil {
		t.Fatalf("the holder acquiring again: %v", r.Err)
	}
	if r := apply(LockAcquire{"x", b1}); r.Err != registry.ErrAlreadyExists || r.Owner != a1 {
		t.Fatalf("another acquiring: %+v", r)
	}
	if r := apply(LockRelease{"x", b1}); r.Err != registry.ErrNotOwner || r.Owner != a1 {
		t.Fatalf("another releasing: %+v", r)
	}
	if r := apply(LockRelease{"y", a1}); r.Err != registry.ErrNotFound {
		t.Fatalf("releasing a free lock: %+v", r)
	}
	// A lock is not a name: Register of the same string is another table.
	if r := apply(Register{"x", b1}); r.Err != nil || f.Len() != 1 {
		t.Fatalf("a name beside a lock: %+v", r)
	}
	if r := apply(LockRelease{"x", a1}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if _, held := f.Lock("x"); held {
		t.Fatal("still held after its release")
	}
	// ReleasePID releases its locks; ReleaseNode does not.
	apply(LockAcquire{"p", a1})
	apply(LockAcquire{"q", a2})
	apply(LockAcquire{"r", b1})
	apply(ReleasePID{a1})
	if _, held := f.Lock("p"); held || !f.HoldsLock(a2) {
		t.Fatal("ReleasePID released the wrong locks")
	}
	apply(ReleaseNode{a2.Node})
	if !f.HoldsLock(a2) {
		t.Fatal("ReleaseNode released a lock")
	}
	if got := f.Locks(a2.Node); len(got) != 1 || got[0].Name != "q" {
		t.Fatalf("locks of %s: %v", a2.Node, got)
	}
	if got := f.Locks(""); len(got) != 2 || got[0] != (LockEntry{"q", a2}) || got[1] != (LockEntry{"r", b1}) {
		t.Fatalf("every lock: %v", got)
	}
	if r := apply(LockAcquire{"", a1}); !errors.Is(r.Err, ErrBadCommand) {
		t.Fatalf("empty lock name: %v", r.Err)
	}
}

// TestLockSnapshot: locks survive a snapshot (version 3), the same table
// gives the same bytes, and a table without locks keeps its version.
func TestLockSnapshot(t *testing.T) {
	f := New()
	f.Apply(1, Register{"svc", a1})
	plain, _ := f.Snapshot()
	f.Apply(2, LockAcquire{"b", a2})
	f.Apply(3, LockAcquire{"a", b1})
	b, _ := f.Snapshot()
	if plain[4] != 1 || b[4] != snapshotV3 {
		t.Fatalf("versions %d, %d", plain[4], b[4])
	}
	g := New()
	if _, err := g.Restore(b); err != nil {
		t.Fatal(err)
	}
	checkLocks(t, g)
	if again, _ := g.Snapshot(); !bytes.Equal(again, b) {
		t.Fatal("restored table snapshots differently")
	}
	if got := g.Locks(""); !slices.Equal(got, []LockEntry{{"a", b1}, {"b", a2}}) || g.Len() != 1 {
		t.Fatalf("restored locks %v, %d names", got, g.Len())
	}
	g.Apply(4, LockRelease{"a", b1})
	g.Apply(5, LockRelease{"b", a2})
	if after, _ := g.Snapshot(); after[4] != 1 {
		t.Fatalf("no locks left, version %d", after[4])
	}
	bad := bytes.Clone(b)
	bad[4] = snapshotV3
	if _, err := New().Restore(plain[:4:4]); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("truncated: %v", err)
	}
}
