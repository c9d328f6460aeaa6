package fsm

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Snapshot format, version 1 (a table without STRONG names) or 2:
//
//	"WREG" 0x01 or 0x02              magic and version, raw bytes
//	index                            uint: Index() of the table
//	count                            uint: number of entries
//	count times, by increasing name (bytewise):
//	  name, node, host, seq, created  str, str, str, uint, uint
//	  version 2 only: flags           uint: 0, 1 strong, 3 strong and pending
//	  version 2, pending only:        uint: the reservation's deadline
//
// Values are msgpack in their shortest form, as for commands; created is
// the Register index of the entry (1 <= created <= index). The same table
// always gives the same bytes, and a table without STRONG names the bytes
// of version 1, which every older replica reads. There is no checksum: the
// snapshot store that holds the bytes (raft's) checks integrity.
var snapshotMagic = [...]byte{'W', 'R', 'E', 'G', 1}

// snapshotV2 is the version byte of a table with STRONG names and no
// locks; snapshotV3 of a table with locks (its names as in version 2,
// then the locks section of lock.go).
const (
	snapshotV2 = 2
	snapshotV3 = 3
)

// minEntrySize is the smallest encoded entry: three one-byte strings with
// their headers, and two one-byte integers. Restore refuses a count that
// could not fit in the bytes left, before allocating for it.
const minEntrySize = 3*2 + 2

// Snapshot returns the table and its index as deterministic bytes: two
// tables with the same entries at the same index give equal snapshots,
// whatever order their maps are in. The error is for the caller's
// convenience; encoding to memory does not fail.
func (f *FSM) Snapshot() ([]byte, error) {
	list := f.List()
	size := len(snapshotMagic) + 18
	for _, e := range list {
		size += len(e.Name) + len(e.PID.Node) + len(e.PID.Host) + 24
	}
	w := newWriter(size)
	v3 := len(f.lk.locks) > 0
	v2 := f.nstrong > 0 || v3
	switch {
	case v3:
		w.raw(snapshotMagic[0], snapshotMagic[1], snapshotMagic[2], snapshotMagic[3], snapshotV3)
	case v2:
		w.raw(snapshotMagic[0], snapshotMagic[1], snapshotMagic[2], snapshotMagic[3], snapshotV2)
	default:
		w.raw(snapshotMagic[:]...)
	}
	w.uint(f.index)
	w.uint(uint64(len(list)))
	for _, e := range list {
		w.str(e.Name)
		w.pid(e.PID)
		w.uint(e.Index)
		if v2 {
			r := f.names[e.Name]
			w.uint(uint64(r.flags))
			if r.pending() {
				w.uint(r.deadline)
			}
		}
	}
	if v3 {
		f.lk.write(w)
	}
	return w.bytes()
}

// Restore replaces the table with the snapshot b and returns the
// difference from the table it replaced, as events with Cause CauseRestore
// and the snapshot's index, in name order (for a name that changed holder:
// its EventUnregistered, then its EventRegistered). A watcher that applies
// them stays an exact copy.
//
// Restore is safe on hostile input: it never panics, checks every count and
// length against the bytes left before allocating, and accepts only what
// Snapshot writes (shortest encodings, names strictly increasing, valid
// names and PIDs, 1 <= created <= index, no trailing bytes). On any error,
// which wraps ErrBadSnapshot, the table is unchanged.
//
// The snapshot's index becomes Index(), even when lower than the current one:
// a snapshot is authoritative.
func (f *FSM) Restore(b []byte) ([]registry.Event, error) {
	next, order, err := decodeSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	evs := f.diff(next, order)
	*f = *next
	return evs, nil
}

// SnapshotIndex returns the index of the snapshot in b, reading only its
// header: a replica that already holds a later state skips installing it.
// It fails (ErrBadSnapshot) when the header is not one Snapshot writes;
// a snapshot it accepts may still fail Restore.
func SnapshotIndex(b []byte) (uint64, error) {
	if !bytes.HasPrefix(b, snapshotMagic[:4]) || len(b) < len(snapshotMagic) ||
		b[4] != snapshotMagic[4] && b[4] != snapshotV2 && b[4] != snapshotV3 {
		return 0, fmt.Errorf("%w: %w: not a registry snapshot", ErrBadSnapshot, errShape)
	}
	r := newReader(b[len(snapshotMagic):])
	index := r.uint()
	if r.err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadSnapshot, r.err)
	}
	return index, nil
}

