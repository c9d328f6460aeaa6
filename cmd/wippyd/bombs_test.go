package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBombs runs the programs of issue 13 that used to take the whole node
// down (a fatal out-of-memory or stack overflow of the Go runtime) with
// the real binary, under a 2 GiB address-space limit: each now ends as a
// Lua error of its own process, and the node exits normally.
func TestBombs(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh for ulimit")
	}
	bin := wippydBinary(t)
	for _, c := range []struct {
		bomb, stdout, stderr string
		code                 int
	}{
		{"rep", "", "error: lua: memory limit: string.rep needs 2.0 GiB", 1},
		{"hundred", "", "error: lua: memory limit: string.rep needs 100.0 MiB", 1},
		{"resume", "stack overflow (pcall, xpcall and coroutine.resume nested more than 200 deep)", "", 0},
		{"deep", "10000\tstack overflow\n", "", 0},
	} {
		t.Run(c.bomb, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", `ulimit -v 2097152 && exec "$0" "$@"`,
				bin, "run", "--src", "testdata/bombs", "-x", "app:main", c.bomb)
			var out, errs strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatal("no exit within 60s")
			}
			code := cmd.ProcessState.ExitCode()
			if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errs.String(), c.stderr) ||
				strings.Contains(errs.String(), "fatal error") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), tail(errs.String(), 2000))
			}
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestMaxMemoryPerHost: a host's max_memory (a size; 0 = none; 128MiB when
// not given) bounds its processes.
func TestMaxMemoryPerHost(t *testing.T) {
	bin := wippydBinary(t)
	for _, c := range []struct{ host, mib, want string }{
		{"app:small", "8", "lua: memory limit: string.rep needs 8.0 MiB; the process holds"},
		{"app:small", "2", "made"},
		{"app:default", "200", "of its host's max_memory 128.0 MiB"},
		{"app:default", "100", "made"},
		{"app:none", "300", "made"},
	} {
		out, err := exec.Command(bin, "run", "--src", "testdata/maxmem", "--host", c.host, "-x", "app:main", c.mib).Output()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s, %s MiB: %v\n%s", c.host, c.mib, err, out)
		}
	}
}
