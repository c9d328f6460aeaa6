package fsm

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// goldenTable is the table of the golden snapshot, built in an order that
// differs from name order.
func goldenTable(t *testing.T) *FSM {
	t.Helper()
	f := New()
	steps := []Command{
		Register{"web", b1},
		Register{"cache", a1},
		Register{"db", a2},
		Register{"tmp", a3},
		Register{"audit", a1},
		Unregister{"tmp", a3},
		Register{strings.Repeat("long", 10), pid.PID{Node: "n3", Host: "app:processes", Seq: 1 << 40}},
	}
	for i, c := range steps {
		if res := f.Apply(uint64(10*(i+1)), c); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	return f
}

func TestSnapshotGolden(t *testing.T) {
	snap, err := goldenTable(t).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "snapshot.golden", snap)
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, src := range []*FSM{New(), goldenTable(t)} {
		snap, err := src.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		dst := New()
		if _, err := dst.Restore(snap); err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, dst)
		if dst.Index() != src.Index() || !reflect.DeepEqual(dst.List(), src.List()) {
			t.Fatalf("restored table differs: index %d/%d\n%v\n%v", dst.Index(), src.Index(), dst.List(), src.List())
		}
		again, _ := dst.Snapshot()
		if !bytes.Equal(again, snap) {
			t.Fatal("snapshot of the restored table differs")
		}
		// Secondary indexes are rebuilt: releases work after a restore.
		res := dst.Apply(dst.Index()+1, ReleaseNode{"n1"})
		for _, ev := range res.Changes {
			if ev.PID.Node != "n1" {
				t.Fatalf("released %v", ev)
			}
		}
		if src.Len() > 0 && len(res.Changes) != 3 {
			t.Fatalf("release after restore: %v", res.Changes)
		}
		checkInvariants(t, dst)
	}
}

func TestSnapshotOrderIndependent(t *testing.T) {
	// The same entries inserted in opposite orders give the same bytes.
	a, b := New(), New()
	ns := []string{"m", "a", "z", "k", "b"}
	for i := range ns {
		a.insert(ns[i], record{pid: a1, index: 1})
		b.insert(ns[len(ns)-1-i], record{pid: a1, index: 1})
	}
	a.index, b.index = 1, 1
	sa, _ := a.Snapshot()
	sb, _ := b.Snapshot()
	if !bytes.Equal(sa, sb) {
		t.Fatal("snapshot depends on insertion order")
	}
}

func TestRestoreEvents(t *testing.T) {
	f := New()
	for i, c := range []Command{
		Register{"keep", a1}, Register{"moved", a1}, Register{"gone", a2}, Register{"same-pid", b1},
	} {
		f.Apply(uint64(i+1), c)
	}
	g := New()
	for i, c := range []Command{
		Register{"added", a3}, Register{"keep", a1}, Register{"moved", b1}, Register{"same-pid", b1},
	} {
		g.Apply(uint64(i+20), c)
	}
	snap, _ := g.Snapshot()
	evs, err := f.Restore(snap)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(kind registry.EventKind, name string, p pid.PID) registry.Event {
		return registry.Event{Kind: kind, Cause: registry.CauseRestore, Name: name, PID: p, Index: 23}
	}
	want := []registry.Event{
		ev(registry.EventRegistered, "added", a3),
		ev(registry.EventUnregistered, "gone", a2),
		ev(registry.EventUnregistered, "moved", a1),
		ev(registry.EventRegistered, "moved", b1),
	}
	if !reflect.DeepEqual(evs, want) {
		t.Fatalf("restore events\n got %v\nwant %v", evs, want)
	}
	if f.Index() != 23 {
		t.Fatalf("Index() = %d, want 23", f.Index())
	}
}

