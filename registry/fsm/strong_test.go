package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// strongEv is an event of a STRONG name.
func strongEv(kind registry.EventKind, name string, p pidT, index uint64) registry.Event {
	return registry.Event{Kind: kind, Cause: registry.CauseRequest, Name: name, PID: p, Index: index, Strong: true}
}

type pidT = pid.PID

// TestStrong: reservations, activation, aborts and the scope rules, as
// table steps like TestApply's.
func TestStrong(t *testing.T) {
	const dl = 1_000
	cases := []struct {
		name  string
		steps []step
		want  []registry.Entry
	}{
		{
			name: "reserve, then activate",
			steps: []step{
				{cmd: Reserve{"lock", a1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "lock", a1, 1)}},
				{cmd: Reserve{"lock", a1, dl}},
				{cmd: Activate{"lock", a1}, changes: []registry.Event{strongEv(registry.EventActivated, "lock", a1, 3)}},
				{cmd: Activate{"lock", a1}},
				{cmd: Abort{"lock", a1}},
			},
			want: []registry.Entry{{Name: "lock", PID: a1, Index: 1, Strong: true}},
		},
		{
			name: "first write wins across scopes",
			steps: []step{
				{cmd: Register{"svc", a1}, changes: []registry.Event{regd("svc", a1, 1)}},
				{cmd: Reserve{"svc", a1, dl}, err: registry.ErrAlreadyExists, owner: a1},
				{cmd: Reserve{"lock", b1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "lock", b1, 3)}},
				{cmd: Reserve{"lock", a1, dl}, err: registry.ErrAlreadyExists, owner: b1},
				{cmd: Register{"lock", b1}, err: registry.ErrAlreadyExists, owner: b1},
				{cmd: Register{"lock", a1}, err: registry.ErrAlreadyExists, owner: b1},
			},
			want: []registry.Entry{
				{Name: "lock", PID: b1, Index: 3, Strong: true, Pending: true, Deadline: dl},
				entry("svc", a1, 1),
			},
		},
		{
			name: "activate and abort only the holder's pending reservation",
			steps: []step{
				{cmd: Reserve{"lock", a1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "lock", a1, 1)}},
				{cmd: Activate{"lock", a2}, err: registry.ErrNotFound},
				{cmd: Abort{"lock", a2}},
				{cmd: Activate{"nope", a1}, err: registry.ErrNotFound},
				{cmd: Abort{"lock", a1}, changes: []registry.Event{strongEv(registry.EventUnregistered, "lock", a1, 5)}},
				{cmd: Activate{"lock", a1}, err: registry.ErrNotFound},
				{cmd: Register{"svc", a1}, changes: []registry.Event{regd("svc", a1, 7)}},
				{cmd: Activate{"svc", a1}, err: registry.ErrNotFound},
			},
			want: []registry.Entry{entry("svc", a1, 7)},
		},
		{
			name: "unregister must name the scope",
			steps: []step{
				{cmd: Reserve{"lock", a1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "lock", a1, 1)}},
				{cmd: Register{"svc", a1}, changes: []registry.Event{regd("svc", a1, 2)}},
				{cmd: Unregister{"lock", a1}, err: registry.ErrNotFound},
				{cmd: UnregisterStrong{"svc", a1}, err: registry.ErrNotFound},
				{cmd: UnregisterStrong{"lock", a2}, err: registry.ErrNotOwner, owner: a1},
				{cmd: UnregisterStrong{"lock", a1}, changes: []registry.Event{strongEv(registry.EventUnregistered, "lock", a1, 6)}},
				{cmd: Reserve{"x", a2, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "x", a2, 7)}},
				{cmd: UnregisterIfOwned{"x", a2}, changes: []registry.Event{strongEv(registry.EventUnregistered, "x", a2, 8)}},
			},
			want: []registry.Entry{entry("svc", a1, 2)},
		},
		{
			name: "releases take strong names, pending or not",
			steps: []step{
				{cmd: Reserve{"p", a1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "p", a1, 1)}},
				{cmd: Reserve{"q", a1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "q", a1, 2)}},
				{cmd: Activate{"q", a1}, changes: []registry.Event{strongEv(registry.EventActivated, "q", a1, 3)}},
				{cmd: Reserve{"r", b1, dl}, changes: []registry.Event{strongEv(registry.EventRegistered, "r", b1, 4)}},
				{cmd: ReleasePID{a1}, changes: []registry.Event{
					{Kind: registry.EventUnregistered, Cause: registry.CauseExit, Name: "p", PID: a1, Index: 5, Strong: true},
					{Kind: registry.EventUnregistered, Cause: registry.CauseExit, Name: "q", PID: a1, Index: 5, Strong: true},
				}},
				{cmd: ReleaseNode{"n2"}, changes: []registry.Event{
					{Kind: registry.EventUnregistered, Cause: registry.CauseNodeDown, Name: "r", PID: b1, Index: 6, Strong: true},
				}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := New()
			for i, s := range c.steps {
				index := uint64(i + 1)
				res := f.Apply(index, s.cmd)
				if !errors.Is(res.Err, s.err) || res.Owner != s.owner {
					t.Fatalf("step %d %#v: %v owner %v, want %v owner %v", index, s.cmd, res.Err, res.Owner, s.err, s.owner)
				}
				if !reflect.DeepEqual(res.Changes, s.changes) && len(res.Changes)+len(s.changes) > 0 {
					t.Fatalf("step %d: changes\n got %v\nwant %v", index, res.Changes, s.changes)
				}
				checkInvariants(t, f)
			}
			if got := f.List(); !reflect.DeepEqual(got, c.want) && len(got)+len(c.want) > 0 {
				t.Fatalf("List\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestReserveActive(t *testing.T) {
	f := New()
	if res := f.Apply(1, Reserve{"lock", a1, 9}); res.Active || res.Err != nil {
		t.Fatalf("%+v", res)
	}
	if res := f.Apply(2, Reserve{"lock", a1, 9}); res.Active {
		t.Fatal("pending reported active")
	}
	if p := f.Pending(); len(p) != 1 || p[0].Deadline != 9 || !p[0].Pending {
		t.Fatalf("pending %+v", p)
	}
	f.Apply(3, Activate{"lock", a1})
	if res := f.Apply(4, Reserve{"lock", a1, 9}); !res.Active {
		t.Fatal("active not reported")
	}
	if len(f.Pending()) != 0 || f.Strong() != 1 {
		t.Fatalf("pending %v strong %d", f.Pending(), f.Strong())
	}
}

// TestSnapshotStrong: a table without STRONG names keeps the version 1
// bytes; with them, version 2 carries flags and deadlines, round trips,
// and a restore reports an activation.
func TestSnapshotStrong(t *testing.T) {
	plain := New()
	plain.Apply(1, Register{"svc", a1})
	b, _ := plain.Snapshot()
	if b[4] != 1 {
		t.Fatalf("version %d for a table without strong names", b[4])
	}
	f := New()
	f.Apply(1, Register{"svc", a1})
	f.Apply(2, Reserve{"lock", a2, 77})
	f.Apply(3, Reserve{"held", b1, 5})
	f.Apply(4, Activate{"held", b1})
	b, err := f.Snapshot()
	if err != nil || b[4] != 2 {
		t.Fatalf("%v, version %d", err, b[4])
	}
	g := New()
	if _, err := g.Restore(b); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, g)
	if !reflect.DeepEqual(g.List(), f.List()) || g.Strong() != 2 || len(g.Pending()) != 1 {
		t.Fatalf("restored %+v", g.List())
	}
	again, _ := g.Snapshot()
	if !bytes.Equal(again, b) {
		t.Fatal("snapshot of the restored table differs")
	}
	// Activated after the snapshot was taken: restoring the later table
	// reports the activation.
	f.Apply(5, Activate{"lock", a2})
	later, _ := f.Snapshot()
	evs, err := g.Restore(later)
	if err != nil || len(evs) != 1 || evs[0].Kind != registry.EventActivated || evs[0].Name != "lock" {
		t.Fatalf("restore events %v %v", evs, err)
	}
	// Flags other than none, strong, strong and pending are refused, and
	// so is version 2 without a strong name.
	bad := bytes.Clone(b)
	i := bytes.LastIndex(bad, []byte("svc"))
	at := i + len("svc") + len("\xa2n1\xadapp:processes\x01\x01")
	if bad[at] != 0 {
		t.Fatalf("svc's flags byte is %#x", bad[at])
	}
	bad[at] = 2 // svc's flags: pending without strong
	if _, err := New().Restore(bad); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("bad flags: %v", err)
	}
	v2plain, _ := plain.Snapshot()
	v2plain = append(bytes.Clone(v2plain[:4]), 2)
	v2plain = append(v2plain, 1, 1, 0xa3, 's', 'v', 'c', 0xa2, 'n', '1', 0xad)
	v2plain = append(v2plain, "app:processes"...)
	v2plain = append(v2plain, 1, 1, 0)
	if _, err := New().Restore(v2plain); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("version 2 without a strong name: %v", err)
	}
}
