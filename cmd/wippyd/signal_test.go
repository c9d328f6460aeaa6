package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds wippyd once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func wippydBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wippyd-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "wippyd")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = err
			t.Logf("%s", out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

const servicesApp = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: svc
    kind: process.lua
    source: file://svc.lua
    method: main
    modules: [logger]
  - name: db
    kind: process.service
    process: app:svc
    host: app:processes
    input: [db]
    lifecycle: {auto_start: true}
  - name: api
    kind: process.service
    process: app:svc
    host: app:processes
    input: [api]
    lifecycle: {auto_start: true, requires: [app:db]}
`

const serviceLua = `
local logger = require("logger")
return {main = function(name)
  local events = process.events()
  logger:info("service up", {service = name})
  while true do
    local ev = events:receive()
    if ev.kind == process.event.CANCEL then
      logger:info("cleanup", {service = name})
      return "stopped"
    end
  end
end}
`

// daemon is a wippyd binary started by a test, with its stderr read line
// by line.
type daemon struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	log   []string
}

// startDaemon starts the wippyd binary with args and reads its stderr.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	return startDaemonIn(t, "", args...)
}

// startDaemonIn starts the wippyd binary in the working directory dir
// ("": the test's).
func startDaemonIn(t *testing.T, dir string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(wippydBinary(t), args...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d := &daemon{t: t, cmd: cmd, lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		close(d.lines)
	}()
	return d
}

// next waits for a stderr line holding every string of want.
func (d *daemon) next(want ...string) {
	d.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("stderr ended before %q:\n%s", want, strings.Join(d.log, "\n"))
			}
			d.log = append(d.log, l)
			all := true
			for _, w := range want {
				all = all && strings.Contains(l, w)
			}
			if all {
				return
			}
		case <-deadline:
			d.t.Fatalf("no %q within 20s:\n%s", want, strings.Join(d.log, "\n"))
		}
	}
}

func (d *daemon) signal(sig os.Signal) {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
}

// exit reads the rest of stderr and returns the exit status, failing the
// test if the process has not exited within limit.
func (d *daemon) exit(limit time.Duration) int {
	d.t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case l, ok := <-d.lines:
			if ok {
				d.log = append(d.log, l)
				continue
			}
			d.cmd.Wait()
			return d.cmd.ProcessState.ExitCode()
		case <-deadline:
			d.t.Fatalf("still running %v later:\n%s", limit, strings.Join(d.log, "\n"))
		}
	}
}

// SIGTERM stops services in reverse dependency order, each getting CANCEL
// and running its cleanup, and the node exits 0.
func TestSIGTERMStopsServicesInReverseOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(servicesApp), 0o644)
	os.WriteFile(filepath.Join(dir, "svc.lua"), []byte(serviceLua), 0o644)
	d := startDaemon(t, "run", "--src", dir, "--set", "admin.addr=127.0.0.1:0")
	d.next("msg=\"service running\"", "service=app:db")
	d.next("msg=\"service running\"", "service=app:api")
	d.next("msg=\"node started\"")
	d.signal(syscall.SIGTERM)
	d.next("msg=cleanup", "service=api") // the dependent first,
	d.next("msg=cleanup", "service=db")  // then what it requires
	d.next("msg=\"node stopped\"")
	if code := d.exit(20 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, strings.Join(d.log, "\n"))
	}
}

// writeApp writes files (name -> content) into a new directory.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// oneServiceApp is an app with one service of app:svc (svc.lua) with the
// given lifecycle.
func oneServiceApp(lifecycle string) string {
	return `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: svc, kind: process.lua, source: file://svc.lua, method: main, modules: [logger]}
  - name: one
    kind: process.service
    process: app:svc
    host: app:processes
    lifecycle: ` + lifecycle + "\n"
}

// stubbornLua is a service that ignores CANCEL, so it takes its whole
// stop_timeout to be terminated.
const stubbornLua = `
local logger = require("logger")
return {main = function()
  logger:info("deaf service up")
  process.inbox():receive()
end}
`

// Only the first signal is acted on: a second one while the node stops
// ends it at once, with 128 + the signal's number.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	dir := writeApp(t, map[string]string{"app.yaml": oneServiceApp("{auto_start: true, stop_timeout: 25s}"), "svc.lua": stubbornLua})
	d := startDaemon(t, "run", "--src", dir, "--set", "admin.addr=")
	d.next("msg=\"node started\"")
	d.signal(syscall.SIGTERM)
	first := time.Now()
	d.next("msg=stopping", "signal=terminated")
	// An operator's second signal comes later than a duplicate delivery
	// of the first (which is ignored, see the next test).
	time.Sleep(time.Until(first.Add(2 * duplicateWindow)))
	begin := time.Now()
	d.signal(syscall.SIGINT)
	if code := d.exit(5 * time.Second); code != 128+int(syscall.SIGINT) {
		t.Fatalf("exit %d, want %d\n%s", code, 128+int(syscall.SIGINT), strings.Join(d.log, "\n"))
	}
	if el := time.Since(begin); el > 3*time.Second {
		t.Fatalf("second signal took %v to end the node", el)
	}
	if !strings.Contains(strings.Join(d.log, "\n"), "exiting at once") {
		t.Fatalf("no word of the forced exit:\n%s", strings.Join(d.log, "\n"))
	}
}

// A SIGTERM while a service is still starting begins the stop at once
// instead of after the start (here the start would take a minute).
func TestSIGTERMDuringSlowServiceStart(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"app.yaml": oneServiceApp("{auto_start: true, start_timeout: 60s, stop_timeout: 1s}"),
		"svc.lua": `
local logger = require("logger")
logger:info("loading a slow chunk")
while true do end
return {main = function() end}
`,
	})
	d := startDaemon(t, "run", "--src", dir, "--set", "admin.addr=")
	d.next("loading a slow chunk")
	d.signal(syscall.SIGTERM)
	d.next("msg=stopping", "signal=terminated")
	if code := d.exit(10 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, strings.Join(d.log, "\n"))
	}
	if log := strings.Join(d.log, "\n"); strings.Contains(log, "node started") {
		t.Fatalf("the node finished its start before stopping:\n%s", log)
	}
}

// A -x program that returns while other processes still run: workers idle
// on their inbox (Wippy's usual shape), one spinning in Lua and one stuck
// in a builtin that cannot be interrupted. The node stops within about a
// second plus the time it gives up on what cannot be terminated, and a
// stop that had only idle workers to terminate logs no error.
func TestExecReturnsWithOthersRunning(t *testing.T) {
	const appYAML = `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: main, kind: process.lua, source: file://main.lua, method: main}
  - {name: idle, kind: process.lua, source: file://idle.lua, method: main}
  - {name: spin, kind: process.lua, source: file://spin.lua, method: main}
  - {name: stuck, kind: process.lua, source: file://stuck.lua, method: main}
`
	files := map[string]string{
		"app.yaml": appYAML,
		"idle.lua": `return {main = function() process.inbox():receive() end}`,
		"spin.lua": `return {main = function() while true do end end}`,
		// A backtracking pattern that runs for minutes.
		"stuck.lua": `return {main = function() return string.find(("a"):rep(30), ("a*"):rep(30) .. "b") end}`,
	}
	for _, c := range []struct {
		name    string
		spawn   string
		limit   time.Duration
		noError bool
	}{
		{"idle workers", `"app:idle", "app:idle", "app:idle"`, 3 * time.Second, true},
		{"spinning worker", `"app:idle", "app:spin"`, 3 * time.Second, true},
		{"stuck builtin", `"app:idle", "app:stuck"`, 10 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			files["main.lua"] = `return {main = function()
  for _, e in ipairs({` + c.spawn + `}) do process.spawn(e, "app:processes") end
  return 7
end}`
			dir := writeApp(t, files)
			begin := time.Now()
			d := startDaemon(t, "run", "--src", dir, "-x", "app:main")
			code := d.exit(c.limit + 5*time.Second)
			if el := time.Since(begin); code != 7 || el > c.limit {
				t.Fatalf("exit %d after %v, want 7 within %v\n%s", code, el, c.limit, strings.Join(d.log, "\n"))
			}
			if log := strings.Join(d.log, "\n"); c.noError && strings.Contains(log, "level=ERROR") {
				t.Fatalf("a normal stop logged an error:\n%s", log)
			}
		})
	}
}

// The first signal delivered twice at once (GNU timeout signals the command
// and its process group) is one request: the stop runs its course.
func TestDuplicateSignalIsOneStop(t *testing.T) {
	dir := writeApp(t, map[string]string{"app.yaml": servicesApp, "svc.lua": serviceLua})
	d := startDaemon(t, "run", "--src", dir, "--set", "admin.addr=")
	d.next("msg=\"node started\"")
	d.signal(syscall.SIGTERM)
	d.signal(syscall.SIGTERM)
	d.next("msg=cleanup", "service=api")
	d.next("msg=cleanup", "service=db")
	if code := d.exit(20 * time.Second); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, strings.Join(d.log, "\n"))
	}
}
