package fsm

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	a1 = pid.PID{Node: "n1", Host: "app:processes", Seq: 1}
	a2 = pid.PID{Node: "n1", Host: "app:processes", Seq: 2}
	a3 = pid.PID{Node: "n1", Host: "app:terminal", Seq: 1}
	b1 = pid.PID{Node: "n2", Host: "app:processes", Seq: 1}
)

func regd(name string, p pid.PID, index uint64) registry.Event {
	return registry.Event{Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: name, PID: p, Index: index}
}

func unregd(cause registry.Cause, name string, p pid.PID, index uint64) registry.Event {
	return registry.Event{Kind: registry.EventUnregistered, Cause: cause, Name: name, PID: p, Index: index}
}

func entry(name string, p pid.PID, index uint64) registry.Entry {
	return registry.Entry{Name: name, PID: p, Index: index}
}

// step is one Apply at the next index (1, 2, 3 ...) and what it must return.
type step struct {
	cmd     Command
	err     error // checked with errors.Is; nil means success
	owner   pid.PID
	changes []registry.Event
}

func TestApply(t *testing.T) {
	long := strings.Repeat("x", registry.MaxNameLen+1)
	cases := []struct {
		name  string
		steps []step
		want  []registry.Entry
	}{
		{
			name:  "register a free name",
			steps: []step{{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}}},
			want:  []registry.Entry{entry("cache", a1, 1)},
		},
		{
			name: "same name to same pid is idempotent",
			steps: []step{
				{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}},
				{cmd: Register{"cache", a1}},
			},
			want: []registry.Entry{entry("cache", a1, 1)},
		},
		{
			name: "first write wins",
			steps: []step{
				{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}},
				{cmd: Register{"cache", b1}, err: registry.ErrAlreadyExists, owner: a1},
				{cmd: Register{"cache", a2}, err: registry.ErrAlreadyExists, owner: a1},
			},
			want: []registry.Entry{entry("cache", a1, 1)},
		},
		{
			name: "a pid holds several names",
			steps: []step{
				{cmd: Register{"b", a1}, changes: []registry.Event{regd("b", a1, 1)}},
				{cmd: Register{"a", a1}, changes: []registry.Event{regd("a", a1, 2)}},
				{cmd: Register{"c", a2}, changes: []registry.Event{regd("c", a2, 3)}},
			},
			want: []registry.Entry{entry("a", a1, 2), entry("b", a1, 1), entry("c", a2, 3)},
		},
		{
			name: "unregister by owner, then the name is free again",
			steps: []step{
				{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}},
				{cmd: Unregister{"cache", a1}, changes: []registry.Event{unregd(registry.CauseRequest, "cache", a1, 2)}},
				{cmd: Unregister{"cache", a1}, err: registry.ErrNotFound},
				{cmd: Register{"cache", b1}, changes: []registry.Event{regd("cache", b1, 4)}},
			},
			want: []registry.Entry{entry("cache", b1, 4)},
		},
		{
			name: "unregister by a non-owner is refused",
			steps: []step{
				{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}},
				{cmd: Unregister{"cache", a2}, err: registry.ErrNotOwner, owner: a1},
				{cmd: Unregister{"nothing", a2}, err: registry.ErrNotFound},
			},
			want: []registry.Entry{entry("cache", a1, 1)},
		},
		{
			name: "unregister one of several names keeps the others",
			steps: []step{
				{cmd: Register{"a", a1}, changes: []registry.Event{regd("a", a1, 1)}},
				{cmd: Register{"b", a1}, changes: []registry.Event{regd("b", a1, 2)}},
				{cmd: Register{"c", a1}, changes: []registry.Event{regd("c", a1, 3)}},
				{cmd: Unregister{"a", a1}, changes: []registry.Event{unregd(registry.CauseRequest, "a", a1, 4)}},
			},
			want: []registry.Entry{entry("b", a1, 2), entry("c", a1, 3)},
		},
		{
			name: "conditional unregister removes only the given owner's name, silently",
			steps: []step{
				{cmd: Register{"mine", a1}, changes: []registry.Event{regd("mine", a1, 1)}},
				{cmd: Register{"theirs", b1}, changes: []registry.Event{regd("theirs", b1, 2)}},
				{cmd: UnregisterIfOwned{"theirs", a1}},
				{cmd: UnregisterIfOwned{"absent", a1}},
				{cmd: UnregisterIfOwned{"mine", a1}, changes: []registry.Event{unregd(registry.CauseRequest, "mine", a1, 5)}},
				{cmd: UnregisterIfOwned{"mine", a1}},
			},
			want: []registry.Entry{entry("theirs", b1, 2)},
		},
		{
			// a1's register timed out before it was applied; b1 got there
			// first; the follow-up must leave b1 alone.
			name: "unknown outcome: the loser's follow-up does not touch the winner",
			steps: []step{
				{cmd: Register{"leader", b1}, changes: []registry.Event{regd("leader", b1, 1)}},
				{cmd: Register{"leader", a1}, err: registry.ErrAlreadyExists, owner: b1},
				{cmd: UnregisterIfOwned{"leader", a1}},
			},
			want: []registry.Entry{entry("leader", b1, 1)},
		},
		{
			// a1's register timed out after it was applied: the follow-up
			// frees the name, as the caller was told it failed.
			name: "unknown outcome: the follow-up frees a name the caller was told it lost",
			steps: []step{
				{cmd: Register{"leader", a1}, changes: []registry.Event{regd("leader", a1, 1)}},
				{cmd: UnregisterIfOwned{"leader", a1}, changes: []registry.Event{unregd(registry.CauseRequest, "leader", a1, 2)}},
			},
		},
		{
			name: "release a pid: its names, sorted; others untouched",
			steps: []step{
				{cmd: Register{"z", a1}, changes: []registry.Event{regd("z", a1, 1)}},
				{cmd: Register{"m", a2}, changes: []registry.Event{regd("m", a2, 2)}},
				{cmd: Register{"a", a1}, changes: []registry.Event{regd("a", a1, 3)}},
				{cmd: Register{"q", a1}, changes: []registry.Event{regd("q", a1, 4)}},
				{cmd: ReleasePID{a1}, changes: []registry.Event{
					unregd(registry.CauseExit, "a", a1, 5),
					unregd(registry.CauseExit, "q", a1, 5),
					unregd(registry.CauseExit, "z", a1, 5),
				}},
				{cmd: ReleasePID{a1}},
				{cmd: ReleasePID{b1}},
			},
			want: []registry.Entry{entry("m", a2, 2)},
		},
		{
			name: "release a node: every name of its pids, sorted; other nodes untouched",
			steps: []step{
				{cmd: Register{"w", a1}, changes: []registry.Event{regd("w", a1, 1)}},
				{cmd: Register{"b", a2}, changes: []registry.Event{regd("b", a2, 2)}},
				{cmd: Register{"k", b1}, changes: []registry.Event{regd("k", b1, 3)}},
				{cmd: Register{"a", a3}, changes: []registry.Event{regd("a", a3, 4)}},
				{cmd: Register{"c", a1}, changes: []registry.Event{regd("c", a1, 5)}},
				{cmd: ReleaseNode{"n1"}, changes: []registry.Event{
					unregd(registry.CauseNodeDown, "a", a3, 6),
					unregd(registry.CauseNodeDown, "b", a2, 6),
					unregd(registry.CauseNodeDown, "c", a1, 6),
					unregd(registry.CauseNodeDown, "w", a1, 6),
				}},
				{cmd: ReleaseNode{"n1"}},
				{cmd: ReleaseNode{"n9"}},
				{cmd: Register{"w", b1}, changes: []registry.Event{regd("w", b1, 9)}},
			},
			want: []registry.Entry{entry("k", b1, 3), entry("w", b1, 9)},
		},
		{
			name: "invalid commands fail and change nothing",
			steps: []step{
				{cmd: Register{"cache", a1}, changes: []registry.Event{regd("cache", a1, 1)}},
				{cmd: nil, err: ErrBadCommand},
				{cmd: &Register{"ptr", a1}, err: ErrBadCommand},
				{cmd: (*Unregister)(nil), err: ErrBadCommand},
				{cmd: Register{"", a1}, err: registry.ErrInvalidName},
				{cmd: Register{long, a1}, err: registry.ErrInvalidName},
				{cmd: Register{"x", pid.PID{}}, err: registry.ErrInvalidPID},
				{cmd: Register{"x", pid.PID{Host: "h", Seq: 1}}, err: registry.ErrInvalidPID},
				{cmd: Unregister{"cache", pid.PID{}}, err: registry.ErrInvalidPID},
				{cmd: UnregisterIfOwned{"", a1}, err: registry.ErrInvalidName},
				{cmd: ReleasePID{pid.PID{Node: "n1", Host: "app:processes"}}, err: registry.ErrInvalidPID},
				{cmd: ReleaseNode{""}, err: registry.ErrInvalidPID},
			},
			want: []registry.Entry{entry("cache", a1, 1)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := New()
			for i, s := range c.steps {
				index := uint64(i + 1)
				res := f.Apply(index, s.cmd)
				if !errors.Is(res.Err, s.err) {
					t.Fatalf("step %d %#v: err = %v, want %v", index, s.cmd, res.Err, s.err)
				}
				invalid := errors.Is(s.err, registry.ErrInvalidName) || errors.Is(s.err, registry.ErrInvalidPID)
				if invalid && !errors.Is(res.Err, ErrBadCommand) {
					t.Errorf("step %d: %v does not wrap ErrBadCommand", index, res.Err)
				}
				if res.Owner != s.owner {
					t.Errorf("step %d: owner = %v, want %v", index, res.Owner, s.owner)
				}
				if !reflect.DeepEqual(res.Changes, s.changes) && len(res.Changes)+len(s.changes) > 0 {
					t.Errorf("step %d: changes\n got %v\nwant %v", index, res.Changes, s.changes)
				}
				if f.Index() != index {
					t.Errorf("step %d: Index() = %d", index, f.Index())
				}
				checkInvariants(t, f)
			}
			if got := f.List(); !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 {
				t.Errorf("List\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestStaleIndex(t *testing.T) {
	f := New()
	if res := f.Apply(0, Register{"a", a1}); !errors.Is(res.Err, ErrStaleIndex) {
		t.Fatalf("Apply at 0: %v, want ErrStaleIndex", res.Err)
	}
	if res := f.Apply(5, Register{"a", a1}); res.Err != nil {
		t.Fatal(res.Err)
	}
	for _, index := range []uint64{5, 4} {
		res := f.Apply(index, Register{"b", a1})
		if !errors.Is(res.Err, ErrStaleIndex) || len(res.Changes) != 0 {
			t.Fatalf("Apply at %d: %+v, want ErrStaleIndex and no change", index, res)
		}
	}
	if f.Index() != 5 || f.Len() != 1 {
		t.Fatalf("Index %d Len %d, want 5 and 1", f.Index(), f.Len())
	}
	// Indexes need not be contiguous (raft skips configuration entries).
	if res := f.Apply(9, Register{"b", a1}); res.Err != nil || f.Index() != 9 {
		t.Fatalf("Apply at 9: %v, Index %d", res.Err, f.Index())
	}
}

func TestQueries(t *testing.T) {
	f := New()
	cmds := []Command{
		Register{"z", a1}, Register{"y", a1}, Register{"x", a2}, Register{"w", b1},
	}
	for i, c := range cmds {
		if res := f.Apply(uint64(i+1), c); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if p, ok := f.Lookup("y"); !ok || p != a1 {
		t.Errorf("Lookup(y) = %v %v", p, ok)
	}
	if p, ok := f.Lookup("nope"); ok || !p.IsZero() {
		t.Errorf("Lookup(nope) = %v %v", p, ok)
	}
	if e, ok := f.Get("x"); !ok || e != entry("x", a2, 3) {
		t.Errorf("Get(x) = %v %v", e, ok)
	}
	if _, ok := f.Get("nope"); ok {
		t.Error("Get(nope) found something")
	}
	if got := f.NamesOf(a1); !slices.Equal(got, []string{"y", "z"}) {
		t.Errorf("NamesOf(a1) = %v", got)
	}
	if got := f.NamesOf(a3); got != nil {
		t.Errorf("NamesOf(a3) = %v", got)
	}
	if got := f.Nodes(); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("Nodes = %v", got)
	}
	// NamesOf returns a copy.
	f.NamesOf(a1)[0] = "mutated"
	if got := f.NamesOf(a1); !slices.Equal(got, []string{"y", "z"}) {
		t.Errorf("NamesOf(a1) after mutating a result = %v", got)
	}
	if f.Len() != 4 {
		t.Errorf("Len = %d", f.Len())
	}
}

// TestConcurrentReads runs the read methods at once (under -race) to back
// the documented contract: reads change nothing and may share a reader lock.
func TestConcurrentReads(t *testing.T) {
	f := New()
	for i, c := range randomCommands(1, 500) {
		f.Apply(uint64(i+1), c)
	}
	want, _ := f.Snapshot()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				f.Lookup(names[(g+i)%len(names)])
				f.Get(names[i%len(names)])
				f.List()
				f.NamesOf(pids[i%len(pids)])
				f.Nodes()
				_ = f.Len() + int(f.Index())
				if got, _ := f.Snapshot(); string(got) != string(want) {
					t.Error("snapshot changed during reads")
					return
				}
			}
		})
	}
	wg.Wait()
}

