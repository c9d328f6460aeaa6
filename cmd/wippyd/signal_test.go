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

// SIGTERM stops services in reverse dependency order, each getting CANCEL
// and running its cleanup, and the node exits 0.
func TestSIGTERMStopsServicesInReverseOrder(t *testing.T) {
	bin := wippydBinary(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(servicesApp), 0o644)
	os.WriteFile(filepath.Join(dir, "svc.lua"), []byte(serviceLua), 0o644)
	cmd := exec.Command(bin, "run", "--src", dir, "--set", "admin.addr=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log []string
	next := func(want ...string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stderr ended before %q:\n%s", want, strings.Join(log, "\n"))
				}
				log = append(log, l)
				all := true
				for _, w := range want {
					all = all && strings.Contains(l, w)
				}
				if all {
					return
				}
			case <-deadline:
				t.Fatalf("no %q within 20s:\n%s", want, strings.Join(log, "\n"))
			}
		}
	}
	next("msg=\"service running\"", "service=app:db")
	next("msg=\"service running\"", "service=app:api")
	next("msg=\"node started\"")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("msg=cleanup", "service=api") // the dependent first,
	next("msg=cleanup", "service=db")  // then what it requires
	next("msg=\"node stopped\"")
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, strings.Join(log, "\n"))
	}
}
