package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/cli")

// helloApp is the README's first app, in app/ of a case's directory;
// each case may change its files.
var helloApp = map[string]string{
	"app.yaml": `version: "1.0"
namespace: app
entries:
  - name: hello
    kind: process.lua
    source: file://hello.lua
    method: main
    modules: [io]
`,
	"hello.lua": `local io = require("io")
return {main = function(name) io.print("hello, " .. (name or "world")); return 0 end}
`,
}

// cliCase is one run of the real binary, in a fresh directory holding
// app/ (helloApp with edits), compared with testdata/cli/<name>.txt.
type cliCase struct {
	name  string
	args  []string
	edits map[string][2]string // file: old, new
	noApp bool                 // no app/ directory
}

var cliCases = []cliCase{
	// One help per command: stdout and status 0 when asked for, stderr
	// and status 2 for misuse; flags spelled as the README spells them.
	{name: "no-args", args: nil},
	{name: "help", args: []string{"--help"}},
	{name: "help-unknown", args: []string{"help", "frobnicate"}},
	{name: "unknown-command", args: []string{"frobnicate"}},
	{name: "run-help", args: []string{"run", "--help"}},
	{name: "help-run", args: []string{"help", "run"}},
	{name: "run-unknown-flag", args: []string{"run", "--bogus"}},
	{name: "run-stray-argument", args: []string{"run", "app"}},
	{name: "run-host-without-x", args: []string{"run", "--src", "app", "--host", "app:terminal"}},
	{name: "version", args: []string{"version", "--help"}},
	{name: "version-unknown-flag", args: []string{"version", "--bogus"}},
	{name: "version-argument", args: []string{"version", "now"}},
	{name: "bench-help", args: []string{"bench", "-h"}},
	{name: "bench-bad-rounds", args: []string{"bench", "--rounds", "0"}},
	{name: "bench-flag-value", args: []string{"bench", "--rounds", "many"}},
	{name: "bench-unknown-part", args: []string{"bench", "--only", "registry,raft"}},
	{name: "status-help", args: []string{"status", "--help"}},
	{name: "demo-help", args: []string{"demo", "--help"}},
	{name: "demo-which", args: []string{"demo"}},
	{name: "demo-unknown", args: []string{"demo", "galaxy"}},

	// -x: quiet unless asked; what was loaded and what was meant.
	{name: "x-quiet", args: []string{"run", "--src", "app", "-x", "app:hello", "ada"}},
	{name: "x-verbose", args: []string{"run", "-v", "--set", "node.name=cli", "--src", "app", "-x", "app:hello", "ada"}},
	{name: "x-no-entry-demo", args: []string{"run", "-x", "app:nothere"}, noApp: true},
	{name: "x-typo", args: []string{"run", "--src", "app", "-x", "app:helo"}},
	{name: "x-bare-name", args: []string{"run", "--src", "app", "-x", "hello"}},
	{name: "x-not-an-id", args: []string{"run", "-x", "nope"}, noApp: true},

	// Load errors at their file and line.
	{name: "kind-typo", args: []string{"run", "--src", "app", "-x", "app:hello"},
		edits: map[string][2]string{"app.yaml": {"kind: process.lua", "kind: process.luaa"}}},
	{name: "module-unknown", args: []string{"run", "--src", "app", "-x", "app:hello"},
		edits: map[string][2]string{"app.yaml": {"modules: [io]", "modules: [io, nosuchmodule]"}}},
	{name: "module-unimplemented", args: []string{"run", "--src", "app", "-x", "app:hello", "ada"},
		edits: map[string][2]string{"app.yaml": {"modules: [io]", "modules: [io, http]"}}},
	{name: "yaml-indent", args: []string{"run", "--src", "app", "-x", "app:hello"},
		edits: map[string][2]string{"app.yaml": {"    method: main", "   method: main"}}},
	{name: "method-missing", args: []string{"run", "--src", "app", "-x", "app:hello"},
		edits: map[string][2]string{"app.yaml": {"method: main", "method: mian"}}},
	{name: "module-not-listed", args: []string{"run", "--src", "app", "-x", "app:hello"},
		edits: map[string][2]string{"app.yaml": {"    modules: [io]\n", ""}}},
}

func TestCLI(t *testing.T) {
	bin := wippydBinary(t)
	for _, c := range cliCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if !c.noApp {
				writeHello(t, filepath.Join(dir, "app"), c.edits)
			}
			checkCLIGolden(t, c.name, runBinary(t, bin, dir, c.args...))
		})
	}
}

// wippyd status with no node at the address says so, in words.
func TestCLIStatusNoNode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	got := runBinary(t, wippydBinary(t), t.TempDir(), "status", "--addr", addr)
	checkCLIGolden(t, "status-no-node", strings.ReplaceAll(got, addr, "<addr>"))
}

func writeHello(t *testing.T, dir string, edits map[string][2]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range helloApp {
		if e, ok := edits[name]; ok {
			if !strings.Contains(content, e[0]) {
				t.Fatalf("%s has no %q", name, e[0])
			}
			content = strings.Replace(content, e[0], e[1], 1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	timeRE = regexp.MustCompile(`(time|version)=\S+`)
	pidRE  = regexp.MustCompile(`\{[^{}|]*\|0x[0-9a-f]+\}`)
)

// runBinary runs wippyd in dir and returns its transcript: stdout, then
// stderr when there is any, then the exit status, times and PIDs masked.
func runBinary(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("wippyd %v: no exit within 30s\n%s\n%s", args, stdout.String(), stderr.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "$ wippyd %s\n", strings.Join(args, " "))
	b.WriteString(stdout.String())
	if stderr.Len() > 0 {
		b.WriteString("--- stderr\n")
		b.WriteString(stderr.String())
	}
	fmt.Fprintf(&b, "--- exit status %d\n", code)
	return pidRE.ReplaceAllString(timeRE.ReplaceAllString(b.String(), "$1=<$1>"), "<pid>")
}

func checkCLIGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestCLI -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (-update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
