package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
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
	if err := appendRaw(t, dir, last+1); !errors.Is(err, types.ErrSealed) {
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
	if err := appendRaw(t, alone, want+1); !errors.Is(err, types.ErrSealed) {
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

// TestSnapshotInstallOnDisk: with small segments, a cluster whose log
// rotates, is compacted after snapshots (raft-wal drops whole segments)
// and is replaced on a follower by an installed snapshot (raft deletes
// the follower's whole log) restarts with every name.
func TestSnapshotInstallOnDisk(t *testing.T) {
	c := startCluster(t, 3, onDisk, withConfig(func(cfg *Config) {
		cfg.SnapshotThreshold = 32
		cfg.TrailingLogs = 8
		cfg.SnapshotInterval = 20 * time.Millisecond
		cfg.segmentSize = 4 << 10
	}))
	leader := c.waitLeader(c.names...)
	f := c.followers(leader)[0]
	ctx := ctxT(t, 30*time.Second)
	name := func(i int) string { return fmt.Sprintf("name-%03d-%s", i, pad) }
	register := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := c.reg(leader).Register(ctx, name(i), ppid(leader, uint64(i+1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	register(0, 20)
	c.resolves(f, name(19), ppid(leader, 20))
	fLast := c.reg(f).Stats().LastIndex
	c.kill(f)
	register(20, 220)
	await.Within(t, 10*time.Second, "the leader's log compacted past the follower's", func() bool {
		fi, err := c.reg(leader).st.logs.FirstIndex()
		return err == nil && fi > fLast+1
	})
	await.Within(t, 10*time.Second, "the leader's first segment deleted", func() bool {
		_, err := os.Stat(filepath.Join(c.dir, leader, walDir, segment.FileName(types.SegmentInfo{BaseIndex: 1, ID: 0})))
		return errors.Is(err, os.ErrNotExist)
	})
	c.start(f)
	for i := range 220 {
		c.resolves(f, name(i), ppid(leader, uint64(i+1)))
	}
	await.Within(t, 5*time.Second, "the installed snapshot recorded on the follower", func() bool {
		return c.reg(f).raft().Stats()["last_snapshot_index"] != "0"
	})
	register(220, 240)
	for _, n := range c.names {
		c.kill(n)
	}
	for _, n := range c.names {
		if _, err := openChecked(t, c.config(n)); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	for _, n := range c.names {
		c.start(n)
	}
	c.waitLeader(c.names...)
	for _, n := range c.names {
		for _, i := range []int{0, 119, 239} {
			c.resolves(n, name(i), ppid(leader, uint64(i+1)))
		}
	}
}

// TestTruncatedLeaderRestarts: a leader cut off from the others keeps the
// entries it proposed meanwhile in its log; once back, raft drops them
// (a tail truncation), which raft-wal v0.4.0 leaves unreadable after a
// restart. The old leader restarts with every committed name.
func TestTruncatedLeaderRestarts(t *testing.T) {
	c := startCluster(t, 3, onDisk, withConfig(func(cfg *Config) { cfg.ApplyTimeout = 500 * time.Millisecond }))
	old := c.waitLeader(c.names...)
	rest := c.followers(old)
	ctx := ctxT(t, 30*time.Second)
	p := ppid(rest[0], 1)
	c.partition([]string{old}, rest)
	// Proposals to the cut-off leader: it stores them and cannot commit
	// them.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.reg(old).Register(ctx, fmt.Sprintf("lost-%d", i), ppid(old, uint64(i+1)))
		}()
	}
	nl := c.waitLeader(rest...)
	if err := c.reg(nl).Register(ctx, "kept", p); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c.heal([]string{old}, rest)
	c.resolves(old, "kept", p)
	c.kill(old)
	ws := walState(t, c.config(old))
	if !slices.ContainsFunc(ws.Segments, func(s types.SegmentInfo) bool { return !s.SealTime.IsZero() && s.IndexStart == 0 }) {
		t.Skipf("the old leader's log was not truncated (its proposals did not reach its log in time): %+v", ws.Segments)
	}
	c.start(old)
	c.resolves(old, "kept", p)
	for i := range 8 {
		c.resolves(old, fmt.Sprintf("lost-%d", i), pid.PID{})
	}
}

// unreadable is a log store whose entry bad cannot be read.
type unreadable struct {
	raft.LogStore
	bad uint64
}

func (u unreadable) GetLog(i uint64, l *raft.Log) error {
	if i == u.bad {
		return errors.New("unreadable")
	}
	return u.LogStore.GetLog(i, l)
}

// raft.NewRaft panics on an entry it cannot read while it replays the
// log; Start reports that as a damaged store.
func TestNewRaftUnreadableLog(t *testing.T) {
	mem := raft.NewInmemStore()
	if err := mem.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Type: raft.LogNoop}, {Index: 2, Term: 1, Type: raft.LogNoop}}); err != nil {
		t.Fatal(err)
	}
	if err := mem.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		t.Fatal(err)
	}
	st := &stores{logs: unreadable{mem, 1}, stable: mem, snaps: raft.NewInmemSnapshotStore()}
	conf := raft.DefaultConfig()
	conf.LocalID, conf.Logger = "n1", quiet
	_, trans := raft.NewInmemTransport("n1")
	defer trans.Close()
	if _, err := newRaft(conf, &raft.MockFSM{}, st, trans); !errors.Is(err, ErrStoreDamaged) {
		t.Fatalf("err %v, want %v", err, ErrStoreDamaged)
	}
}

// appendRaw appends the entry at index to the raft-wal store in dir with
// raft-wal alone (no repair of ours) and returns what StoreLogs returned.
func appendRaw(t *testing.T, dir string, index uint64) error {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	err = w.StoreLogs([]*raft.Log{{Index: index, Term: 1}})
	w.Close()
	meta.Close()
	return err
}
