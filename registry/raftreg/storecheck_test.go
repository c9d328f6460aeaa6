package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// goodDB is a raft.db written by a one-node cluster that registered names,
// and the member marker beside it; made once per test binary.
var goodDB struct {
	sync.Once
	db, marker []byte
}

func realDB(t *testing.T) (db, marker []byte) {
	t.Helper()
	goodDB.Do(func() {
		c := startCluster(t, 1, onDisk)
		ctx := ctxT(t, 30*time.Second)
		for i := range 300 {
			if err := c.reg("n1").Register(ctx, fmt.Sprintf("name-%03d-%s", i, pad), ppid("n1", uint64(i+1))); err != nil {
				t.Fatal(err)
			}
		}
		c.kill("n1")
		var err error
		if goodDB.db, err = os.ReadFile(filepath.Join(c.dir, "n1", dbFile)); err != nil {
			t.Fatal(err)
		}
		if goodDB.marker, err = os.ReadFile(filepath.Join(c.dir, "n1", markerFile)); err != nil {
			t.Fatalf("no member marker after the node wrote Raft state: %v", err)
		}
	})
	if goodDB.db == nil {
		t.Fatal("no raft.db made")
	}
	return goodDB.db, goodDB.marker
}

// pad makes the names long enough that the log spans many pages.
var pad = strings.Repeat("x", 64)

