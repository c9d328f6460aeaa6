package raftreg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// stores are Raft's log, stable and snapshot stores.
type stores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	close  func() error
	mark   *marker // nil in memory
}

// logCacheSize is the number of recent log entries kept in memory, so that
// replicating them to followers does not read them back from disk.
const logCacheSize = 512

// segmentSize is the size raft-wal preallocates each segment file of the
// log to (doc.go, "# Raft", says why this size).
const segmentSize = 8 << 20

// openStores opens the stores of cfg: in memory, or on disk under
// DataDir/<Node>/ (layout.go): the log and stable store in raft-wal
// (wal/), behind a log cache, and file snapshots (SnapshotRetain kept).
// It locks the directory, migrates a raft.db of an earlier version, and
// checks the WAL before raft-wal opens it (inspectWAL): a damaged store,
// or a lost one on a node that has been part of a cluster, is an error
// wrapping ErrStoreDamaged or ErrStateLost, never a panic or a fresh
// start.
func openStores(cfg *Config, logger hclog.Logger) (*stores, error) {
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		return &stores{logs: mem, stable: mem, snaps: raft.NewInmemSnapshotStore(), close: func() error { return nil }}, nil
	}
	dir := filepath.Join(cfg.DataDir, cfg.Node)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftreg: data dir: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	st, err := openDisk(dir, cfg, logger)
	if err != nil {
		_ = unlock()
		return nil, err
	}
	closeWAL := st.close
	st.close = func() error {
		err := closeWAL()
		if uerr := unlock(); err == nil {
			err = uerr
		}
		return err
	}
	return st, nil
}

// openDisk opens the stores in dir, which the caller has locked.
func openDisk(dir string, cfg *Config, logger hclog.Logger) (*stores, error) {
	size := cfg.segmentSize
	if size == 0 {
		size = segmentSize
	}
	if err := prepareLayout(dir, size, logger); err != nil {
		return nil, err
	}
	wdir := filepath.Join(dir, walDir)
	if err := os.Mkdir(wdir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("raftreg: data dir: %w", err)
	}
	chk, err := inspectWAL(wdir, uint32(size))
	if err != nil {
		return nil, err
	}
	if err := chk.apply(logger.Named("wal")); err != nil {
		return nil, err
	}
	w, err := openWAL(wdir, size, logger)
	if err != nil {
		return nil, err
	}
	mark := &marker{dir: dir, node: cfg.Node}
	logs, err := raft.NewLogCache(logCacheSize, markedLogs{w, mark})
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("raftreg: log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, cfg.SnapshotRetain, logger.Named("snapshots"))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("raftreg: snapshot store: %w", err)
	}
	return &stores{logs: logs, stable: markedStable{w, mark}, snaps: snaps, close: w.Close, mark: mark}, nil
}

// walStore is raft-wal's log and stable store with the metadata store it
// was opened with: raft-wal v0.4.0's Close leaves that open (its bbolt
// file mapped and locked), so a store reopened in the same process would
// wait on the lock forever.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w *walStore) Close() error {
	err := w.WAL.Close()
	if cerr := w.meta.Close(); err == nil {
		err = cerr
	}
	return err
}

// openWAL opens the raft-wal store in dir (inspected and repaired before),
// turning a panic of raft-wal or bbolt into an error. size is the size of
// the segments it creates.
func openWAL(dir string, size int, logger hclog.Logger) (w *walStore, err error) {
	meta := &metadb.BoltMetaDB{}
	files := segment.NewFiler(dir, noteVFS{VFS: walfs.New(), meta: meta, log: logger.Named("wal")})
	defer func() {
		if r := recover(); r != nil {
			_ = meta.Close()
			w, err = nil, fmt.Errorf("%w: %s: %v", ErrStoreDamaged, dir, r)
		}
	}()
	l, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentFiler(files), wal.WithSegmentSize(size),
		wal.WithLogger(logger.Named("wal")))
	switch {
	case errors.Is(err, types.ErrCorrupt):
		_ = meta.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrStoreDamaged, dir, err)
	case err != nil:
		_ = meta.Close()
		return nil, fmt.Errorf("raftreg: opening the raft log in %s: %w", dir, err)
	}
	return &walStore{WAL: l, meta: meta}, nil
}

