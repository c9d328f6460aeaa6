package raftreg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/raft-wal/migrate"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// A node's Raft state lives in DataDir/<Node>/:
//
//	wal/               the log and stable store (raft-wal: wal-meta.db and
//	                   segment files <first index>-<id>.wal)
//	snapshots/         file snapshots
//	raft-member        the member marker (storecheck.go)
//	lock               locked while a process uses the directory
//	raft.db.migrated   an earlier version's store, once migrated
//	wal.migrating/     the WAL a migration is writing
//
// Versions before raft-wal kept the log and stable store in raft.db
// (raft-boltdb). A node that finds raft.db and no wal/ migrates it at
// start: it copies every log entry and the stable keys raft uses into a
// new WAL in wal.migrating/, syncs it, renames raft.db to
// raft.db.migrated (the commit point), then wal.migrating/ to wal/. A
// crash before the commit point leaves raft.db, and the next start
// migrates again from scratch; after it, the next start only renames.
const (
	walDir       = "wal"
	walTmpDir    = "wal.migrating"
	dbFile       = "raft.db"
	migratedFile = "raft.db.migrated"
	markerFile   = "raft-member"
	lockFile     = "lock"
)

type layout int

const (
	layoutNone     layout = iota // no store: a new node, or a member that lost it
	layoutWAL                    // wal/
	layoutBolt                   // raft.db to migrate
	layoutMigrated               // a migration past its commit point: wal.migrating/ to rename
)

// layoutOf returns dir's store layout and whether dir has the member
// marker.
func layoutOf(dir string) (layout, bool, error) {
	lay, err := storeLayout(dir)
	if err != nil {
		return lay, false, err
	}
	member, err := hasMarker(dir)
	return lay, member, err
}

// storeLayout tells which store dir holds.
func storeLayout(dir string) (layout, error) {
	var found [4]bool
	for i, name := range []string{walDir, dbFile, walTmpDir, migratedFile} {
		var err error
		if found[i], err = present(os.Lstat, filepath.Join(dir, name), "data dir"); err != nil {
			return layoutNone, err
		}
	}
	hasWAL, hasDB, hasTmp, hasMigrated := found[0], found[1], found[2], found[3]
	switch {
	case hasWAL && hasDB:
		return layoutNone, fmt.Errorf("%w: %s holds both %s and %s/: %s was put back after this node migrated it "+
			"to %s/, or %s/ copied in. Remove %s/ to migrate %s again, or %s to keep %s/", ErrStoreDamaged, dir,
			dbFile, walDir, dbFile, walDir, walDir, walDir, dbFile, dbFile, walDir)
	case hasWAL:
		return layoutWAL, nil
	case hasDB:
		return layoutBolt, nil
	case hasTmp && hasMigrated:
		return layoutMigrated, nil
	}
	return layoutNone, nil
}

// prepareLayout leaves dir (locked by the caller) with a wal/ to open, or
// with nothing on a new node: it migrates raft.db, or finishes a
// migration past its commit point. A member without a store has lost its
// state (ErrStateLost).
func prepareLayout(dir string, segSize int, logger hclog.Logger) error {
	lay, member, err := layoutOf(dir)
	if err != nil {
		return err
	}
	switch lay {
	case layoutBolt:
		if err := checkBoltStore(dir, member); err != nil {
			return err
		}
		return migrateBolt(dir, segSize, logger)
	case layoutMigrated:
		return finishMigration(dir)
	case layoutNone:
		if member {
			return stateLost(dir, walDir+"/ is missing")
		}
	}
	return nil
}

// checkBoltStore checks raft.db before it is migrated.
func checkBoltStore(dir string, member bool) error {
	path := filepath.Join(dir, dbFile)
	st, err := os.Lstat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrStoreDamaged, path)
	case st.Size() == 0 && member:
		return stateLost(dir, dbFile+" is empty (0 bytes)")
	case st.Size() == 0:
		return fmt.Errorf("%w: %s is empty (0 bytes): delete it if this node never held Raft state", ErrStoreDamaged, path)
	}
	if err := checkBolt(path); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStoreDamaged, path, err)
	}
	return nil
}

