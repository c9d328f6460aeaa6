// Package examples_test runs every example app with the real wippyd binary
// and compares what it prints with a golden file.
//
// The binary is built once per test run. Each example runs as
//
//	wippyd run --src <example> -x <entry> [args...] < <example>/testdata/stdin.txt
//
// and its stdout, stderr (when not empty) and exit status are compared with
// <example>/testdata/golden*.txt after PIDs are numbered in order of first
// appearance. Run `go test ./examples/ -update` to rewrite the goldens.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// runTimeout bounds one run of an example: a hang fails the test.
const runTimeout = 20 * time.Second

// wippyd and embed are the paths of the binaries built by TestMain.
var wippyd, embed string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "wippyd-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wippyd, embed = filepath.Join(dir, "wippyd"), filepath.Join(dir, "embed")
	code := 1
	if err := build(wippyd, "github.com/wippyd/wippyd/cmd/wippyd"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else if err := build(embed, "github.com/wippyd/wippyd/examples/embed"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(out, pkg string) error {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	cmd := exec.Command(gobin, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// An example run: `wippyd run --src <dir> <args...>`.
type example struct {
	name   string   // subtest name
	dir    string   // example directory
	args   []string // after --src <dir>
	stdin  string   // file under <dir>/testdata, or ""
	golden string   // file under <dir>/testdata
}

var examples = []example{
	{name: "hello", dir: "hello", args: []string{"-x", "hello:main", "Ada", "Grace"}, golden: "golden.txt"},
	{name: "hello/no-args", dir: "hello", args: []string{"-x", "hello:main"}, golden: "golden-no-args.txt"},
	{name: "echo-relay", dir: "echo-relay", args: []string{"-x", "relay:client"}, stdin: "stdin.txt", golden: "golden.txt"},
	{name: "echo-relay/pool-of-2", dir: "echo-relay", args: []string{"-x", "relay:client", "2"}, stdin: "stdin.txt", golden: "golden-pool-2.txt"},
	{name: "supervision", dir: "supervision", args: []string{"-x", "sup:main"}, golden: "golden.txt"},
	{name: "channels", dir: "channels", args: []string{"-x", "chans:main"}, golden: "golden.txt"},
	{name: "upgrade", dir: "upgrade", args: []string{"-x", "upg:console"}, stdin: "stdin.txt", golden: "golden.txt"},
	{name: "errors", dir: "errors", args: []string{"-x", "errs:main"}, golden: "golden.txt"},
	{name: "sandbox", dir: "sandbox", args: []string{"-x", "app:main"}, golden: "golden.txt"},
	{name: "echo-service", dir: "echo-service", args: []string{"-x", "echo:client"}, stdin: "stdin.txt", golden: "golden.txt"},
	{name: "access", dir: "access", args: []string{"-x", "app:main"}, golden: "golden.txt"},
	{name: "workqueue", dir: "workqueue", args: []string{"--set", "node.name=n1", "-x", "queue:submit"}, golden: "golden.txt"},
	{name: "locks/standalone", dir: "locks", args: []string{"-x", "locks:main"}, golden: "golden-standalone.txt"},
}

func TestExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			var stdin io.Reader
			if ex.stdin != "" {
				b, err := os.ReadFile(filepath.Join(ex.dir, "testdata", ex.stdin))
				if err != nil {
					t.Fatal(err)
				}
				stdin = bytes.NewReader(b)
			}
			args := append([]string{"run", "--src", ex.dir}, ex.args...)
			got := runWippyd(t, "", stdin, args...)
			checkGolden(t, filepath.Join(ex.dir, "testdata", ex.golden), got)
		})
	}
}

// TestDemo runs `wippyd run` where there is no ./src: the embedded tour,
// which `wippyd demo tour` runs too, whatever ./src holds.
func TestDemo(t *testing.T) {
	got := runWippyd(t, t.TempDir(), nil, "run")
	checkGolden(t, filepath.Join("testdata", "demo.txt"), got)
	if got := runWippyd(t, "", nil, "demo", "tour"); got != mustRead(t, filepath.Join("testdata", "demo.txt")) {
		t.Errorf("wippyd demo tour differs from wippyd run:\n%s", got)
	}
}

// TestDemoCluster runs the cluster tour: three nodes in one process, a
// node stopped hard, the name taken over; in well under 15 s.
func TestDemoCluster(t *testing.T) {
	begin := time.Now()
	got := runWippyd(t, "", nil, "demo", "cluster")
	if el := time.Since(begin); el > 15*time.Second {
		t.Errorf("the cluster tour took %v, want under 15s", el)
	}
	checkGolden(t, filepath.Join("testdata", "demo-cluster.txt"), got)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEmbed runs examples/embed, the Go program embedding two nodes. Its
// stdout is compared with the golden file; its stderr holds the warnings
// of the node that sees the other one cut off, in no fixed order, and no
// error.
func TestEmbed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, embed)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("embed: no exit within %v\nstdout:\n%s\nstderr:\n%s", runTimeout, stdout.String(), stderr.String())
	}
	checkGolden(t, filepath.Join("embed", "testdata", "golden.txt"), transcript(stdout.String(), "", exitCode(t, err)))
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" && !strings.Contains(line, "level=WARN") {
			t.Errorf("embed logged more than warnings:\n%s", stderr.String())
			break
		}
	}
}

