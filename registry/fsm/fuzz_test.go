package fsm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

func FuzzDecodeCommand(f *testing.F) {
	for _, c := range sampleCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{5, 0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			if c != nil || !errors.Is(err, ErrBadCommand) {
				t.Fatalf("DecodeCommand = %#v, %v; want nil and ErrBadCommand", c, err)
			}
			return
		}
		// Only the canonical form is accepted, so re-encoding gives the
		// input back, and decoding that gives the same command.
		again, err := EncodeCommand(c)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", c, err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("%#v re-encodes to %x, input was %x", c, again, data)
		}
		back, err := DecodeCommand(again)
		if err != nil || back != c {
			t.Fatalf("re-decoded %#v, %v; want %#v", back, err, c)
		}
		// Whatever decodes, applies without a decoding error.
		res := New().Apply(1, c)
		if errors.Is(res.Err, ErrBadCommand) {
			t.Fatalf("decoded %#v is refused by Apply: %v", c, res.Err)
		}
	})
}

func FuzzRestore(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "snapshot.golden")); err == nil {
		f.Add(b)
	}
	empty, _ := New().Snapshot()
	f.Add(empty)
	g := New()
	for i, c := range randomCommands(7, 40) {
		g.Apply(uint64(i+1), c)
	}
	small, _ := g.Snapshot()
	f.Add(small)
	f.Add([]byte("WREG\x01"))
	strong := New()
	strong.Apply(1, Reserve{"lock", a1, 5})
	strong.Apply(2, Reserve{"held", b1, 9})
	strong.Apply(3, Activate{"held", b1})
	strong.Apply(4, Register{"svc", a2})
	v2, _ := strong.Snapshot()
	f.Add(v2)
	strong.Apply(5, LockAcquire{"orders", a1})
	strong.Apply(6, LockAcquire{"jobs", b1})
	v3, _ := strong.Snapshot()
	f.Add(v3)
	f.Fuzz(func(t *testing.T, data []byte) {
		peeked, perr := SnapshotIndex(data)
		if perr != nil && !errors.Is(perr, ErrBadSnapshot) {
			t.Fatalf("SnapshotIndex: %v", perr)
		}
		{
			fresh := New()
			if _, err := fresh.Restore(data); err == nil && (perr != nil || fresh.Index() != peeked) {
				t.Fatalf("SnapshotIndex = %d, %v; Restore gives index %d", peeked, perr, fresh.Index())
			}
		}
		table := goldenTable(t)
		before, _ := table.Snapshot()
		old := map[string]pid.PID{}
		for _, e := range table.List() {
			old[e.Name] = e.PID
		}
		evs, err := table.Restore(data)
		if err != nil {
			if evs != nil || !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("Restore = %v, %v; want nil and ErrBadSnapshot", evs, err)
			}
			if after, _ := table.Snapshot(); !bytes.Equal(after, before) {
				t.Fatal("a failed Restore changed the table")
			}
			return
		}
		checkInvariants(t, table)
		checkLocks(t, table)
		// Only the canonical form is accepted: the snapshot of the
		// restored table is the input.
		if after, _ := table.Snapshot(); !bytes.Equal(after, data) {
			t.Fatalf("restored table snapshots to %x, input was %x", after, data)
		}
		// The events turn the old table into the new one.
		for _, ev := range evs {
			if ev.Index != table.Index() {
				t.Fatalf("event %v at another index than %d", ev, table.Index())
			}
			if ev.Kind == registry.EventRegistered {
				old[ev.Name] = ev.PID
			} else {
				delete(old, ev.Name)
			}
		}
		now := map[string]pid.PID{}
		for _, e := range table.List() {
			now[e.Name] = e.PID
		}
		if !reflect.DeepEqual(old, now) {
			t.Fatalf("events replay to %v, table is %v", old, now)
		}
	})
}
