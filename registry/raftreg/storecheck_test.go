package raftreg

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// testSegment is the segment size of the stores these tests write: small,
// so that a few hundred entries fill several segments.
const testSegment = 16 << 10

// goodWAL is the wal/ directory of a one-node cluster that registered
// names, in segments of testSegment (several sealed, and the open one);
// made once per test binary.
var goodWAL struct {
	sync.Once
	files map[string][]byte
	state types.PersistentState
}

// realWAL returns a copy of goodWAL's files (by name) and its state.
func realWAL(t testing.TB) (map[string][]byte, types.PersistentState) {
	t.Helper()
	goodWAL.Do(func() {
		c := startCluster(t, 1, onDisk, withConfig(func(cfg *Config) { cfg.segmentSize = testSegment }))
		ctx := ctxT(t, 30*time.Second)
		for i := range 300 {
			if err := c.reg("n1").Register(ctx, fmt.Sprintf("name-%03d-%s", i, pad), ppid("n1", uint64(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		c.kill("n1")
		dir := filepath.Join(c.dir, "n1", walDir)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files := make(map[string][]byte)
		for _, e := range ents {
			if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(filepath.Join(c.dir, "n1", markerFile)); err != nil {
			t.Fatalf("no member marker after the node wrote Raft state: %v", err)
		}
		m, err := readWALMeta(filepath.Join(dir, metadb.FileName))
		if err != nil || !m.hasWritten {
			t.Fatalf("reading the metadata: %v (segment written recorded: %v)", err, m.hasWritten)
		}
		st := m.state
		goodWAL.files, goodWAL.state = files, st
	})
	if goodWAL.files == nil {
		t.Fatal("no WAL made")
	}
	if n := len(goodWAL.state.Segments); n < 3 {
		t.Fatalf("%d segments, want a few", n)
	}
	files := make(map[string][]byte)
	for k, v := range goodWAL.files {
		files[k] = slices.Clone(v)
	}
	return files, goodWAL.state
}

// pad makes the names long enough that the log spans several segments.
var pad = strings.Repeat("x", 64)

var quiet = newRaftLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// nodeDir makes a data dir whose node n1 has files in wal/ (nil: no wal/)
// and, when member, the member marker; it returns n1's config.
func nodeDir(t testing.TB, files map[string][]byte, member bool) Config {
	t.Helper()
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "n1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if files != nil {
		if err := os.Mkdir(filepath.Join(dir, walDir), 0o700); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, walDir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if member {
		if err := writeMarker(dir, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Node, cfg.DataDir, cfg.segmentSize = "n1", dataDir, testSegment
	return cfg
}

// openChecked checks and opens the stores of cfg as node start and Start
// do up to raft.NewRaft, then reads every log entry; it returns the last
// index. CheckStore must agree with the open: an error it reports, the
// open reports too.
func openChecked(t testing.TB, cfg Config) (uint64, error) {
	t.Helper()
	cerr := CheckStore(cfg)
	last, err := openAndRead(&cfg)
	if cerr != nil && (err == nil || errors.Is(cerr, ErrStoreDamaged) != errors.Is(err, ErrStoreDamaged)) {
		t.Fatalf("CheckStore: %v; open: %v", cerr, err)
	}
	return last, err
}

func openAndRead(cfg *Config) (uint64, error) {
	st, err := openStores(cfg, quiet)
	if err != nil {
		return 0, err
	}
	defer st.close()
	has, err := raft.HasExistingState(st.logs, st.stable, st.snaps)
	if err != nil {
		return 0, err
	}
	if err := st.checkMember(has); err != nil {
		return 0, err
	}
	return readAll(st.logs)
}

// readAll reads every entry of logs, and returns the last index.
func readAll(logs raft.LogStore) (uint64, error) {
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, err
	}
	last, err := logs.LastIndex()
	if err != nil || last == 0 {
		return 0, err
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			return 0, fmt.Errorf("entry %d: %w", i, err)
		}
		if l.Index != i {
			return 0, fmt.Errorf("entry %d reads as %d", i, l.Index)
		}
	}
	return last, nil
}

// scanned scans segment i of st in files, which must be intact.
func scanned(t *testing.T, files map[string][]byte, st types.PersistentState, i int) (string, []byte, segScan) {
	t.Helper()
	name := segment.FileName(st.Segments[i])
	sc, err := scanSegment(files[name], st.Segments[i])
	if err != nil || sc.end == 0 {
		t.Fatalf("segment %d: %v, %d bytes of batches", i, err, sc.end)
	}
	return name, files[name], sc
}

// A damaged or lost store stops the node with ErrStoreDamaged or
// ErrStateLost. raft-wal alone would drop the rest of a segment after a
// damaged frame header, serve a damaged entry (or panic decoding it),
// start afresh over a missing or zeroed open segment, and fail or hang on
// a damaged wal-meta.db (it is bbolt).
func TestStoreDamage(t *testing.T) {
	good, st := realWAL(t)
	intact, err := openChecked(t, nodeDir(t, good, true))
	if err != nil || intact == 0 {
		t.Fatalf("intact store: last %d, %v", intact, err)
	}
	tailN := len(st.Segments) - 1
	sealedName, sealed, sealedScan := scanned(t, good, st, 1)
	tailName, tail, tailScan := scanned(t, good, st, tailN)
	if len(tailScan.offsets) < 4 {
		t.Fatalf("the open segment holds %d entries, want a few", len(tailScan.offsets))
	}
	meta := good[metadb.FileName]
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return b
	}
	with := func(name string, b []byte) map[string][]byte {
		files := maps.Clone(good)
		if b == nil {
			delete(files, name)
		} else {
			files[name] = b
		}
		return files
	}
	changed := func(b []byte, f func(b []byte)) []byte {
		b = slices.Clone(b)
		f(b)
		return b
	}
	lastEntry := int(tailScan.offsets[len(tailScan.offsets)-1])
	if tail[lastEntry-frameHeaderLen] != segment.FrameCommit {
		t.Fatal("the last entry of the open segment does not start a batch")
	}
	cases := []struct {
		name   string
		files  map[string][]byte
		member bool
		want   error
		last   uint64 // when want is nil and last is not 0: the log's last index
	}{
		{"intact, member", good, true, nil, intact},
		{"intact, before markers", good, false, nil, intact},
		{"sealed: a payload byte flipped", with(sealedName, changed(sealed, func(b []byte) { b[sealedScan.offsets[3]+12] ^= 1 })), true, ErrStoreDamaged, 0},
		{"sealed: a frame header flipped", with(sealedName, changed(sealed, func(b []byte) { b[sealedScan.offsets[3]+4] ^= 0x40 })), true, ErrStoreDamaged, 0},
		{"sealed: its index damaged", with(sealedName, changed(sealed, func(b []byte) { b[sealedScan.indexStart+4] ^= 1 })), true, ErrStoreDamaged, 0},
		{"sealed: zeroed 1 KiB", with(sealedName, changed(sealed, func(b []byte) { clear(b[2048:3072]) })), true, ErrStoreDamaged, 0},
		{"sealed: truncated", with(sealedName, sealed[:len(sealed)/2]), true, ErrStoreDamaged, 0},
		{"sealed: garbage", with(sealedName, garbage(len(sealed))), true, ErrStoreDamaged, 0},
		{"sealed: missing", with(sealedName, nil), true, ErrStoreDamaged, 0},
		{"open: its first batch damaged", with(tailName, changed(tail, func(b []byte) { b[segHeaderLen+12] ^= 1 })), true, ErrStoreDamaged, 0},
		{"open: a middle batch zeroed", with(tailName, changed(tail, func(b []byte) {
			clear(b[tailScan.offsets[1]:tailScan.offsets[2]])
		})), true, ErrStoreDamaged, 0},
		{"open: truncated", with(tailName, tail[:tailScan.end]), true, ErrStoreDamaged, 0},
		{"open: garbage", with(tailName, garbage(len(tail))), true, ErrStoreDamaged, 0},
		{"open: zeroed", with(tailName, make([]byte, len(tail))), true, ErrStoreDamaged, 0},
		{"open: missing", with(tailName, nil), true, ErrStoreDamaged, 0},
		{"open: an interrupted append after the last batch", with(tailName, changed(tail, func(b []byte) {
			copy(b[tailScan.end:], garbage(300))
		})), true, nil, intact},
		{"open: its last batch torn", with(tailName, changed(tail, func(b []byte) { b[lastEntry+12] ^= 1 })), true, nil, intact - 1},
		{"metadata: missing", with(metadb.FileName, nil), true, ErrStoreDamaged, 0},
		{"metadata: empty", with(metadb.FileName, []byte{}), true, ErrStoreDamaged, 0},
		{"metadata: zeroed pages", with(metadb.FileName, changed(meta, func(b []byte) { clear(b[2*4096:]) })), true, ErrStoreDamaged, 0},
		{"metadata: truncated", with(metadb.FileName, meta[:len(meta)/2]), true, ErrStoreDamaged, 0},
		{"metadata: garbage", with(metadb.FileName, garbage(len(meta))), true, ErrStoreDamaged, 0},
		{"a newer segment file not listed", with(segment.FileName(types.SegmentInfo{BaseIndex: 9999, ID: st.NextSegmentID}), tail), true, ErrStoreDamaged, 0},
		{"a segment file misnamed", with("0001-01.wal", tail), true, ErrStoreDamaged, 0},
		{"wal/ missing, member", nil, true, ErrStateLost, 0},
		{"wal/ missing, new node", nil, false, nil, 0},
		{"wal/ empty, member", map[string][]byte{}, true, ErrStateLost, 0},
		{"wal/ empty, new node", map[string][]byte{}, false, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			last, err := openChecked(t, nodeDir(t, c.files, c.member))
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if c.want == nil && c.last != 0 && last != c.last {
				t.Fatalf("the log ends at %d, want %d", last, c.last)
			}
		})
	}
}

// The segment list in wal-meta.db is checked too: a list raft-wal could
// not have written is damage (raft-wal would misread it, or delete
// segment files it does not list).
func TestStoreMetadata(t *testing.T) {
	good, st := realWAL(t)
	for _, c := range []struct {
		name   string
		change func(st *types.PersistentState)
	}{
		{"a gap between segments", func(st *types.PersistentState) { st.Segments[0].MaxIndex-- }},
		{"a segment dropped", func(st *types.PersistentState) { st.Segments = slices.Delete(st.Segments, 1, 2) }},
		{"the open segment not last", func(st *types.PersistentState) { st.Segments[0].SealTime = time.Time{} }},
		{"no open segment", func(st *types.PersistentState) { st.Segments[len(st.Segments)-1].SealTime = time.Now() }},
		{"the next id behind", func(st *types.PersistentState) { st.NextSegmentID = 1 }},
		{"an unknown codec", func(st *types.PersistentState) { st.Segments[1].Codec = 77 }},
		{"an index start moved", func(st *types.PersistentState) { st.Segments[1].IndexStart += 8 }},
		{"a sealed segment longer than its file", func(st *types.PersistentState) {
			st.Segments[1].MaxIndex += 5
			st.Segments[2].BaseIndex += 5
			st.Segments[2].MinIndex += 5
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nodeDir(t, good, true)
			s := st
			s.Segments = slices.Clone(st.Segments)
			c.change(&s)
			commitState(t, filepath.Join(cfg.DataDir, "n1", walDir), s)
			if _, err := openChecked(t, cfg); !errors.Is(err, ErrStoreDamaged) {
				t.Fatalf("err %v, want %v", err, ErrStoreDamaged)
			}
		})
	}
}

// commitState writes st into the wal-meta.db of dir.
func commitState(t testing.TB, dir string, st types.PersistentState) {
	t.Helper()
	db := &metadb.BoltMetaDB{}
	if _, err := db.Load(dir); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitState(st); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// wal/ replaced by a file, and a member whose wal/ holds no Raft state,
// are refused too.
func TestStoreReplaced(t *testing.T) {
	cfg := nodeDir(t, nil, false)
	dir := filepath.Join(cfg.DataDir, "n1")
	if err := os.WriteFile(filepath.Join(dir, walDir), []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openChecked(t, cfg); !errors.Is(err, ErrStoreDamaged) {
		t.Fatalf("a file as wal/: %v", err)
	}
	os.Remove(filepath.Join(dir, walDir))
	if _, err := openChecked(t, cfg); err != nil { // a new node: wal/ made afresh
		t.Fatal(err)
	}
	if err := writeMarker(dir, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := openChecked(t, cfg); !errors.Is(err, ErrStateLost) {
		t.Fatalf("a member with a stateless wal/: %v", err)
	}
}

// Random damage anywhere in a real store: opening never panics, and
// either reports the damage or reads every entry.
func TestStoreRandomDamage(t *testing.T) {
	good, _ := realWAL(t)
	names := slices.Sorted(maps.Keys(good))
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		files := maps.Clone(good)
		name := names[rnd.IntN(len(names))]
		b := slices.Clone(files[name])
		switch i % 4 {
		case 0: // flip bytes
			for range 1 + rnd.IntN(8) {
				b[rnd.IntN(len(b))] ^= byte(1 + rnd.IntN(255))
			}
		case 1: // a run of garbage
			at := rnd.IntN(len(b))
			for j := at; j < min(len(b), at+1+rnd.IntN(256)); j++ {
				b[j] = byte(rnd.Uint32())
			}
		case 2: // truncate
			b = b[:rnd.IntN(len(b))]
		case 3: // zero a 4 KiB page
			p := rnd.IntN(len(b)/4096 + 1)
			clear(b[p*4096 : min(len(b), (p+1)*4096)])
		}
		files[name] = b
		_, err := openChecked(t, nodeDir(t, files, true))
		if err != nil && !errors.Is(err, ErrStoreDamaged) && !errors.Is(err, ErrStateLost) {
			t.Fatalf("case %d (%s): %v", i, name, err)
		}
	}
}

// FuzzSegment writes arbitrary bytes as a segment file of a store that is
// otherwise valid, sealed or open, and opens it and reads every entry:
// an error, or every entry, never a panic or a hang. Bytes shorter than
// the segment size are followed by zeros, as preallocation leaves them.
func FuzzSegment(f *testing.F) {
	files, st := realWAL(f)
	s1, tl := st.Segments[1], st.Segments[len(st.Segments)-1]
	f.Add(files[segment.FileName(s1)], true)
	f.Add(files[segment.FileName(tl)][:4096], false)
	f.Add([]byte{}, false)
	f.Add([]byte("not a segment"), true)
	// A store of the seed's segment 1, sealed, and an open one after it
	// (never written); a store of the seed's open segment alone.
	sealed := types.PersistentState{NextSegmentID: s1.ID + 2, Segments: []types.SegmentInfo{s1,
		{ID: s1.ID + 1, BaseIndex: s1.MaxIndex + 1, MinIndex: s1.MaxIndex + 1, Codec: s1.Codec, SizeLimit: testSegment}}}
	tl.MinIndex = tl.BaseIndex
	open := types.PersistentState{NextSegmentID: tl.ID + 1, Segments: []types.SegmentInfo{tl}}
	metas := map[bool][]byte{true: metaFile(f, sealed), false: metaFile(f, open)}
	names := map[bool]string{true: segment.FileName(s1), false: segment.FileName(tl)}
	f.Fuzz(func(t *testing.T, data []byte, isSealed bool) {
		if len(data) > 0 && len(data) < testSegment {
			data = append(data, make([]byte, testSegment-len(data))...)
		}
		cfg := nodeDir(t, map[string][]byte{metadb.FileName: metas[isSealed], names[isSealed]: data}, true)
		_, err := openChecked(t, cfg)
		if err != nil && !errors.Is(err, ErrStoreDamaged) && !errors.Is(err, ErrStateLost) {
			t.Fatal(err)
		}
	})
}

// metaFile returns the bytes of a wal-meta.db holding st.
func metaFile(t testing.TB, st types.PersistentState) []byte {
	dir := t.TempDir()
	commitState(t, dir, st)
	b, err := os.ReadFile(filepath.Join(dir, metadb.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkCheckStore measures the check of a WAL at open against
// raft-wal's own open, on logs of 20,000 entries (the most a node keeps
// between snapshots: 8,192 + 10,240 trailing) in segments of segmentSize.
// Small entries are what a quiet registry writes, 16 KiB ones full
// batches.
func BenchmarkCheckStore(b *testing.B) {
	for _, size := range []int{200, 16 << 10} {
		dir := b.TempDir()
		w, err := openWAL(dir, segmentSize, quiet)
		if err != nil {
			b.Fatal(err)
		}
		data := []byte(strings.Repeat("d", size))
		for i := 0; i < 20_000; i += 100 {
			logs := make([]*raft.Log, 100)
			for j := range logs {
				logs[j] = &raft.Log{Index: uint64(i + j + 1), Term: 1, Data: data}
			}
			if err := w.StoreLogs(logs); err != nil {
				b.Fatal(err)
			}
		}
		w.Close()
		var total int64
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				total += info.Size()
			}
		}
		name := fmt.Sprintf("entries=20000/bytes=%d/files=%dMiB", size, total>>20)
		b.Run(name+"/check", func(b *testing.B) {
			for b.Loop() {
				if _, err := inspectWAL(dir, segmentSize); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/raft-wal-open", func(b *testing.B) {
			for b.Loop() {
				w, err := openWAL(dir, segmentSize, quiet)
				if err != nil {
					b.Fatal(err)
				}
				w.Close()
			}
		})
	}
}