// openChecked opens the stores of a node whose data dir holds db (nil: no
// raft.db) and, when member, the marker, as Start does up to raft.NewRaft.
func openChecked(t *testing.T, db []byte, member bool) error {
	t.Helper()
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "n1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if db != nil {
		if err := os.WriteFile(filepath.Join(dir, dbFile), db, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if member {
		if err := writeMarker(dir, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Node, cfg.DataDir = "n1", dataDir
	return openAndCheck(&cfg)
}

func openAndCheck(cfg *Config) error {
	st, err := openStores(cfg, newRaftLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	defer st.close()
	has, err := raft.HasExistingState(st.logs, st.stable, st.snaps)
	if err != nil {
		return err
	}
	return st.checkMember(has)
}

// A damaged or lost raft.db stops the node with ErrStoreDamaged or
// ErrStateLost; bbolt used to panic (random or zeroed pages), fault
// (truncated file) or start afresh (an empty file, on a node that had
// been a voter).
func TestStoreDamage(t *testing.T) {
	good, _ := realDB(t)
	const page = 4096
	pages := len(good) / page
	if pages < 6 {
		t.Fatalf("raft.db has %d pages, want a few more", pages)
	}
	fill := func(f func(p []byte)) []byte {
		out := append([]byte(nil), good...)
		for p := 2; p < pages; p++ { // past the two meta pages
			f(out[p*page : (p+1)*page])
		}
		return out
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		db     []byte
		member bool
		want   error
	}{
		{"random pages", fill(func(p []byte) {
			for i := range p {
				p[i] = byte(rnd.Uint32())
			}
		}), true, ErrStoreDamaged},
		{"zeroed pages", fill(func(p []byte) { clear(p) }), true, ErrStoreDamaged},
		{"truncated", good[:len(good)/2], true, ErrStoreDamaged},
		{"truncated mid-page", good[:len(good)/2+100], true, ErrStoreDamaged},
		{"only the meta pages", good[:2*page], true, ErrStoreDamaged},
		{"not bolt at all", []byte("this is not a bolt database, just text\n"), false, ErrStoreDamaged},
		{"empty, member", []byte{}, true, ErrStateLost},
		{"empty, no marker", []byte{}, false, ErrStoreDamaged},
		{"missing, member", nil, true, ErrStateLost},
		{"missing, new node", nil, false, nil},
		{"intact, member", good, true, nil},
		{"intact, before markers", good, false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := openChecked(t, c.db, c.member)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

// raft.db replaced by a directory, or by a fresh bolt file holding no Raft
// state on a member, is refused too.
func TestStoreReplaced(t *testing.T) {
	dataDir := t.TempDir()
	dir := filepath.Join(dataDir, "n1")
	if err := os.MkdirAll(filepath.Join(dir, dbFile), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node, cfg.DataDir = "n1", dataDir
	if err := openAndCheck(&cfg); !errors.Is(err, ErrStoreDamaged) {
		t.Fatalf("a directory as raft.db: %v", err)
	}
	os.Remove(filepath.Join(dir, dbFile))
	if err := openAndCheck(&cfg); err != nil { // a new node: raft.db made afresh
		t.Fatal(err)
	}
	if err := writeMarker(dir, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := openAndCheck(&cfg); !errors.Is(err, ErrStateLost) {
		t.Fatalf("a member with a stateless raft.db: %v", err)
	}
}

// Random damage anywhere in a real raft.db: opening never panics or
// faults; it succeeds (the damage hit free space) or reports the damage.
func TestStoreRandomDamage(t *testing.T) {
	good, _ := realDB(t)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		db := append([]byte(nil), good...)
		switch i % 4 {
		case 0: // flip bytes
			for range 1 + rnd.IntN(8) {
				db[rnd.IntN(len(db))] ^= byte(1 + rnd.IntN(255))
			}
		case 1: // a run of garbage
			at := rnd.IntN(len(db))
			for j := at; j < min(len(db), at+1+rnd.IntN(256)); j++ {
				db[j] = byte(rnd.Uint32())
			}
		case 2: // truncate
			db = db[:rnd.IntN(len(db))]
		case 3: // zero a page past the meta pages
			p := 2 + rnd.IntN(len(db)/4096-2)
			clear(db[p*4096 : (p+1)*4096])
		}
		err := openChecked(t, db, true)
		if err != nil && !errors.Is(err, ErrStoreDamaged) && !errors.Is(err, ErrStateLost) {
			t.Fatalf("case %d: %v", i, err)
		}
	}
}

// FuzzStoreFile feeds arbitrary bytes to the raft.db check: it must not
// panic, and bbolt must open whatever it passes without panicking.
func FuzzStoreFile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("bolt"))
	f.Add(smallDB(f))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, db []byte) {
		if checkBoltFile(bytes.NewReader(db), int64(len(db))) != nil {
			return
		}
		path := filepath.Join(dir, dbFile)
		if err := os.WriteFile(path, db, 0o600); err != nil {
			t.Fatal(err)
		}
		bolt, err := openBolt(path)
		if err != nil {
			t.Fatalf("checked, then bbolt failed: %v", err)
		}
		bolt.Close()
	})
}

// smallDB is a raft.db holding a few log entries and a term, written by
// raft-boltdb directly.
func smallDB(f *testing.F) []byte {
	path := filepath.Join(f.TempDir(), dbFile)
	bolt, err := openBolt(path)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 20 {
		if err := bolt.StoreLog(&raft.Log{Index: uint64(i + 1), Term: 1, Data: []byte(strings.Repeat("d", 300))}); err != nil {
			f.Fatal(err)
		}
	}
	if err := bolt.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		f.Fatal(err)
	}
	bolt.Close()
	db, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return db
}

// BenchmarkCheckStore measures the check of raft.db at open against
// bbolt's own open (which scans every page too, to rebuild the free list
// it does not sync), on logs of 20,000 entries: the most a node keeps
// between snapshots (8,192 + 10,240 trailing). Small entries are what a
// quiet registry writes, 16 KiB ones full batches.
func BenchmarkCheckStore(b *testing.B) {
	for _, size := range []int{200, 16 << 10} {
		path := filepath.Join(b.TempDir(), dbFile)
		bolt, err := openBolt(path)
		if err != nil {
			b.Fatal(err)
		}
		data := []byte(strings.Repeat("d", size))
		for i := 0; i < 20_000; i += 100 {
			logs := make([]*raft.Log, 100)
			for j := range logs {
				logs[j] = &raft.Log{Index: uint64(i + j + 1), Term: 1, Data: data}
			}
			if err := bolt.StoreLogs(logs); err != nil {
				b.Fatal(err)
			}
		}
		bolt.Close()
		st, _ := os.Stat(path)
		b.Run(fmt.Sprintf("entries=20000/bytes=%d/file=%dMiB/check", size, st.Size()>>20), func(b *testing.B) {
			for b.Loop() {
				if err := checkBolt(path); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("entries=20000/bytes=%d/file=%dMiB/bbolt-open", size, st.Size()>>20), func(b *testing.B) {
			for b.Loop() {
				bolt, err := openBolt(path)
				if err != nil {
					b.Fatal(err)
				}
				bolt.Close()
			}
		})
	}
}
