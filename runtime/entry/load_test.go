package entry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/security"
)

// tree builds an in-memory source tree from path -> content.
func tree(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, s := range files {
		m[p] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

const goodLua = "local function main(a, b)\n  return a\nend\nreturn {main = main}\n"

const fullApp = `version: "1.0"
namespace: app
entries:
  - name: processes
    kind: process.host
    lifecycle: {auto_start: true}
    host: {workers: 2, local_queue_size: 64, queue_size: 100, max_processes: 1000, max_mailbox: 50, max_memory: 64MiB, cancel_timeout: 3s}
    security: {policies: [no-system], groups: [sandbox]}
  - name: terminal
    kind: terminal.host
    hide_logs: true
  - name: util
    kind: library.lua
    source: file://lib/util.lua
    modules: [json]
  - name: worker
    kind: process.lua
    source: file://worker.lua
    modules: [time, logger]
    imports: {util: util, other: lib:strings}
  - name: db
    kind: process.service
    process: worker
    host: processes
    lifecycle: {auto_start: true}
  - name: api
    kind: process.service
    process: app:worker
    host: app:processes
    input: [1, "two", 3.5, true, null, {k: [v]}]
    lifecycle:
      auto_start: true
      depends_on: [db]
      start_timeout: 2s
      stop_timeout: 3s
      stable_threshold: 0
      restart: {max_attempts: 3, delay: 500ms, max_delay: 10s, backoff_factor: 1.5, jitter: 0}
      security:
        actor: {id: system, meta: {role: admin}}
        policies: [no-system]
        groups: [sandbox]
  - name: no-system
    kind: security.policy
    groups: [sandbox]
    policy:
      actions: [process.send, process.spawn]
      resources: "app:system.*"
      effect: deny
      conditions:
        - {field: actor.meta.role, operator: ne, value: admin}
        - {field: actor.id, operator: eq, value_from: meta.owner}
        - {field: resource, operator: matches, value: "^app:.*$"}
        - {field: action, operator: in, value: [process.send]}
  - name: allow-all
    kind: security.policy
    policy: {actions: "*", resources: "*", effect: allow}
  - name: port
    kind: env.variable
    variable: PORT
    default: 8080
  - name: gateway
    kind: http.service
    addr: ":8080"
`

const libApp = `version: "1.0"
namespace: lib
entries:
  - {name: strings, kind: library.lua, source: file://strings.lua}
`

func fullTree() fstest.MapFS {
	return tree(map[string]string{
		"app/app.yaml":     fullApp,
		"app/worker.lua":   goodLua,
		"app/lib/util.lua": "return {}\n",
		"lib/lib.yml":      libApp,
		"lib/strings.lua":  "return {upper = string.upper}\n",
		"README.md":        "not yaml",
		".hidden/x.yaml":   "garbage: [",
	})
}

func mustLoad(t *testing.T, fsys fstest.MapFS) *Registry {
	t.Helper()
	r, err := LoadFS(fsys, ".", compileLua)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return r
}

func TestLoadFullTree(t *testing.T) {
	r := mustLoad(t, fullTree())

	h, ok := r.Get("app:processes")
	if !ok || h.Host == nil {
		t.Fatalf("app:processes: %+v", h)
	}
	wantHost := Host{AutoStart: true, Workers: 2, LocalQueueSize: 64, QueueSize: 100, MaxProcesses: 1000,
		MaxMailbox: 50, MaxMemory: 64 << 20, CancelTimeout: 3 * time.Second,
		Security: Security{Policies: []string{"app:no-system"}, Groups: []string{"sandbox"}}}
	if !hostEqual(*h.Host, wantHost) {
		t.Errorf("host = %+v, want %+v", *h.Host, wantHost)
	}
	if h.File != "app/app.yaml" || h.Line != 4 || h.Namespace != "app" || h.Name != "processes" {
		t.Errorf("host position = %s:%d %s %s", h.File, h.Line, h.Namespace, h.Name)
	}
	term, _ := r.Get("app:terminal")
	if !term.Host.Terminal || !term.Host.HideLogs || term.Host.AutoStart || term.Host.MaxMemory != DefaultMaxMemory {
		t.Errorf("terminal = %+v", *term.Host)
	}

	w, _ := r.Get("app:worker")
	if w.Lua.Method != "main" || !slices.Equal(w.Lua.Modules, []string{"time", "logger"}) {
		t.Errorf("worker = %+v", *w.Lua)
	}
	if w.Lua.Imports["util"] != "app:util" || w.Lua.Imports["other"] != "lib:strings" || len(w.Lua.Imports) != 2 {
		t.Errorf("imports = %v", w.Lua.Imports)
	}
	src := w.Lua.Source
	if string(src.Code) != goodLua || src.Path != "app/worker.lua" || src.Name != "app/worker.lua" ||
		src.URI != "file://worker.lua" || src.Compiled == nil {
		t.Errorf("source = %+v", src)
	}
	if sum := sha256.Sum256([]byte(goodLua)); src.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash = %q", src.Hash)
	}
	util, _ := r.Get("app:util")
	if util.Lua.Method != "" || util.Lua.Source.Path != "app/lib/util.lua" {
		t.Errorf("library = %+v", *util.Lua)
	}

	api, _ := r.Get("app:api")
	s := api.Service
	wantRestart := Restart{MaxAttempts: 3, InitialDelay: 500 * time.Millisecond, MaxDelay: 10 * time.Second, BackoffFactor: 1.5}
	if s.Process != "app:worker" || s.Host != "app:processes" || !s.AutoStart ||
		!slices.Equal(s.Requires, []string{"app:db"}) || s.StartTimeout != 2*time.Second ||
		s.StopTimeout != 3*time.Second || s.StableThreshold != 0 || s.Restart != wantRestart {
		t.Errorf("api = %+v", *s)
	}
	wantInput := []msg.Value{msg.Int(1), msg.String("two"), msg.Float(3.5), msg.Bool(true), msg.Nil,
		msg.StringMap(map[string]msg.Value{"k": msg.List(msg.String("v"))})}
	if len(s.Input) != len(wantInput) {
		t.Fatalf("input = %v", s.Input)
	}
	for i := range wantInput {
		if !msg.Equal(s.Input[i], wantInput[i]) {
			t.Errorf("input[%d] = %v, want %v", i, s.Input[i], wantInput[i])
		}
	}
	if s.Actor == nil || s.Actor.ID != "system" || s.Actor.Meta["role"] != "admin" {
		t.Errorf("actor = %+v", s.Actor)
	}
	if !slices.Equal(s.Security.Policies, []string{"app:no-system"}) || !slices.Equal(s.Security.Groups, []string{"sandbox"}) {
		t.Errorf("security = %+v", s.Security)
	}

	db, _ := r.Get("app:db")
	wantDefaults := Restart{InitialDelay: time.Second, MaxDelay: 90 * time.Second, BackoffFactor: 2, Jitter: 0.1}
	if db.Service.Restart != wantDefaults || db.Service.StartTimeout != 10*time.Second ||
		db.Service.StopTimeout != 10*time.Second || db.Service.StableThreshold != 5*time.Second ||
		db.Service.Actor != nil || db.Service.Input != nil {
		t.Errorf("db defaults = %+v", *db.Service)
	}

	p, _ := r.Get("app:no-system")
	pol := p.Policy.Spec()
	if pol.ID != "app:no-system" || pol.Effect != security.Deny || !slices.Equal(pol.Actions, []string{"process.send", "process.spawn"}) ||
		!slices.Equal(pol.Resources, []string{"app:system.*"}) || !slices.Equal(pol.Groups, []string{"sandbox"}) ||
		len(pol.Conditions) != 4 {
		t.Fatalf("policy = %+v", pol)
	}
	c := pol.Conditions
	if c[0].Field != "actor.meta.role" || c[0].Operator != security.OpNe || c[0].Value != "admin" {
		t.Errorf("cond 0 = %+v", c[0])
	}
	if c[1].ValueFrom != "meta.owner" || c[1].Value != nil {
		t.Errorf("cond 1 = %+v", c[1])
	}
	if re, _ := c[2].Value.(string); c[2].Operator != security.OpMatches || !regexp.MustCompile(re).MatchString("app:x") {
		t.Errorf("cond 2 = %+v", c[2])
	}
	if l, _ := c[3].Value.([]any); c[3].Operator != security.OpIn || len(l) != 1 {
		t.Errorf("cond 3 = %+v", c[3])
	}
	all, _ := r.Get("app:allow-all")
	if spec := all.Policy.Spec(); !slices.Equal(spec.Actions, []string{"*"}) || spec.Effect != security.Allow {
		t.Errorf("allow-all = %+v", spec)
	}

	env, _ := r.Get("app:port")
	if *env.Env != (EnvVariable{Variable: "PORT", Default: "8080", HasDefault: true}) {
		t.Errorf("env = %+v", *env.Env)
	}

	if _, ok := r.Get("app:gateway"); ok {
		t.Error("skipped entry is in the registry")
	}
	if k, ok := r.Skipped("app:gateway"); !ok || k != "http.service" {
		t.Errorf("skipped = %q %v", k, ok)
	}
	wantWarn := []string{"app/app.yaml:62: app:gateway: kind http.service is not implemented by wippyd; entry skipped"}
	if got := problemStrings(r.Warnings()); !slices.Equal(got, wantWarn) {
		t.Errorf("warnings = %q, want %q", got, wantWarn)
	}

	if got := ids(r.Services()); !slices.Equal(got, []string{"app:db", "app:api"}) {
		t.Errorf("services = %v", got)
	}
	if got := ids(r.ByKind(KindLibraryLua)); !slices.Equal(got, []string{"app:util", "lib:strings"}) {
		t.Errorf("libraries = %v", got)
	}
	if got := len(r.All()); got != 10 {
		t.Errorf("all = %d entries, want 10", got)
	}
}

func hostEqual(a, b Host) bool {
	return a.Terminal == b.Terminal && a.AutoStart == b.AutoStart && a.Workers == b.Workers &&
		a.LocalQueueSize == b.LocalQueueSize && a.QueueSize == b.QueueSize && a.MaxProcesses == b.MaxProcesses &&
		a.MaxMailbox == b.MaxMailbox && a.MaxMemory == b.MaxMemory && a.CancelTimeout == b.CancelTimeout && a.HideLogs == b.HideLogs &&
		slices.Equal(a.Security.Policies, b.Security.Policies) && slices.Equal(a.Security.Groups, b.Security.Groups)
}

func ids(es []*Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// Each source file is compiled once, however many entries use it, with
// the CompileLua given to Load; what it returns is kept, a CodeError goes
// to its line of the Lua file, any other error to the entry's source
// field; without a CompileLua the code is only read.
func TestLoadCompilesEachSourceOnce(t *testing.T) {
	fsys := tree(map[string]string{
		"a.yaml": head + procEntry +
			"  - {name: q, kind: process.lua, source: file://p.lua}\n" +
			"  - {name: r, kind: process.lua,\n     source: file://r.lua}\n",
		"p.lua": "return {}",
		"r.lua": "-- r",
	})
	calls := map[string]int{}
	compile := func(code []byte, name string) (any, error) {
		calls[name]++
		if name == "r.lua" {
			return nil, errors.New("out of registers")
		}
		return "compiled " + string(code), nil
	}
	_, err := LoadFS(fsys, ".", compile)
	var le *LoadErrors
	if !errors.As(err, &le) || !slices.Equal(problemStrings(le.Problems), []string{"a.yaml:7: app:r: out of registers"}) {
		t.Fatalf("load: %v", err)
	}
	if calls["p.lua"] != 1 || calls["r.lua"] != 1 {
		t.Errorf("compile calls %v, want one per file", calls)
	}
	delete(fsys, "r.lua")
	fsys["a.yaml"].Data = []byte(head + procEntry + "  - {name: q, kind: process.lua, source: file://p.lua}\n")
	r, err := LoadFS(fsys, ".", compile)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"app:p", "app:q"} {
		if e, _ := r.Get(id); e.Lua.Source.Compiled != "compiled return {}" {
			t.Errorf("%s compiled = %v", id, e.Lua.Source.Compiled)
		}
	}
	r, err = LoadFS(tree(map[string]string{"a.yaml": head + procEntry, "p.lua": "return {"}), ".", nil)
	if err != nil {
		t.Fatalf("without a compiler the code is not checked: %v", err)
	}
	if e, _ := r.Get("app:p"); e.Lua.Source.Compiled != nil || string(e.Lua.Source.Code) != "return {" {
		t.Errorf("source without a compiler = %+v", e.Lua.Source)
	}
}
