package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A node whose raft.db is damaged or lost stops with a clear error and
// exit status 3, instead of a bbolt panic, a fault, or starting afresh and
// rejoining its cluster as an empty voter.
func TestRaftStoreDamageStopsTheNode(t *testing.T) {
	src := writeApp(t, map[string]string{"app.yaml": "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: processes, kind: process.host}\n"})
	data := t.TempDir()
	args := []string{"run", "--src", src, "--set", "admin.addr=", "--set", "node.name=n1",
		"--set", "cluster.enabled=true", "--set", "cluster.raft.bootstrap_expect=1",
		"--set", "cluster.raft.data_dir=" + data, "--set", "cluster.membership.bind_addr=127.0.0.1",
		"--set", "cluster.membership.bind_port=0", "--set", "cluster.internode.auto_port=false"}
	d := startDaemon(t, args...)
	d.next("msg=leading", "component=raftreg")
	d.signal(syscall.SIGTERM)
	if code := d.exit(20 * time.Second); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, strings.Join(d.log, "\n"))
	}
	db := filepath.Join(data, "n1", "raft.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	zeroed := append([]byte(nil), good...)
	clear(zeroed[2*4096:])
	for _, c := range []struct {
		name, want string
		damage     func() error
	}{
		{"zeroed pages", "raft.db is damaged", func() error { return os.WriteFile(db, zeroed, 0o600) }},
		{"truncated", "truncated: ", func() error { return os.WriteFile(db, good[:len(good)/2], 0o600) }},
		{"empty", "raft state lost: raft.db is empty (0 bytes)", func() error { return os.WriteFile(db, nil, 0o600) }},
		{"missing", "raft state lost: raft.db is missing", func() error { return os.Remove(db) }},
	} {
		t.Run(c.name, func(t *testing.T) {
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