// TestRestoreEventsReplay checks, on random tables, that replaying the
// restore events on a copy of the old table gives the new table.
func TestRestoreEventsReplay(t *testing.T) {
	for seed := range uint64(30) {
		f, g := New(), New()
		for i, c := range randomCommands(seed, 60) {
			f.Apply(uint64(i+1), c)
		}
		for i, c := range randomCommands(seed+1000, 60) {
			g.Apply(uint64(i+1), c)
		}
		view := map[string]pid.PID{}
		for _, e := range f.List() {
			view[e.Name] = e.PID
		}
		snap, _ := g.Snapshot()
		evs, err := f.Restore(snap)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSortedFunc(evs, func(a, b registry.Event) int { return strings.Compare(a.Name, b.Name) }) {
			t.Fatalf("seed %d: restore events not in name order: %v", seed, evs)
		}
		for _, ev := range evs {
			switch ev.Kind {
			case registry.EventRegistered:
				if _, ok := view[ev.Name]; ok {
					t.Fatalf("seed %d: %v over a held name", seed, ev)
				}
				view[ev.Name] = ev.PID
			case registry.EventUnregistered:
				if view[ev.Name] != ev.PID {
					t.Fatalf("seed %d: %v, view has %v", seed, ev, view[ev.Name])
				}
				delete(view, ev.Name)
			}
		}
		want := map[string]pid.PID{}
		for _, e := range g.List() {
			want[e.Name] = e.PID
		}
		if !reflect.DeepEqual(view, want) {
			t.Fatalf("seed %d: replayed view %v, want %v", seed, view, want)
		}
	}
}

func TestRestoreRejects(t *testing.T) {
	hdr := func(index, count byte) []byte { return enc("WREG", 1, index, count) }
	e := func(name, node, host string, seq, created byte) []byte {
		return enc(fixstr(name), fixstr(node), fixstr(host), seq, created)
	}
	good := enc(hdr(9, 2), e("a", "n", "h", 1, 3), e("b", "n", "h", 2, 9))
	if _, err := New().Restore(good); err != nil {
		t.Fatalf("the valid base input fails: %v", err)
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, nil},
		{"other magic", enc("WREX", 1, 0, 0), nil},
		{"version 0", enc("WREG", 0, 0, 0), nil},
		{"version 2", enc("WREG", 2, 0, 0), nil},
		{"no index", enc("WREG", 1), nil},
		{"trailing byte", enc(good, 0), nil},
		{"count too large for the input", enc(hdr(9, 3), e("a", "n", "h", 1, 3), e("b", "n", "h", 2, 9)), nil},
		{"count of 2^32", enc("WREG", 1, 9, 0xce, 0xff, 0xff, 0xff, 0xff, e("a", "n", "h", 1, 3)), nil},
		{"names out of order", enc(hdr(9, 2), e("b", "n", "h", 1, 3), e("a", "n", "h", 2, 9)), nil},
		{"duplicate name", enc(hdr(9, 2), e("a", "n", "h", 1, 3), e("a", "n", "h", 2, 9)), nil},
		{"created after the snapshot", enc(hdr(9, 1), e("a", "n", "h", 1, 10)), nil},
		{"created at 0", enc(hdr(9, 1), e("a", "n", "h", 1, 0)), nil},
		{"zero seq", enc(hdr(9, 1), e("a", "n", "h", 0, 3)), registry.ErrInvalidPID},
		{"empty node", enc(hdr(9, 1), e("a", "", "hhhh", 1, 3)), registry.ErrInvalidPID},
		{"empty name", enc(hdr(9, 1), e("", "n", "hhh", 1, 3)), registry.ErrInvalidName},
		{"non-shortest index", enc("WREG", 1, 0xcc, 9, 0), nil},
		{"bin name", enc(hdr(9, 1), 0xc4, 1, "a", fixstr("n"), fixstr("h"), 1, 3), nil},
	}
	f := goldenTable(t)
	before, _ := f.Snapshot()
	for _, c := range cases {
		evs, err := f.Restore(c.in)
		if !errors.Is(err, ErrBadSnapshot) || evs != nil {
			t.Errorf("%s: Restore(%x) = %v, %v; want ErrBadSnapshot", c.name, c.in, evs, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.want)
		}
		if after, _ := f.Snapshot(); !bytes.Equal(after, before) {
			t.Fatalf("%s: a failed Restore changed the table", c.name)
		}
	}
	for n := range len(good) {
		if _, err := New().Restore(good[:n]); err == nil {
			t.Fatalf("snapshot cut to %d of %d bytes accepted", n, len(good))
		}
	}
}

func TestRestoreHostileAlloc(t *testing.T) {
	inputs := [][]byte{
		enc("WREG", 1, 9, 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, fixstr("a")),
		enc("WREG", 1, 9, 1, 0xda, 0x04, 0x00, "abc"),
	}
	const rounds = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rounds {
		for _, in := range inputs {
			if _, err := New().Restore(in); err == nil {
				t.Fatal("hostile input accepted")
			}
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / (rounds * uint64(len(inputs)))
	if per > 2048 {
		t.Fatalf("%d bytes allocated per hostile restore", per)
	}
}