// checkInvariants verifies the secondary indexes against the table.
func checkInvariants(t *testing.T, f *FSM) {
	t.Helper()
	count := 0
	for p, held := range f.byPID {
		if len(held) == 0 {
			t.Fatalf("empty name list kept for %v", p)
		}
		if _, ok := f.byNode[p.Node][p]; !ok {
			t.Fatalf("%v holds names but is not in byNode[%q]", p, p.Node)
		}
		for _, name := range held {
			if r, ok := f.names[name]; !ok || r.pid != p {
				t.Fatalf("byPID[%v] lists %q, table has %v %v", p, name, r.pid, ok)
			}
		}
		count += len(held)
	}
	if count != len(f.names) {
		t.Fatalf("byPID lists %d names, table has %d", count, len(f.names))
	}
	for node, set := range f.byNode {
		if len(set) == 0 {
			t.Fatalf("empty set kept for node %q", node)
		}
		for p := range set {
			if p.Node != node || len(f.byPID[p]) == 0 {
				t.Fatalf("byNode[%q] lists %v without names", node, p)
			}
		}
	}
	strong, pending := 0, 0
	for name, r := range f.names {
		if r.index == 0 || r.index > f.index {
			t.Fatalf("%q created at %d, table at %d", name, r.index, f.index)
		}
		if r.strong() {
			strong++
		}
		_, listed := f.pending[name]
		if r.pending() != listed || r.pending() && !r.strong() || !r.pending() && r.deadline != 0 {
			t.Fatalf("%q: flags %d, deadline %d, in pending %v", name, r.flags, r.deadline, listed)
		}
		if r.pending() {
			pending++
		}
	}
	if strong != f.nstrong || pending != len(f.pending) {
		t.Fatalf("%d strong names counted %d; %d pending, %d listed", strong, f.nstrong, pending, len(f.pending))
	}
}
