package node

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
)

const failingApp = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
  - name: crash
    kind: process.lua
    source: file://crash.lua
    method: main
  - name: flaky
    kind: process.service
    process: app:crash
    host: app:processes
    lifecycle:
      auto_start: true
      restart: {max_attempts: 2, initial_delay: 0s}
`

func TestServiceFailsThenRestartsOverAdmin(t *testing.T) {
	app, err := entry.LoadFS(fstest.MapFS{
		"app.yaml":  {Data: []byte(failingApp)},
		"crash.lua": {Data: []byte(`return {main = function() process.inbox():receive(); error("always") end}`)},
	}, ".", compileLua)
	if err != nil {
		t.Fatal(err)
	}
	cfg := LoopbackConfig("svc")
	cfg.Node.Workers = 2
	cfg.Admin.Addr = "127.0.0.1:0"
	n, err := New(cfg, WithApp(app), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The service ignores CANCEL: a short stop, then it is terminated.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		n.Stop(ctx)
	})
	state := func() ServiceStatus {
		_, body := get(t, n, "GET", "/v1/status")
		var st Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Services) != 1 {
			t.Fatalf("services %+v", st.Services)
		}
		return st.Services[0]
	}
	// Make every run crash: poke the current process until the service fails.
	await.NoError(t, "the service failed", func() error {
		s := state()
		if s.State == "failed" {
			return nil
		}
		if s.PID != "" {
			poke(t, n, s.PID)
		}
		return fmt.Errorf("service %+v", s)
	})
	if s := state(); s.Restarts != 2 || s.LastError == "" {
		t.Fatalf("failed service %+v", s)
	}
	_, scrape := get(t, n, "GET", "/metrics")
	if v := metricValue(t, scrape, `wippy_service_restarts_total{service="app:flaky"}`); v != 2 {
		t.Fatalf("restarts metric %v", v)
	}
	if code, body := get(t, n, "POST", "/v1/services/app:flaky/restart"); code != 202 {
		t.Fatalf("restart: %d %s", code, body)
	}
	await.NoError(t, "the service running after an operator restart", func() error {
		if s := state(); s.State != "running" {
			return fmt.Errorf("service %+v", s)
		}
		return nil
	})
	if code, _ := get(t, n, "POST", "/v1/services/app:nope/restart"); code != 404 {
		t.Fatalf("restart of an unknown service: %d", code)
	}
}

// poke sends the service process a message, which makes it crash.
func poke(t *testing.T, n *Node, p string) {
	t.Helper()
	id, err := pid.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	n.Runtime().Send(pid.PID{}, id, "poke", msg.Nil)
}