// TestUpgradeReload edits the counter's file while it runs and reloads it
// with process.upgrade(nil): first a changed version string, then a syntax
// error, which ends the counter with the compile error.
func TestUpgradeReload(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("upgrade")); err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(dir, "counter.lua")
	s := startWippyd(t, "run", "--src", dir, "-x", "upg:console")

	s.send("add 1\nget\n")
	s.waitFor("> get: 1 (version v1,")
	edit(t, counter, `local VERSION = "v1"`, `local VERSION = "v1.1"`)
	s.send("reload\nadd 2\nget\n")
	s.waitFor("> get: 3 (version v1.1,")
	edit(t, counter, `local VERSION = "v1.1"`, `local VERSION = = "broken"`)
	s.send("reload\nget\n")
	got := strings.ReplaceAll(s.finish(), dir+string(filepath.Separator), "")
	checkGolden(t, filepath.Join("upgrade", "testdata", "golden-reload.txt"), got)
}

// TestHotReloadExample runs examples/hotreload with --watch and edits the
// worker's file while the node runs: a save with a syntax error is logged
// at its line and changes nothing; the next save, version 2, reaches the
// worker as an OUTDATED event, and it upgrades keeping its count.
func TestHotReloadExample(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("hotreload")); err != nil {
		t.Fatal(err)
	}
	worker := filepath.Join(dir, "worker.lua")
	good, err := os.ReadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	s := startWippyd(t, "run", "--watch", "--src", dir, "-x", "hot:main")
	s.waitFor("waiting: edit worker.lua")
	edit(t, worker, `local VERSION = 1`, `local VERSION = = 1`)
	s.waitStderr("worker.lua:5: hot:worker")
	if err := os.WriteFile(worker, bytes.Replace(good, []byte(`local VERSION = 1`), []byte(`local VERSION = 2`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(s.finish(), dir+string(filepath.Separator), "")
	checkGolden(t, filepath.Join("hotreload", "testdata", "golden.txt"), got)
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runWippyd runs the binary in dir (or the package directory) to the end
// and returns its normalised transcript.
func runWippyd(t *testing.T, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, wippyd, args...)
	if dir != "" {
		cmd.Dir = dir
	}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wippyd %s: no exit within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), runTimeout, stdout.String(), stderr.String())
	}
	return transcript(stdout.String(), stderr.String(), exitCode(t, err))
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wippyd: %v", err)
	}
	return ee.ExitCode()
}

// session is a wippyd run driven line by line through its stdin.
type session struct {
	t      *testing.T
	ctx    context.Context
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string // stdout, one line at a time; closed at EOF
	stdout strings.Builder
	stderr lockedBuffer
}

// lockedBuffer is a buffer a command writes while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startWippyd(t *testing.T, args ...string) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	t.Cleanup(cancel)
	s := &session{t: t, ctx: ctx, lines: make(chan string, 64)}
	s.cmd = exec.CommandContext(ctx, wippyd, args...)
	s.cmd.Stderr = &s.stderr
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		s.drain()
		s.cmd.Wait()
	})
	return s
}

func (s *session) send(text string) {
	s.t.Helper()
	if _, err := io.WriteString(s.stdin, text); err != nil {
		s.t.Fatalf("write to stdin: %v", err)
	}
}

// waitFor reads stdout until a line starting with prefix.
func (s *session) waitFor(prefix string) {
	s.t.Helper()
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("stdout ended before a line starting %q:\n%s\nstderr:\n%s", prefix, s.stdout.String(), s.stderr.String())
			}
			s.stdout.WriteString(line + "\n")
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-s.ctx.Done():
			s.t.Fatalf("no line starting %q within %v:\n%s", prefix, runTimeout, s.stdout.String())
		}
	}
}

// waitStderr polls stderr until it holds substr.
func (s *session) waitStderr(substr string) {
	s.t.Helper()
	for !strings.Contains(s.stderr.String(), substr) {
		select {
		case <-s.ctx.Done():
			s.t.Fatalf("no %q on stderr within %v:\n%s", substr, runTimeout, s.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *session) drain() {
	for line := range s.lines {
		s.stdout.WriteString(line + "\n")
	}
}

// finish closes stdin, waits for the exit and returns the transcript.
func (s *session) finish() string {
	s.t.Helper()
	s.stdin.Close()
	s.drain()
	err := s.cmd.Wait()
	if s.ctx.Err() != nil {
		s.t.Fatalf("no exit within %v:\n%s", runTimeout, s.stdout.String())
	}
	return transcript(s.stdout.String(), s.stderr.String(), exitCode(s.t, err))
}

var (
	pidRE  = regexp.MustCompile(`\{[^{}|]*\|0x[0-9a-f]+\}`)
	timeRE = regexp.MustCompile(`time=\S+`)
)

// transcript is what a golden file holds: stdout, then stderr when there
// is any, then the exit status; PIDs become <pid1>, <pid2>, ... in order of
// first appearance, so a golden still shows which PIDs are the same.
func transcript(stdout, stderr string, code int) string {
	var b strings.Builder
	b.WriteString(stdout)
	if stderr != "" {
		b.WriteString("--- stderr\n")
		b.WriteString(stderr)
	}
	fmt.Fprintf(&b, "--- exit status %d\n", code)
	seen := map[string]string{}
	out := pidRE.ReplaceAllStringFunc(b.String(), func(p string) string {
		if n, ok := seen[p]; ok {
			return n
		}
		n := fmt.Sprintf("<pid%d>", len(seen)+1)
		seen[p] = n
		return n
	})
	return timeRE.ReplaceAllString(out, "time=<time>")
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// Both example tables, the README's and examples/README.md's, list every
// example directory.
func TestTablesListEveryExample(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for table, link := range map[string]string{"../README.md": "(examples/%s)", "README.md": "(%s)"} {
		text := mustRead(t, table)
		for _, d := range dirs {
			if d.IsDir() && d.Name() != "testdata" && !strings.Contains(text, fmt.Sprintf("| ["+d.Name()+"]"+link, d.Name())) {
				t.Errorf("%s: no row for examples/%s", table, d.Name())
			}
		}
	}
}
