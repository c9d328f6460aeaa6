package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
	"go.etcd.io/bbolt"
)

// openBoltStores opens the stores as versions before raft-wal did:
// raft-boltdb in raft.db behind the log cache, file snapshots, the member
// marker.
func openBoltStores(cfg *Config, logger hclog.Logger) (*stores, error) {
	dir := filepath.Join(cfg.DataDir, cfg.Node)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, dbFile), BoltOptions: &bbolt.Options{
		Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
	if err != nil {
		return nil, err
	}
	mark := &marker{dir: dir, node: cfg.Node}
	logs, err := raft.NewLogCache(logCacheSize, markedLogs{bolt, mark})
	if err != nil {
		bolt.Close()
		return nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, cfg.SnapshotRetain, logger)
	if err != nil {
		bolt.Close()
		return nil, err
	}
	return &stores{logs: logs, stable: markedStable{bolt, mark}, snaps: snaps, close: bolt.Close, mark: mark}, nil
}

// writeBolt writes a raft.db at path with the entries first to last (of
// every type, data and extensions of varied sizes) and the stable keys
// given (uint64 for the terms, bytes for the candidate).
func writeBolt(t testing.TB, path string, first, last uint64, stable map[string]any) {
	t.Helper()
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	rnd := rand.New(rand.NewPCG(first, last))
	types := []raft.LogType{raft.LogCommand, raft.LogNoop, raft.LogConfiguration, raft.LogCommand}
	for i := uint64(1); i <= last; i += 50 {
		var batch []*raft.Log
		for j := i; j < i+50 && j <= last; j++ {
			data := make([]byte, rnd.IntN(600))
			for k := range data {
				data[k] = byte(rnd.Uint32())
			}
			batch = append(batch, &raft.Log{Index: j, Term: 1 + j/100, Type: types[j%4], Data: data,
				Extensions: []byte(strconv.FormatUint(j, 10)), AppendedAt: time.Unix(1_700_000_000+int64(j), 0).UTC()})
		}
		if err := bolt.StoreLogs(batch); err != nil {
			t.Fatal(err)
		}
	}
	if first > 1 {
		if err := bolt.DeleteRange(1, first-1); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range stable {
		switch v := v.(type) {
		case uint64:
			err = bolt.SetUint64([]byte(k), v)
		case []byte:
			err = bolt.Set([]byte(k), v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// sameStore checks that logs and stable hold what the raft-boltdb file
// at path holds: every entry, field by field, and raft's stable keys.
func sameStore(t testing.TB, path string, logs raft.LogStore, stable raft.StableStore) {
	t.Helper()
	src, err := openBoltReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f1, l1, _ := boltRange(src)
	f2, l2, _ := boltRange(logs)
	if f1 != f2 || l1 != l2 {
		t.Fatalf("entries %d to %d, want %d to %d", f2, l2, f1, l1)
	}
	for i := f1; i <= l1 && l1 > 0; i++ {
		var a, b raft.Log
		if err := src.GetLog(i, &a); err != nil {
			t.Fatal(err)
		}
		if err := logs.GetLog(i, &b); err != nil {
			t.Fatal(err)
		}
		if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) ||
			!bytes.Equal(a.Extensions, b.Extensions) || !a.AppendedAt.Equal(b.AppendedAt) {
			t.Fatalf("entry %d: %+v, want %+v", i, b, a)
		}
	}
	for _, k := range stableUint64Keys {
		want, werr := src.GetUint64(k)
		got, err := stable.GetUint64(k)
		if errors.Is(werr, raftboltdb.ErrKeyNotFound) {
			want, werr = 0, nil
		}
		if werr != nil || err != nil || got != want {
			t.Fatalf("%s: %d (%v), want %d (%v)", k, got, err, want, werr)
		}
	}
	for _, k := range stableBytesKeys {
		want, werr := src.Get(k)
		got, err := stable.Get(k)
		if errors.Is(werr, raftboltdb.ErrKeyNotFound) {
			want, werr = nil, nil
		}
		if werr != nil || err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %q (%v), want %q (%v)", k, got, err, want, werr)
		}
	}
}

// wantFiles checks which of the layout's names dir holds.
func wantFiles(t testing.TB, dir string, want map[string]bool) {
	t.Helper()
	for name, w := range want {
		_, err := os.Lstat(filepath.Join(dir, name))
		if got := err == nil; got != w || err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s there: %v (%v), want %v", name, got, err, w)
		}
	}
}

// A raft.db of an earlier version becomes a WAL holding the same entries
// and stable keys; raft.db is kept as raft.db.migrated.
func TestMigrate(t *testing.T) {
	vote := map[string]any{"CurrentTerm": uint64(7), "LastVoteTerm": uint64(7), "LastVoteCand": []byte("n2")}
	for _, c := range []struct {
		name        string
		first, last uint64
		stable      map[string]any
	}{
		{"entries and a vote", 101, 600, vote},
		{"no vote", 1, 3, map[string]any{"CurrentTerm": uint64(2)}},
		{"a term, no entries", 0, 0, map[string]any{"CurrentTerm": uint64(4)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nodeDir(t, nil, true)
			dir := filepath.Join(cfg.DataDir, "n1")
			writeBolt(t, filepath.Join(dir, dbFile), c.first, c.last, c.stable)
			if err := CheckStore(cfg); err != nil {
				t.Fatal(err)
			}
			wantFiles(t, dir, map[string]bool{dbFile: true, walDir: false})
			st := openT(t, cfg)
			wantFiles(t, dir, map[string]bool{dbFile: false, migratedFile: true, walDir: true, walTmpDir: false})
			sameStore(t, filepath.Join(dir, migratedFile), st.logs, st.stable)
			st.close()
			// The next start opens the WAL.
			st = openT(t, cfg)
			sameStore(t, filepath.Join(dir, migratedFile), st.logs, st.stable)
		})
	}
}

// copyDir copies the files of src (one level of directories) into dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			copyDir(t, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// A migration interrupted at any point migrates cleanly at the next
// start: before its commit point (raft.db renamed) from scratch, after it
// by renaming the WAL into place. raft.db and a WAL both in place (raft.db
// put back) is refused.
func TestMigrateInterrupted(t *testing.T) {
	// A finished migration to take the states apart from.
	done := nodeDir(t, nil, true)
	doneDir := filepath.Join(done.DataDir, "n1")
	writeBolt(t, filepath.Join(doneDir, dbFile), 1, 400, map[string]any{"CurrentTerm": uint64(3)})
	openT(t, done).close()
	for _, c := range []struct {
		name  string
		state func(t *testing.T, dir string)
		want  error
	}{
		{"copying: raft.db and part of the WAL", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, migratedFile), filepath.Join(dir, dbFile))
			os.Rename(filepath.Join(dir, walDir), filepath.Join(dir, walTmpDir))
			ents, _ := os.ReadDir(filepath.Join(dir, walTmpDir))
			for _, e := range ents {
				if filepath.Ext(e.Name()) == ".wal" { // a segment cut short, the metadata gone
					os.Truncate(filepath.Join(dir, walTmpDir, e.Name()), 1000)
				} else {
					os.Remove(filepath.Join(dir, walTmpDir, e.Name()))
				}
			}
		}, nil},
		{"copied: raft.db and the whole WAL", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, migratedFile), filepath.Join(dir, dbFile))
			os.Rename(filepath.Join(dir, walDir), filepath.Join(dir, walTmpDir))
		}, nil},
		{"committed: raft.db renamed, the WAL not yet", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, walDir), filepath.Join(dir, walTmpDir))
		}, nil},
		{"raft.db put back beside the WAL", func(t *testing.T, dir string) {
			copyDir(t, filepath.Join(dir, walDir), filepath.Join(dir, walTmpDir)) // any leftovers too
			b, _ := os.ReadFile(filepath.Join(dir, migratedFile))
			os.WriteFile(filepath.Join(dir, dbFile), b, 0o600)
		}, ErrStoreDamaged},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nodeDir(t, nil, false)
			dir := filepath.Join(cfg.DataDir, "n1")
			copyDir(t, doneDir, dir)
			os.Remove(filepath.Join(dir, lockFile))
			c.state(t, dir)
			if err := CheckStore(cfg); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
				t.Fatalf("check: %v, want %v", err, c.want)
			}
			st, err := openStores(&cfg, quiet)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("open: %v, want %v", err, c.want)
				}
				wantFiles(t, dir, map[string]bool{dbFile: true, walDir: true})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.close()
			wantFiles(t, dir, map[string]bool{dbFile: false, migratedFile: true, walDir: true, walTmpDir: false})
			sameStore(t, filepath.Join(dir, migratedFile), st.logs, st.stable)
		})
	}
}