// writtenKey is the stable store's key (in raft-wal's metadata, beside
// raft's keys) that holds the id of the newest segment whose first append
// was synced. raft-wal records a new segment in its metadata before it
// creates the file, and when a crash comes between, creates the file at
// open; so it cannot tell an open segment lost (deleted, zeroed) after
// entries were written to it from one that never held any, and starts
// with the log cut short (its README says as much). With the key the
// check can (walCheck.tail): the open segment it names must hold a
// complete batch. It costs one bbolt commit per segment.
var writtenKey = []byte("wippyd.segment-written")

// noteVFS is raft-wal's file system, recording in writtenKey the segment
// of each file's first synced append.
type noteVFS struct {
	types.VFS
	meta *metadb.BoltMetaDB
	log  hclog.Logger
}

func (v noteVFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := v.VFS.Create(dir, name, size)
	return v.noted(name, f, err)
}

func (v noteVFS) OpenWriter(dir, name string) (types.WritableFile, error) {
	f, err := v.VFS.OpenWriter(dir, name)
	return v.noted(name, f, err)
}

func (v noteVFS) noted(name string, f types.WritableFile, err error) (types.WritableFile, error) {
	_, id, ok := parseSegmentName(name)
	if err != nil || !ok {
		return f, err
	}
	return &notedFile{WritableFile: f, note: func() error {
		var b [8]byte
		le.PutUint64(b[:], id)
		return v.meta.SetStable(writtenKey, b[:])
	}, log: v.log}, nil
}

// notedFile records its segment after its first sync. Only the segment's
// writer syncs, under raft-wal's write lock. A record that fails is
// logged and tried again at the next sync, not returned: the append is
// synced, and raft-wal cannot take an append back once its sync failed.
type notedFile struct {
	types.WritableFile
	note  func() error
	log   hclog.Logger
	noted bool
}

func (f *notedFile) Sync() error {
	if err := f.WritableFile.Sync(); err != nil || f.noted {
		return err
	}
	if err := f.note(); err != nil {
		f.log.Warn("recording the segment written failed", "error", err)
		return nil
	}
	f.noted = true
	return nil
}

// marker writes the member marker (see checkStore) once, before the first
// write to the log or stable store.
type marker struct {
	dir, node string
	done      atomic.Bool
	mu        sync.Mutex
}

func (m *marker) ensure() error {
	if m.done.Load() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done.Load() {
		return nil
	}
	if err := writeMarker(m.dir, m.node); err != nil {
		return err
	}
	m.done.Store(true)
	return nil
}

// markedLogs and markedStable write the member marker before the first
// write that passes through them.
type markedLogs struct {
	raft.LogStore
	m *marker
}

var (
	_ raft.LogStore          = markedLogs{}
	_ raft.MonotonicLogStore = markedLogs{}
	_ raft.StableStore       = markedStable{}
)

func (l markedLogs) StoreLog(log *raft.Log) error {
	if err := l.m.ensure(); err != nil {
		return err
	}
	return l.LogStore.StoreLog(log)
}

func (l markedLogs) StoreLogs(logs []*raft.Log) error {
	if err := l.m.ensure(); err != nil {
		return err
	}
	return l.LogStore.StoreLogs(logs)
}

func (l markedLogs) DeleteRange(min, max uint64) error {
	if err := l.m.ensure(); err != nil {
		return err
	}
	return l.LogStore.DeleteRange(min, max)
}

// GetLog turns a panic of the entry decoder into an error: the check at
// open decoded every entry, so only damage since then can cause one.
func (l markedLogs) GetLog(index uint64, log *raft.Log) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: log entry %d: %v", ErrStoreDamaged, index, r)
		}
	}()
	return l.LogStore.GetLog(index, log)
}

// IsMonotonic passes on raft-wal's: its log takes no gaps, so after
// installing a snapshot raft must delete the whole log rather than leave
// a gap before the entries that follow.
func (l markedLogs) IsMonotonic() bool {
	m, ok := l.LogStore.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

type markedStable struct {
	raft.StableStore
	m *marker
}

func (s markedStable) Set(k, v []byte) error {
	if err := s.m.ensure(); err != nil {
		return err
	}
	return s.StableStore.Set(k, v)
}

func (s markedStable) SetUint64(k []byte, v uint64) error {
	if err := s.m.ensure(); err != nil {
		return err
	}
	return s.StableStore.SetUint64(k, v)
}
