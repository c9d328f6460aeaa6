package supervisor_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/supervisor"
)

const specApp = `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: worker, kind: process.lua, source: file://worker.lua, method: main}
  - name: db
    kind: process.service
    process: worker
    host: processes
    lifecycle: {auto_start: true}
  - name: api
    kind: process.service
    process: worker
    host: processes
    input: [1, "two"]
    lifecycle:
      auto_start: true
      depends_on: [db]
      start_timeout: 2s
      stop_timeout: 3s
      stable_threshold: 0
      restart: {max_attempts: 3, delay: 0, max_delay: 10s, backoff_factor: 1.5, jitter: 0}
`

func loadSpecs(t *testing.T, files map[string]string) ([]supervisor.ServiceSpec, error) {
	t.Helper()
	fsys := fstest.MapFS{}
	for p, s := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(s)}
	}
	reg, err := entry.LoadFS(fsys, ".", nil) // specs only: the Lua code is not run
	if err != nil {
		return nil, err
	}
	return supervisor.SpecsOf(reg.Services())
}

// TestSpecsOf: the loaded lifecycle becomes the spec and policy the
// manager runs, in dependency order.
func TestSpecsOf(t *testing.T) {
	specs, err := loadSpecs(t, map[string]string{
		"app.yaml":   specApp,
		"worker.lua": "return {main = function() end}\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].ID != "app:db" || specs[1].ID != "app:api" {
		t.Fatalf("specs %+v", specs)
	}
	db, api := specs[0], specs[1]
	if db.Policy != supervisor.DefaultPolicy() || !db.AutoStart || db.Process != "app:worker" || db.Host != "app:processes" {
		t.Fatalf("db %+v", db)
	}
	want := supervisor.Policy{MaxAttempts: 3, InitialDelay: 0, MaxDelay: 10 * time.Second, BackoffFactor: 1.5,
		Jitter: 0, StableThreshold: 0, StartTimeout: 2 * time.Second, StopTimeout: 3 * time.Second}
	if api.Policy != want {
		t.Fatalf("api policy %+v, want %+v", api.Policy, want)
	}
	if !slices.Equal(api.Requires, []string{"app:db"}) || len(api.Input) != 2 || !msg.Equal(api.Input[1], msg.String("two")) {
		t.Fatalf("api %+v", api)
	}
	if api.Entry == nil || api.Entry.ID != "app:api" {
		t.Fatalf("api entry %v", api.Entry)
	}
	if _, err := supervisor.SpecOf(api.Entry); err != nil {
		t.Fatal(err)
	}
	if _, err := supervisor.SpecOf(&entry.Entry{ID: "app:x"}); !errors.Is(err, supervisor.ErrInvalidConfig) {
		t.Fatalf("SpecOf(not a service) = %v", err)
	}
}

// TestCycleRejectedAtLoad: a requires cycle is a load error naming the
// cycle, before anything starts; the manager rejects one too.
func TestCycleRejectedAtLoad(t *testing.T) {
	_, err := loadSpecs(t, map[string]string{
		"app.yaml": `version: "1.0"
namespace: app
entries:
  - {name: processes, kind: process.host}
  - {name: worker, kind: process.lua, source: file://worker.lua, method: main}
  - {name: a, kind: process.service, process: worker, host: processes, lifecycle: {requires: [b]}}
  - {name: b, kind: process.service, process: worker, host: processes, lifecycle: {depends_on: [a]}}
`,
		"worker.lua": "return {main = function() end}\n",
	})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("load error %v, want a cycle", err)
	}
	_, err = supervisor.NewManager(supervisor.ManagerConfig{
		Processes: nopProcesses{},
		Services: []supervisor.ServiceSpec{
			{ID: "app:a", Requires: []string{"app:b"}, Policy: supervisor.DefaultPolicy()},
			{ID: "app:b", Requires: []string{"app:a"}, Policy: supervisor.DefaultPolicy()},
		},
	})
	if !errors.Is(err, supervisor.ErrCycle) || err.Error() != "supervisor: dependency cycle: app:a -> app:b -> app:a" {
		t.Fatalf("NewManager = %v", err)
	}
}

// nopProcesses refuses every start.
type nopProcesses struct{}

func (nopProcesses) Start(supervisor.ServiceSpec) (pid.PID, error) {
	return pid.PID{}, errors.New("no processes here")
}
func (nopProcesses) Cancel(pid.PID, string) error { return nil }
func (nopProcesses) Terminate(pid.PID) error      { return nil }
