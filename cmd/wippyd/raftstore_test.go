package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A node whose Raft store is damaged or lost stops with a clear error and
// exit status 3, instead of a panic, a fault, or starting afresh and
// rejoining its cluster as an empty voter.
func TestRaftStoreDamageStopsTheNode(t *testing.T) {
	data, args := raftNodeArgs(t)
	d := startDaemon(t, args...)
	d.next("msg=leading", "component=raftreg")
	d.signal(syscall.SIGTERM)
	if code := d.exit(20 * time.Second); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, strings.Join(d.log, "\n"))
	}
	wal := filepath.Join(data, "n1", "wal")
	segs, err := filepath.Glob(filepath.Join(wal, "*.wal"))
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v (%v), want one", segs, err)
	}
	seg, meta := segs[0], filepath.Join(wal, "wal-meta.db")
	goodSeg, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	goodMeta, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	restore := func() error {
		if err := os.MkdirAll(wal, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(seg, goodSeg, 0o600); err != nil {
			return err
		}
		return os.WriteFile(meta, goodMeta, 0o600)
	}
	zeroedMeta := append([]byte(nil), goodMeta...)
	clear(zeroedMeta[2*4096:])
	for _, c := range []struct {
		name, want string
		damage     func() error
	}{
		{"zeroed segment", "the Raft store is damaged: " + seg + ": holds no complete batch",
			func() error { return os.WriteFile(seg, make([]byte, len(goodSeg)), 0o600) }},
		{"truncated segment", seg + ": truncated: ", func() error { return os.Truncate(seg, int64(len(goodSeg)/2)) }},
		{"damaged metadata", "the Raft store is damaged: " + meta + ": ", func() error { return os.WriteFile(meta, zeroedMeta, 0o600) }},
		{"emptied", "raft state lost: the Raft store holds no Raft state", func() error {
			if err := os.Remove(seg); err != nil {
				return err
			}
			return os.Remove(meta)
		}},
		{"missing", "raft state lost: wal/ is missing", func() error { return os.RemoveAll(wal) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := restore(); err != nil {
				t.Fatal(err)
			}
			if err := c.damage(); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, args...)
			code := d.exit(20 * time.Second)
			log := strings.Join(d.log, "\n")
			if code != 3 || !strings.Contains(log, c.want) || strings.Contains(log, "goroutine ") || strings.Contains(log, "msg=leading") || strings.Contains(log, "membership joined") {
				t.Fatalf("exit %d, want 3 with %q and no panic or start:\n%s", code, c.want, log)
			}
		})
	}
}

// A second node started on the data directory of a running one stops at
// once, naming the directory, before it starts anything (exit status 2,
// as for a bad config); the first runs on.
func TestRaftStoreInUse(t *testing.T) {
	data, args := raftNodeArgs(t)
	first := startDaemon(t, args...)
	first.next("msg=leading", "component=raftreg")
	second := startDaemon(t, args...)
	code := second.exit(20 * time.Second)
	log := strings.Join(second.log, "\n")
	if code != 2 || !strings.Contains(log, filepath.Join(data, "n1")+" is in use by another process") || strings.Contains(log, "membership joined") {
		t.Fatalf("second node: exit %d, want 2 naming the directory in use:\n%s", code, log)
	}
	first.signal(syscall.SIGTERM)
	if code := first.exit(20 * time.Second); code != 0 {
		t.Fatalf("first node: exit %d\n%s", code, strings.Join(first.log, "\n"))
	}
}

// raftNodeArgs returns a fresh Raft data directory and the arguments of
// `wippyd run` for a one-node cluster (n1) that keeps its Raft state there.
func raftNodeArgs(t *testing.T) (data string, args []string) {
	t.Helper()
	src := writeApp(t, map[string]string{"app.yaml": "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: processes, kind: process.host}\n"})
	data = t.TempDir()
	return data, []string{"run", "--src", src, "--set", "admin.addr=", "--set", "node.name=n1",
		"--set", "cluster.enabled=true", "--set", "cluster.raft.bootstrap_expect=1",
		"--set", "cluster.raft.data_dir=" + data, "--set", "cluster.membership.bind_addr=127.0.0.1",
		"--set", "cluster.membership.bind_port=0", "--set", "cluster.internode.auto_port=false"}
}