// decodeSnapshot returns the table in b and its names in order.
func decodeSnapshot(b []byte) (*FSM, []string, error) {
	if !bytes.HasPrefix(b, snapshotMagic[:4]) {
		return nil, nil, fmt.Errorf("%w: not a registry snapshot", errShape)
	}
	if len(b) < len(snapshotMagic) || b[4] != snapshotMagic[4] && b[4] != snapshotV2 && b[4] != snapshotV3 {
		return nil, nil, fmt.Errorf("%w: unsupported version", errShape)
	}
	v3 := b[4] == snapshotV3
	v2 := b[4] == snapshotV2 || v3
	r := newReader(b[len(snapshotMagic):])
	index := r.uint()
	count := r.uint()
	if r.err == nil && count > uint64(r.remaining()/minEntrySize) {
		r.fail("%d entries cannot fit in %d bytes", count, r.remaining())
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	t := newSized(int(count))
	t.index = index
	order := make([]string, 0, count)
	seen := make(map[string]string) // node names and host ids repeat: keep one copy
	for i := range count {
		name := r.str(registry.MaxNameLen)
		p := pid.PID{
			Node: r.strIntern(registry.MaxNodeLen, seen),
			Host: r.strIntern(registry.MaxHostLen, seen),
			Seq:  r.uint(),
		}
		created := r.uint()
		rec := record{pid: p, index: created}
		if v2 {
			rec.flags = uint8(min(r.uint(), 255))
			if rec.pending() {
				rec.deadline = r.uint()
			}
		}
		if r.err != nil {
			return nil, nil, r.err
		}
		if rec.flags != 0 && rec.flags != flagStrong && rec.flags != flagStrong|flagPending {
			return nil, nil, fmt.Errorf("%w: entry %d: flags %d", errShape, i, rec.flags)
		}
		if i > 0 && name <= order[i-1] {
			return nil, nil, fmt.Errorf("%w: entry %d: names not strictly increasing", errShape, i)
		}
		if err := validateNamePID(name, p); err != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if created == 0 || created > index {
			return nil, nil, fmt.Errorf("%w: entry %d: created at %d, snapshot at %d", errShape, i, created, index)
		}
		t.insert(name, rec)
		order = append(order, name)
	}
	if v3 {
		lk, err := readLocks(r)
		if err != nil {
			return nil, nil, err
		}
		if len(lk.locks) == 0 {
			return nil, nil, fmt.Errorf("%w: version 3 without a lock", errShape)
		}
		t.lk = lk
	}
	if err := r.end(); err != nil {
		return nil, nil, err
	}
	if b[4] == snapshotV2 && t.nstrong == 0 {
		return nil, nil, fmt.Errorf("%w: version 2 without a strong name", errShape)
	}
	return t, order, nil
}

// diff returns the events that turn f's table into next's, whose names in
// order are cur. A fresh replica restoring a large snapshot gets one event
// per name, so the merge runs twice: once to count, once to fill a slice of
// exactly that size.
func (f *FSM) diff(next *FSM, cur []string) []registry.Event {
	old := make([]string, 0, len(f.names))
	for name := range f.names {
		old = append(old, name)
	}
	slices.Sort(old)
	n := 0
	f.merge(next, old, cur, func(registry.EventKind, string, record) { n++ })
	if n == 0 {
		return nil
	}
	evs := make([]registry.Event, 0, n)
	f.merge(next, old, cur, func(kind registry.EventKind, name string, r record) {
		evs = append(evs, registry.Event{
			Kind: kind, Cause: registry.CauseRestore, Name: name, PID: r.pid, Index: next.index, Strong: r.strong(),
		})
	})
	return evs
}

// merge walks the sorted names of both tables and calls ev for each change,
// in name order.
func (f *FSM) merge(next *FSM, old, cur []string, ev func(registry.EventKind, string, record)) {
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || i < len(old) && old[i] < cur[j]:
			ev(registry.EventUnregistered, old[i], f.names[old[i]])
			i++
		case i == len(old) || cur[j] < old[i]:
			ev(registry.EventRegistered, cur[j], next.names[cur[j]])
			j++
		default:
			switch was, is := f.names[old[i]], next.names[cur[j]]; {
			case was.pid != is.pid || was.strong() != is.strong():
				ev(registry.EventUnregistered, old[i], was)
				ev(registry.EventRegistered, cur[j], is)
			case was.pending() && !is.pending():
				ev(registry.EventActivated, cur[j], is)
			}
			i++
			j++
		}
	}
}
