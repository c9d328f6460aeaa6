package raftreg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// openT opens the stores of cfg for a test, closed at its end.
func openT(t *testing.T, cfg Config) *stores {
	t.Helper()
	st, err := openStores(&cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.close() })
	return st
}

// storeRange appends entries from to to, 300 bytes each, one per append.
func storeRange(t *testing.T, logs raft.LogStore, from, to uint64) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := logs.StoreLogs([]*raft.Log{{Index: i, Term: 1, Data: bytes.Repeat([]byte{byte(i)}, 300)}}); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
}

// walState reads the segment list of cfg's WAL.
func walState(t *testing.T, cfg Config) types.PersistentState {
	t.Helper()
	m, err := readWALMeta(filepath.Join(cfg.DataDir, cfg.Node, walDir, metadb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return m.state
}

// wantLast opens cfg's stores as a node does, reads every entry, and
// checks the log ends at last.
func wantLast(t *testing.T, cfg Config, last uint64) {
	t.Helper()
	got, err := openChecked(t, cfg)
	if err != nil || got != last {
		t.Fatalf("the log ends at %d (%v), want %d", got, err, last)
	}
}

// A tail truncation (raft dropping entries a new leader does not have)
// leaves the open segment sealed without its index in raft-wal v0.4.0,
// unreadable after a restart. The check writes the index.
func TestStoreTailTruncation(t *testing.T) {
	cfg := nodeDir(t, nil, false)
	cfg.segmentSize = 8 << 10
	st, err := openStores(&cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	storeRange(t, st.logs, 1, 40)
	if err := st.logs.DeleteRange(35, 40); err != nil {
		t.Fatal(err)
	}
	st.close()
	ws := walState(t, cfg)
	if !slices.ContainsFunc(ws.Segments, func(s types.SegmentInfo) bool { return !s.SealTime.IsZero() && s.IndexStart == 0 }) {
		t.Fatalf("no segment sealed without its index: %+v", ws.Segments)
	}
	// An earlier start wrote the index and stopped before the metadata.
	chk, err := inspectWAL(filepath.Join(cfg.DataDir, "n1", walDir), segmentSize)
	if err != nil || len(chk.fixes) != 1 || !chk.meta {
		t.Fatalf("inspect: %v, %d fixes", err, len(chk.fixes))
	}
	if err := chk.fixes[0].apply(); err != nil {
		t.Fatal(err)
	}
	wantLast(t, cfg, 34)
	st = openT(t, cfg)
	storeRange(t, st.logs, 35, 50)
	st.close()
	wantLast(t, cfg, 50)
}

// A segment sealed by an append, with the process stopped before raft-wal
// recorded the seal and started the next segment (it does that on a
// goroutine of its own): raft-wal v0.4.0 reopens it as the open segment
// and fails every append. The check finishes the rotation.
func TestStoreUnfinishedRotation(t *testing.T) {
	cfg := nodeDir(t, nil, false)
	cfg.segmentSize = 8 << 10
	dir := filepath.Join(cfg.DataDir, "n1", walDir)
	st, err := openStores(&cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sealedFiles := func() int {
		n := 0
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".wal") && info.Size() > 8<<10 {
				n++
			}
		}
		return n
	}
	last := uint64(0)
	for sealedFiles() < 2 {
		last++
		storeRange(t, st.logs, last, last)
	}
	st.close()
	// Undo the rotation if it came before the close: the state a crash
	// right after the sealing append leaves.
	ws := walState(t, cfg)
	n := len(ws.Segments)
	if ws.Segments[n-2].MaxIndex == last {
		if err := os.Remove(filepath.Join(dir, segment.FileName(ws.Segments[n-1]))); err != nil {
			t.Fatal(err)
		}
		ws.Segments = ws.Segments[:n-1]
		ws.Segments[n-2].SealTime, ws.Segments[n-2].MaxIndex, ws.Segments[n-2].IndexStart = time.Time{}, 0, 0
		commitState(t, dir, ws)
	}
	// raft-wal alone cannot append to it.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	err = w.StoreLogs([]*raft.Log{{Index: last + 1, Term: 1}})
	w.Close()
	meta.Close()
	if !errors.Is(err, types.ErrSealed) {
		t.Fatalf("raft-wal appended to a sealed segment: %v", err)
	}
	wantLast(t, cfg, last)
	st = openT(t, cfg)
	storeRange(t, st.logs, last+1, last+5)
	st.close()
	wantLast(t, cfg, last+5)
}

// An open segment of 0 bytes (a crash between creating and preallocating
// it) is a segment never written.
func TestStoreEmptyOpenSegment(t *testing.T) {
	cfg := nodeDir(t, nil, false)
	openT(t, cfg).close()
	ws := walState(t, cfg)
	path := filepath.Join(cfg.DataDir, "n1", walDir, segment.FileName(ws.Segments[0]))
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	wantLast(t, cfg, 0)
	st := openT(t, cfg)
	storeRange(t, st.logs, 1, 5)
	st.close()
	wantLast(t, cfg, 5)
}

// The remains of an interrupted append are zeroed: raft-wal v0.4.0 takes
// the index frame of an append that would have sealed the segment, its
// commit frame torn, for a seal, and fails every later append.
func TestStoreTornSeal(t *testing.T) {
	files, st := realWAL(t)
	// Segment 1 as the open segment, its sealing append torn (a byte of
	// the commit frame after the index), and the segments after it gone.
	seg := st.Segments[1]
	name := segment.FileName(seg)
	sc, err := scanSegment(files[name], seg)
	if err != nil || sc.indexStart == 0 {
		t.Fatalf("segment 1 is not sealed: %v", err)
	}
	files[name][sc.end-2] ^= 1
	for _, s := range st.Segments[2:] {
		delete(files, segment.FileName(s))
	}
	ws := st
	ws.Segments = slices.Clone(st.Segments[:2])
	ws.Segments[1].SealTime, ws.Segments[1].MaxIndex, ws.Segments[1].IndexStart = time.Time{}, 0, 0
	cfg := nodeDir(t, files, true)
	dir := filepath.Join(cfg.DataDir, "n1", walDir)
	commitState(t, dir, ws)
	if tail := files[name]; tail[int(sc.indexStart)-frameHeaderLen] != segment.FrameIndex ||
		tail[int(sc.offsets[len(sc.offsets)-1])-frameHeaderLen] != segment.FrameCommit {
		t.Fatal("the sealing append is not one entry and the index")
	}
	want := seg.MaxIndex - 1 // the sealing append held one entry
	// raft-wal alone cannot append to it: copy the directory and try.
	alone := t.TempDir()
	for n, b := range files {
		if n == metadb.FileName {
			b, _ = os.ReadFile(filepath.Join(dir, n))
		}
		if err := os.WriteFile(filepath.Join(alone, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(alone, wal.WithMetaStore(meta), wal.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	err = w.StoreLogs([]*raft.Log{{Index: want + 1, Term: 1}})
	w.Close()
	meta.Close()
	if !errors.Is(err, types.ErrSealed) {
		t.Fatalf("raft-wal appended after a torn seal: %v", err)
	}
	wantLast(t, cfg, want)
	s := openT(t, cfg)
	storeRange(t, s.logs, want+1, want+3)
	s.close()
	wantLast(t, cfg, want+3)
}

// An entry damaged after the check, while the node runs, is an error
// when read, not a panic of raft-wal's decoder.
func TestStoreDamageWhileOpen(t *testing.T) {
	files, st := realWAL(t)
	cfg := nodeDir(t, files, true)
	s := openT(t, cfg)
	seg := st.Segments[1]
	path := filepath.Join(cfg.DataDir, "n1", walDir, segment.FileName(seg))
	sc, err := scanSegment(files[segment.FileName(seg)], seg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A varint that overflows: raft-wal's decoder slices with its
	// negative length.
	_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, 11), int64(sc.offsets[0])+frameHeaderLen)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := s.logs.GetLog(seg.BaseIndex, &l); !errors.Is(err, ErrStoreDamaged) {
		t.Fatalf("reading a damaged entry: %v", err)
	}
}

// A second process on the same directory fails at once, and clearly.
func TestStoreLocked(t *testing.T) {
	cfg := nodeDir(t, nil, false)
	st := openT(t, cfg)
	if _, err := openStores(&cfg, quiet); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second open: %v", err)
	}
	if err := CheckStore(cfg); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("check while open: %v", err)
	}
	st.close()
	openT(t, cfg).close()
}
