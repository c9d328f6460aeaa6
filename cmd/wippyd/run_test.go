package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
)

// app writes a one-entry app whose main is body, plus extra files.
func app(t *testing.T, body string, modules string) string {
	t.Helper()
	dir := t.TempDir()
	yaml := `version: "1.0"
namespace: app
entries:
  - name: main
    kind: process.lua
    source: file://main.lua
    method: main
    modules: [` + modules + `]
`
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.lua"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type result struct {
	code           int
	stdout, stderr string
}

func runWith(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	sigs := make(chan os.Signal)
	done := make(chan int, 1)
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("runWith %v: the first argument must be run", args)
	}
	go func() { done <- runCmd(args[1:], strings.NewReader(stdin), &out, &errb, nil, sigs) }()
	select {
	case code := <-done:
		return result{code, out.String(), errb.String()}
	case <-time.After(20 * time.Second):
		t.Fatalf("run %v did not finish", args)
		return result{}
	}
}

func TestRunExitStatuses(t *testing.T) {
	cases := []struct {
		name, main string
		code       int
		stdout     string
		stderr     string // substring
	}{
		{"nothing", `return {main = function() end}`, 0, "", ""},
		{"nil", `return {main = function() return nil end}`, 0, "", ""},
		{"zero", `return {main = function() return 0 end}`, 0, "", ""},
		{"three", `return {main = function() return 3 end}`, 3, "", ""},
		{"255", `return {main = function() return 255 end}`, 255, "", ""},
		{"true", `return {main = function() return true end}`, 0, "", ""},
		{"false", `return {main = function() return false end}`, 1, "", ""},
		{"string", `return {main = function() return "hello" end}`, 0, "hello\n", ""},
		{"table", `return {main = function() return {a = 1} end}`, 0, "", ""},
		{"too big", `return {main = function() return 300 end}`, 1, "", "outside 0..255"},
		{"negative", `return {main = function() return -1 end}`, 1, "", "outside 0..255"},
		{"fraction", `return {main = function() return 1.5 end}`, 1, "", "not an integer"},
		{"nil err", `return {main = function() return nil, "it broke" end}`, 1, "", "it broke"},
		{"error object", `return {main = function() return nil, errors.new{message = "denied", kind = errors.PERMISSION_DENIED} end}`, 1, "", "denied"},
		{"raise", `return {main = function() error("boom") end}`, 1, "", "boom"},
		{"bare function", `return function() return 7 end`, 7, "", ""},
		{"terminated", `return {main = function() process.terminate(process.pid()); while true do end end}`, 1, "", "terminated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWith(t, "", "run", "--src", app(t, c.main, ""), "-x", "app:main")
			if r.code != c.code || r.stdout != c.stdout || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("got code %d stdout %q stderr %q; want %d %q %q", r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
}

func TestRunArgsAndStdin(t *testing.T) {
	dir := app(t, `
local io = require("io")
return {main = function(a, b)
  local args = io.args()
  io.write(a, "+", b, " #", #args, "\n")
  while true do
    local line = io.readline()
    if not line then break end
    io.print("got", line)
  end
  return 0
end}`, "io")
	r := runWith(t, "one\ntwo\n", "run", "--src", dir, "-x", "app:main", "x", "y")
	want := "x+y #2\ngot\tone\ngot\ttwo\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("got %d %q (stderr %q), want %q", r.code, r.stdout, r.stderr, want)
	}
}

func TestRunLoadErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(`version: "1.0"
namespace: app
entries:
  - name: broken
    kind: process.lua
    source: file://broken.lua
    method: main
  - name: svc
    kind: process.service
    process: app:missing
    host: app:processes
`), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.lua"), []byte("return {main = function( end}"), 0o644)
	r := runWith(t, "", "run", "--src", dir)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) < 2 {
		t.Fatalf("want every problem reported, got %q", r.stderr)
	}
	re := regexp.MustCompile(`^\S+\.(yaml|lua):\d+: app:\w+: `)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("not file:line: entry-id: message: %q", l)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	dir := app(t, `return {main = function() end}`, "")
	for _, args := range [][]string{
		{"run", "--src", dir, "-x", "app:nope"},
		{"run", "--src", dir, "--host", "app:terminal"},
		{"run", "--src", filepath.Join(dir, "missing")},
		{"run", "--set", "no.such.key=1", "--src", dir, "-x", "app:main"},
		{"run", "--set", "node.workers=100000", "--src", dir, "-x", "app:main"},
		{"run", "--config", "/dev/zero", "--src", dir, "-x", "app:main"},
		{"run", "--config", dir, "--src", dir, "-x", "app:main"},
	} {
		if r := runWith(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 with a message", args, r.code, r.stderr)
		}
	}
}

// Without -x the node runs until SIGTERM, then stops with status 0.
func TestRunUntilSignal(t *testing.T) {
	dir := app(t, `return {main = function() end}`, "")
	var out, errb bytes.Buffer
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() { done <- runCmd([]string{"--src", dir}, strings.NewReader(""), &out, &errb, nil, sigs) }()
	select {
	case code := <-done:
		t.Fatalf("exited %d before a signal: %s", code, errb.String())
	case <-time.After(100 * time.Millisecond):
	}
	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

// A plain `wippyd run` with no src/ runs the embedded tour.
func TestRunDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	r := runWith(t, "", "run")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"1. spawned", "crashed; the monitor saw EXIT", "restarted it by hand", "'counter' is {", "upgraded to version 2 in place", "done:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tour output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// The terminal host runs one process at a time; the node's own helpers must
// not take its slot, whatever its id sorts as.
func TestRunTerminalHostSortingFirst(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(`version: "1.0"
namespace: app
entries:
  - {name: console, kind: terminal.host}
  - {name: processes, kind: process.host}
  - {name: main, kind: process.lua, source: file://main.lua, method: main}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.lua"), []byte(`return {main = function() return 4 end}`), 0o644)
	if r := runWith(t, "", "run", "--src", dir, "-x", "app:main"); r.code != 4 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Policies from security.policy entries apply to processes of the app: a
// host whose policy denies sending into app:system gets PERMISSION_DENIED.
func TestRunPoliciesApply(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(`version: "1.0"
namespace: app
entries:
  - name: no-system
    kind: security.policy
    policy: {actions: [process.send, process.spawn, process.host], resources: ["app:system", "app:system.*"], effect: deny}
  - {name: terminal, kind: terminal.host, security: {policies: [app:no-system]}}
  - {name: processes, kind: process.host}
  - {name: system, kind: process.host}
  - {name: sink, kind: process.lua, source: file://sink.lua, method: main}
  - {name: main, kind: process.lua, source: file://main.lua, method: main, modules: [io]}
`), 0o644)
	os.WriteFile(filepath.Join(dir, "sink.lua"), []byte(`return {main = function() process.inbox():receive() end}`), 0o644)
	os.WriteFile(filepath.Join(dir, "main.lua"), []byte(`
local io = require("io")
return {main = function()
  local _, err = process.spawn("app:sink", "app:system")
  io.print("spawn:", err and err:kind() or "ok")
  local p = process.spawn("app:sink", "app:processes")
  local ok, err2 = process.send(p, "hi")
  io.print("send to processes:", ok and "ok" or err2:kind())
  return 0
end}`), 0o644)
	r := runWith(t, "", "run", "--src", dir, "-x", "app:main")
	want := "spawn:\tPERMISSION_DENIED\nsend to processes:\tok\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("got %d %q (stderr %q), want %q", r.code, r.stdout, r.stderr, want)
	}
}

// SIGTERM during a -x program: it gets CANCEL, may clean up, and its return
// value is the exit status.
func TestRunProgramCleansUpOnSIGTERM(t *testing.T) {
	dir := app(t, `
local io = require("io")
return {main = function()
  io.print("waiting")
  local ev = process.events():receive()
  io.print("cleanup after " .. ev.kind)
  return 3
end}`, "io")
	out, errb := &syncWriter{w: new(bytes.Buffer)}, &syncWriter{w: new(bytes.Buffer)}
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- runCmd([]string{"--src", dir, "-x", "app:main"}, strings.NewReader(""), out, errb, nil, sigs)
	}()
	await.NoError(t, "the program started", func() error {
		if !strings.Contains(out.String(), "waiting") {
			return fmt.Errorf("stderr %q", errb.String())
		}
		return nil
	})
	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 3 || !strings.Contains(out.String(), "cleanup after CANCEL") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

// syncWriter lets the test read what a running program has written.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// The node's own -x watcher takes no slot of an app's host: with
// max_processes 1 on the only process host, the program's one worker
// starts.
func TestRunWatcherTakesNoAppSlot(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"app.yaml": `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host, host: {max_processes: 1}}
  - {name: main, kind: process.lua, source: file://main.lua, method: main, modules: [io]}
  - {name: worker, kind: process.lua, source: file://worker.lua, method: main}
`,
		"worker.lua": `return {main = function() process.inbox():receive() end}`,
		"main.lua": `
local io = require("io")
return {main = function()
  local _, err = process.spawn("app:worker", "app:processes")
  io.print(err and tostring(err) or "spawned")
  local _, err2 = process.spawn("app:worker", "app:processes")
  io.print(err2 and "second refused" or "second spawned")
end}`,
	})
	r := runWith(t, "", "run", "--src", dir, "-x", "app:main")
	if want := "spawned\nsecond refused\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("got %d %q (stderr %q), want 0 %q", r.code, r.stdout, r.stderr, want)
	}
}

// At the end of a -x program, processes on a host with a cancel_timeout
// get that long to clean up after their CANCEL.
func TestRunStopHonoursCancelTimeout(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"app.yaml": `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host, host: {cancel_timeout: 3s}}
  - {name: main, kind: process.lua, source: file://main.lua, method: main}
  - {name: worker, kind: process.lua, source: file://worker.lua, method: main, modules: [time, logger]}
`,
		"worker.lua": `
local time = require("time")
local logger = require("logger")
return {main = function()
  process.events():receive()
  time.sleep("1500ms")
  logger:info("worker cleaned up")
end}`,
		"main.lua": `return {main = function() process.spawn("app:worker", "app:processes") end}`,
	})
	begin := time.Now()
	r := runWith(t, "", "run", "-v", "--src", dir, "-x", "app:main") // -v: info logs, the worker's among them
	el := time.Since(begin)
	if r.code != 0 || !strings.Contains(r.stderr, "worker cleaned up") || strings.Contains(r.stderr, "level=ERROR") {
		t.Fatalf("exit %d after %v, stderr:\n%s", r.code, el, r.stderr)
	}
	if el > 4*time.Second {
		t.Fatalf("took %v", el)
	}
}

// A symbolic link under --src that leads out of it loads nothing: the
// node stops before starting, with exit status 2.
func TestRunRefusesLinksOutOfSrc(t *testing.T) {
	outside := writeApp(t, map[string]string{"main.lua": `return {main = function() return 9 end}`})
	dir := app(t, `return {main = function() return 0 end}`, "")
	os.Remove(filepath.Join(dir, "main.lua"))
	if err := os.Symlink(filepath.Join(outside, "main.lua"), filepath.Join(dir, "main.lua")); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, "", "run", "--src", dir, "-x", "app:main")
	if r.code != 2 || !strings.Contains(r.stderr, "main.lua: path escapes from parent") {
		t.Fatalf("exit %d, stderr %q; want 2 naming the link", r.code, r.stderr)
	}
}

// system.exit(code) stops the node and `wippyd run` exits with code, both
// from the -x program and from a service of a plain run.
func TestRunSystemExit(t *testing.T) {
	r := runWith(t, "", "run", "--src", app(t, `
local system = require("system")
return {main = function()
  system.exit(7)
  process.events():receive() -- the CANCEL of the stop
  return 0
end}`, "system"), "-x", "app:main")
	if r.code != 7 {
		t.Fatalf("-x: code %d, stderr %s", r.code, r.stderr)
	}
	dir := app(t, `
local system = require("system")
return {main = function() system.exit(5) process.events():receive() end}`, "system")
	svc := "  - {name: svc, kind: process.service, process: main, host: processes, lifecycle: {auto_start: true}}\n" +
		"  - {name: processes, kind: process.host}\n"
	f, err := os.OpenFile(filepath.Join(dir, "app.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(svc)
	f.Close()
	if r := runWith(t, "", "run", "--src", dir); r.code != 5 {
		t.Fatalf("service: code %d, stderr %s", r.code, r.stderr)
	}
}