// A damaged raft.db is not migrated: the node refuses to start and leaves
// it as it is.
func TestMigrateDamaged(t *testing.T) {
	good := boltFile(t, 300)
	const page = 4096
	pages := len(good) / page
	if pages < 6 {
		t.Fatalf("raft.db has %d pages, want a few more", pages)
	}
	fill := func(f func(p []byte)) []byte {
		out := bytes.Clone(good)
		for p := 2; p < pages; p++ { // past the two meta pages
			f(out[p*page : (p+1)*page])
		}
		return out
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
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
		{"a bolt file, not raft-boltdb's", emptyBolt(t), true, ErrStoreDamaged},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := nodeDir(t, nil, c.member)
			dir := filepath.Join(cfg.DataDir, "n1")
			if err := os.WriteFile(filepath.Join(dir, dbFile), c.db, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := openChecked(t, cfg); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, dbFile)); err != nil || !bytes.Equal(b, c.db) {
				t.Fatalf("raft.db changed or gone: %v", err)
			}
			wantFiles(t, dir, map[string]bool{walDir: false, migratedFile: false})
		})
	}
	cfg := nodeDir(t, nil, false) // a directory as raft.db
	if err := os.Mkdir(filepath.Join(cfg.DataDir, "n1", dbFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := openChecked(t, cfg); !errors.Is(err, ErrStoreDamaged) {
		t.Fatalf("a directory as raft.db: %v", err)
	}
}

// boltFile returns the bytes of a raft.db holding n entries of 300
// bytes and a term.
func boltFile(t testing.TB, n uint64) []byte {
	path := filepath.Join(t.TempDir(), dbFile)
	writeBolt(t, path, 1, n, map[string]any{"CurrentTerm": uint64(1)})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// emptyBolt returns the bytes of a bolt file without raft-boltdb's
// buckets.
func emptyBolt(t testing.TB) []byte {
	path := filepath.Join(t.TempDir(), "empty.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzStoreFile feeds arbitrary bytes as a raft.db to migrate: the check
// must not panic, bbolt must open whatever it passes, and the migration
// must fail or finish, never panic.
func FuzzStoreFile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("bolt"))
	f.Add(boltFile(f, 20))
	f.Add(emptyBolt(f))
	f.Fuzz(func(t *testing.T, db []byte) {
		if checkBoltFile(bytes.NewReader(db), int64(len(db))) != nil {
			return
		}
		dir := t.TempDir()
		path := filepath.Join(dir, dbFile)
		if err := os.WriteFile(path, db, 0o600); err != nil {
			t.Fatal(err)
		}
		bolt, err := openBoltReadOnly(path)
		if err != nil {
			t.Fatalf("checked, then bbolt failed: %v", err)
		}
		bolt.Close()
		if err := os.Mkdir(filepath.Join(dir, walDir), 0o700); err != nil {
			t.Fatal(err)
		}
		_, _ = copyBolt(path, filepath.Join(dir, walDir), testSegment, quiet)
	})
}

// BenchmarkMigrate measures the migration of a raft.db of 20,000 entries
// (the most a node keeps between snapshots) of 200 bytes.
func BenchmarkMigrate(b *testing.B) {
	src := filepath.Join(b.TempDir(), dbFile)
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: src})
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("d"), 200)
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
	for b.Loop() {
		dir := b.TempDir()
		if _, err := copyBolt(src, dir, segmentSize, quiet); err != nil {
			b.Fatal(err)
		}
	}
}

