package node

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

const reloadApp = `version: "1.0"
namespace: app
entries:
  - name: util
    kind: library.lua
    source: file://util.lua
  - name: worker
    kind: process.lua
    source: file://worker.lua
    imports: {util: util}
  - name: plain
    kind: process.lua
    source: file://worker.lua
    imports: {util: util}
`

// worker reports its version, then on "check" sends every OUTDATED event
// it has by then; on "upgrade" it upgrades. With an argument it is
// upgradable.
const workerV1 = `local util = require("util")
return {main = function(report, upgradable)
  process.set_options({upgradable = upgradable})
  process.send(report, "version", util.version() .. "/w1")
  local inbox, events = process.inbox(), process.events()
  while true do
    local m = inbox:receive()
    if m:topic() == "check" then
      local out = {}
      while true do
        local r = channel.select{events:case_receive(), default = true}
        if r.default then break end
        local s = {}
        for _, id in ipairs(r.value.sources) do table.insert(s, id) end
        table.sort(s)
        table.insert(out, r.value.kind .. ":" .. table.concat(s, ","))
      end
      process.send(report, "events", table.concat(out, " "))
    elseif m:topic() == "upgrade" then
      process.upgrade(nil, report, upgradable)
    end
  end
end}
`

// syncLog collects a node's log lines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.b.String(), s)
}

// writeFile saves a file as editors do: a new file renamed over the old
// one, so that a reload never reads it half written.
func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// A node with node.watch reloads its tree when a file changes: an
// upgradable process running code that changed, or imports code that
// did, gets one OUTDATED event (one however many saves came before it
// looked), a process that did not opt in gets none, and a tree that does
// not load keeps the running code and logs where the problem is.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", reloadApp)
	writeFile(t, dir, "worker.lua", workerV1)
	writeFile(t, dir, "util.lua", `return {version = function() return "u1" end}`)
	reg, err := entry.Load(dir, compileLua)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncLog{}
	cfg := DefaultConfig()
	cfg.Node.Name, cfg.Admin.Addr, cfg.Node.Watch = "n1", "", true
	n := startTestNode(t, cfg, WithApp(reg), WithSourceDir(dir), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	await.Until(t, "the watcher", func() bool { return logs.has("watching the source tree") })

	got := make(chan native.Message, 16)
	report, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(_ *native.Ctx, m native.Message) error {
		got <- m
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	next := func(topic string) string {
		t.Helper()
		select {
		case m := <-got:
			s, _ := m.Payload.AsString()
			if m.Topic != topic {
				t.Fatalf("got %s %q, want %s", m.Topic, s, topic)
			}
			return s
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", topic)
		}
		return ""
	}
	spawn := func(entry string, upgradable bool) proc.SpawnRequest {
		return proc.SpawnRequest{Entry: entry, Args: []msg.Value{msg.String(report.String()), msg.Bool(upgradable)}}
	}
	worker, err := n.Runtime().Spawn(spawn("app:worker", true))
	if err != nil {
		t.Fatal(err)
	}
	if v := next("version"); v != "u1/w1" {
		t.Fatalf("version %q", v)
	}
	plain, err := n.Runtime().Spawn(spawn("app:plain", false))
	if err != nil {
		t.Fatal(err)
	}
	next("version")

	// A storm of saves of the library: 100 in a second, the same text
	// each time, so that however the reloads fall only the first one
	// finds a change.
	for range 100 {
		writeFile(t, dir, "util.lua", `return {version = function() return "u2" end}`)
		time.Sleep(10 * time.Millisecond)
	}
	await.Until(t, "the reload", func() bool { return logs.has("reload: source tree loaded") })
	n.Runtime().Send(report, worker, "check", msg.Nil)
	if ev := next("events"); ev != "OUTDATED:app:util,app:worker" {
		t.Fatalf("the upgradable worker's events: %q, want one OUTDATED", ev)
	}
	n.Runtime().Send(report, plain, "check", msg.Nil)
	if ev := next("events"); ev != "" {
		t.Fatalf("the plain process's events: %q, want none", ev)
	}
	// The reaction the docs suggest: upgrade(nil) runs the new code.
	n.Runtime().Send(report, worker, "upgrade", msg.Nil)
	if v := next("version"); v != "u2/w1" {
		t.Fatalf("after the upgrade: %q", v)
	}
	// A broken save: logged at its line, nothing else changes.
	writeFile(t, dir, "worker.lua", "return {main = function(\n  x = = 1\nend}\n")
	await.Until(t, "the problem logged", func() bool { return logs.has("worker.lua:2") })
	n.Runtime().Send(report, worker, "check", msg.Nil)
	if ev := next("events"); ev != "" {
		t.Fatalf("a tree that does not load told the worker: %q", ev)
	}
	// New spawns still get the last code that loaded.
	if _, err := n.Runtime().Spawn(spawn("app:worker", false)); err != nil {
		t.Fatal(err)
	}
	if v := next("version"); v != "u2/w1" {
		t.Fatalf("a new spawn after a broken save runs %q", v)
	}
}
