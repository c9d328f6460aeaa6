package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadWithin runs LoadConfig with a deadline: a hostile file must give an
// error promptly, never hang the loader.
func loadWithin(t *testing.T, opts LoadOptions) (Config, error) {
	t.Helper()
	type result struct {
		c   Config
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := LoadConfig(opts)
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("LoadConfig(%+v) still running after 10s", opts)
		return Config{}, nil
	}
}

// mergeBomb is a config file whose merge keys name one mapping 9^levels
// times.
func mergeBomb(levels int) string {
	var b strings.Builder
	b.WriteString("x0: &a0 {log: {level: info}}\n")
	for i := 1; i <= levels; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", ")
		fmt.Fprintf(&b, "x%d: &a%d {<<: [%s]}\n", i, i, refs)
	}
	fmt.Fprintf(&b, "<<: *a%d\n", levels)
	return b.String()
}

// Files that would hang the loader or take its memory are refused with a
// clear error: devices, pipes, directories, oversized files, a second
// YAML document silently ignored until now, merge-key bombs.
func TestConfigFileRefusesHostileFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxConfigFile)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"device", "/dev/zero", "not a regular file: a device"},
		{"named pipe", fifo, "not a regular file: a named pipe"},
		{"directory", dir, "not a regular file: a directory"},
		{"too large", big, "file too large"},
		{"two documents", writeConfig(t, "log: {level: debug}\n---\nnode: {workers: 3}\n"), "wippy.yaml:2: a second YAML document"},
		{"merge bomb", writeConfig(t, mergeBomb(6)), "more than 100000 YAML nodes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadWithin(t, LoadOptions{File: c.file})
			if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want ErrBadConfig with %q", err, c.want)
			}
			if strings.Count(err.Error(), c.file) > 1 && strings.Contains(c.want, "file") {
				t.Errorf("the path is repeated: %v", err)
			}
		})
	}
}

// A config file may be a symbolic link (Kubernetes mounts ConfigMaps so),
// and one document with a leading --- is one document.
func TestConfigFileFollowsSymlinks(t *testing.T) {
	target := writeConfig(t, "---\nnode: {workers: 3}\n")
	link := filepath.Join(t.TempDir(), "link.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	c, err := loadWithin(t, LoadOptions{File: link})
	if err != nil || c.Node.Workers != 3 {
		t.Fatalf("workers %d, err %v", c.Node.Workers, err)
	}
}

// node.workers is bounded: 100,000 workers used to take minutes to start.
func TestWorkersBounded(t *testing.T) {
	_, err := loadWithin(t, LoadOptions{Set: []string{"node.workers=100000"}})
	if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "node.workers: must be between 0 (one per CPU) and 1024") {
		t.Fatalf("err %v", err)
	}
	if _, err := loadWithin(t, LoadOptions{Set: []string{"node.workers=1024"}}); err != nil {
		t.Fatalf("1024 workers: %v", err)
	}
}

// A secret or token file is read the same careful way: /dev/zero or a
// pipe there is an error, not a hang.
func TestSecretFileRefusesDevices(t *testing.T) {
	for _, key := range []string{"cluster.membership.secret_file", "admin.token_file"} {
		_, err := loadWithin(t, LoadOptions{Set: []string{key + "=/dev/zero"}})
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), key+": cannot read /dev/zero: not a regular file: a device") {
			t.Errorf("%s: err %v", key, err)
		}
	}
}
