package raftreg

import (
	"io"
	"log/slog"
	"testing"

	"github.com/hashicorp/raft"
)

// TestRaftTuningKeys: cluster.raft.max_append_entries reaches Raft's
// configuration, snapshot_retain the snapshot store, and the bounds are
// checked before Raft would refuse them.
func TestRaftTuningKeys(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node, cfg.DataDir, cfg.MaxAppendEntries, cfg.SnapshotRetain = "n1", t.TempDir(), 48, 3
	r := &Registry{cfg: cfg}
	if got := r.raftConfig(newRaftLogger(slog.New(slog.DiscardHandler))).MaxAppendEntries; got != 48 {
		t.Errorf("raft MaxAppendEntries %d, want 48", got)
	}
	st, err := openStores(&cfg, newRaftLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	for i := uint64(1); i <= 5; i++ {
		sink, err := st.snaps.Create(raft.SnapshotVersionMax, i*10, 1, raft.Configuration{}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sink.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := sink.Close(); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.snaps.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Index != 50 {
		t.Errorf("%d snapshots kept (newest %v), want 3 with the newest at index 50", len(list), list)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.MaxAppendEntries = 0 },
		func(c *Config) { c.MaxAppendEntries = MaxAppendEntriesLimit + 1 },
		func(c *Config) { c.SnapshotRetain = 0 },
		func(c *Config) { c.ReconcileTimeout = 0 },
	} {
		c := cfg
		bad(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