// migrateBolt copies raft.db (checked) into a new WAL and makes it the
// store (see the layout above).
func migrateBolt(dir string, segSize int, logger hclog.Logger) error {
	start := time.Now()
	tmp := filepath.Join(dir, walTmpDir)
	if err := os.RemoveAll(tmp); err != nil { // what an interrupted migration wrote
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	db := filepath.Join(dir, dbFile)
	n, err := copyBolt(db, tmp, segSize, logger)
	if err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	if err := os.Rename(db, filepath.Join(dir, migratedFile)); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	if err := finishMigration(dir); err != nil {
		return err
	}
	logger.Info("raft store migrated from raft-boltdb to raft-wal", "dir", dir, "entries", n,
		"took", time.Since(start), "old", migratedFile)
	return nil
}

// finishMigration renames wal.migrating/ to wal/.
func finishMigration(dir string) error {
	if err := os.Rename(filepath.Join(dir, walTmpDir), filepath.Join(dir, walDir)); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("raftreg: migrating %s: %w", dbFile, err)
	}
	return nil
}

// copyBolt copies the log and the stable keys raft uses from the
// raft-boltdb file db into a new WAL in dir, and returns the entries
// copied. Each append to the WAL is synced, and so is each stable key.
func copyBolt(db, dir string, segSize int, logger hclog.Logger) (n uint64, err error) {
	src, err := openBoltReadOnly(db)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dst, err := openWAL(dir, segSize, logger)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := dst.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("raftreg: migrating %s: %w", dbFile, cerr)
		}
	}()
	defer func() { // raft-boltdb trusts its buckets to exist
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w: %s: not a raft-boltdb store, or damaged (%v)", ErrStoreDamaged, db, r)
		}
	}()
	first, last, err := boltRange(src)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrStoreDamaged, db, err)
	}
	if last > 0 {
		if err := migrate.CopyLogs(context.Background(), dst, src, 1<<20, nil); err != nil {
			return 0, fmt.Errorf("raftreg: migrating %s: %w", db, err)
		}
		if f, l, err := boltRange(dst); err != nil || f != first || l != last {
			return 0, fmt.Errorf("raftreg: migrating %s: entries %d to %d copied as %d to %d (%v)", db, first, last, f, l, err)
		}
		n = last - first + 1
	}
	if err := copyStable(dst, src); err != nil {
		return 0, fmt.Errorf("raftreg: migrating %s: %w", db, err)
	}
	return n, nil
}

func boltRange(s raft.LogStore) (first, last uint64, err error) {
	if first, err = s.FirstIndex(); err == nil {
		last, err = s.LastIndex()
	}
	return first, last, err
}

// stableKeys are the stable store's keys raft (v1.8.0) writes: the current
// term and its last vote (term and candidate). The registry writes none.
var (
	stableUint64Keys = [][]byte{[]byte("CurrentTerm"), []byte("LastVoteTerm")}
	stableBytesKeys  = [][]byte{[]byte("LastVoteCand")}
)

// copyStable copies the stable keys raft uses that src holds.
func copyStable(dst, src raft.StableStore) error {
	for _, k := range stableUint64Keys {
		v, err := src.GetUint64(k)
		switch {
		case errors.Is(err, raftboltdb.ErrKeyNotFound):
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", k, err)
		}
		if err := dst.SetUint64(k, v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	for _, k := range stableBytesKeys {
		v, err := src.Get(k)
		switch {
		case errors.Is(err, raftboltdb.ErrKeyNotFound):
			continue
		case err != nil:
			return fmt.Errorf("%s: %w", k, err)
		}
		if err := dst.Set(k, v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// openBoltReadOnly opens a raft.db (checked by checkBolt first) to read
// it, turning a panic of bbolt into an error. The timeout bounds the wait
// for bbolt's file lock.
func openBoltReadOnly(path string) (bolt *raftboltdb.BoltStore, err error) {
	defer func() {
		if r := recover(); r != nil {
			bolt, err = nil, fmt.Errorf("%w: %s: %v", ErrStoreDamaged, path, r)
		}
	}()
	bolt, err = raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bbolt.Options{ReadOnly: true, Timeout: time.Second},
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("raftreg: %s is in use by another process", path)
	case err != nil:
		return nil, fmt.Errorf("raftreg: opening %s: %w", path, err)
	}
	return bolt, nil
}