// A node of a cluster on raft-boltdb, stopped and restarted on raft-wal,
// keeps its log and term and rejoins; then the whole cluster restarts on
// raft-wal with every name.
func TestMigrateCluster(t *testing.T) {
	c := newCluster(t, 3, onDisk)
	c.prep = func(r *Registry) { r.open = openBoltStores }
	for _, n := range c.names {
		c.start(n)
	}
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 30*time.Second)
	want := map[string]pid.PID{}
	register := func(via, name string, seq uint64) {
		t.Helper()
		p := ppid(via, seq)
		if err := c.reg(via).Register(ctx, name, p); err != nil {
			t.Fatal(err)
		}
		want[name] = p
	}
	for i := range 30 {
		register(c.names[i%3], fmt.Sprintf("before-%02d", i), uint64(i+1))
	}
	f := c.followers(leader)[0]
	c.kill(f)
	for i := range 10 {
		register(leader, fmt.Sprintf("late-%02d", i), uint64(100+i))
	}

	// f migrates at its next start: the same entries and stable keys
	// (its term and vote) as its raft.db.
	cfg := c.config(f)
	dir := filepath.Join(c.dir, f)
	if err := CheckStore(cfg); err != nil {
		t.Fatal(err)
	}
	st, err := openStores(&cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sameStore(t, filepath.Join(dir, migratedFile), st.logs, st.stable)
	if term, err := st.stable.GetUint64([]byte("CurrentTerm")); err != nil || term == 0 {
		t.Fatalf("term %d after the migration (%v)", term, err)
	}
	st.close()
	wantFiles(t, dir, map[string]bool{dbFile: false, migratedFile: true, walDir: true, walTmpDir: false})
	c.prep = nil
	c.start(f)
	for name, p := range want {
		c.resolves(f, name, p)
	}
	await.Within(t, 10*time.Second, "the migrated node back as a voter, at the cluster's term", func() bool {
		s := c.servers(leader)
		terms := map[string]bool{}
		for _, n := range c.names {
			terms[c.reg(n).rf.Load().Stats()["term"]] = true
		}
		return len(s) == 3 && countVoters(s) == 3 && len(terms) == 1
	})
	register(f, "after", 200)

	// The others migrate as the whole cluster restarts.
	for _, n := range c.names {
		c.kill(n)
	}
	for _, n := range c.names {
		c.start(n)
	}
	c.waitLeader(c.names...)
	for _, n := range c.names {
		wantFiles(t, filepath.Join(c.dir, n), map[string]bool{dbFile: false, migratedFile: true, walDir: true})
		for name, p := range want {
			got, err := c.reg(n).Lookup(ctx, name)
			if err != nil || got != p {
				t.Fatalf("%s: lookup %s = %v, %v; want %v", n, name, got, err, p)
			}
		}
	}
}
