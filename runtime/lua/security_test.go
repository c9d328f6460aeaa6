package lua

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	rt "github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

var errNo = errors.New("denied by the test")

// denyOnly refuses the given "action resource" pairs.
func denyOnly(pairs ...string) func(action, resource string) error {
	return func(action, resource string) error {
		if slices.Contains(pairs, action+" "+resource) {
			return errNo
		}
		return nil
	}
}

func runMain(t *testing.T, h *harness, code string, modules ...string) proc.Result {
	t.Helper()
	h.cat.add("t:main", code, modules...)
	h.start("t:main")
	return h.finish()
}

func TestSecurityModule(t *testing.T) {
	h := newHarness(t)
	h.env.actor = &security.Actor{ID: "svc", Meta: map[string]any{"role": "admin", "level": int64(3), "tags": []string{"a", "b"}}}
	h.env.deny = denyOnly("data.read secret")
	res := runMain(t, h, `
local security = require("security")
return {main = function()
  local a = security.actor()
  local m = a:meta()
  m.role = "changed"
  local n = security.new_actor("bot", {kind = "robot", n = 1.5, ok = true, list = {1, "x"}})
  local nm = n:meta()
  local bad1, e1 = security.new_actor("", {})
  local bad2, e2 = security.new_actor("x", {f = function() end})
  local bad3, e3 = security.new_actor("x", {[1] = "y"})
  return {
    a:id(), a:meta().role, a:meta().level, a:meta().tags[2], tostring(a),
    n:id(), nm.kind, nm.n, nm.ok, nm.list[1], nm.list[2],
    e1:kind(), e2:kind(), e3:kind(),
    security.can("data.read", "secret"), security.can("data.read", "public", {tenant = "t1"}),
  }
end}`, "security")
	want := `["svc", "admin", 3, "b", "actor: svc", "bot", "robot", 1.5, true, 1, "x", "INVALID", "INVALID", "INVALID", false, true]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got  %v %v\nwant %s", res.Value, res.Err, want)
	}
	// No actor: security.actor() is nil. Unlisted, the module is absent.
	h = newHarness(t)
	res = runMain(t, h, `return {main = function() return require("security").actor() == nil end}`, "security")
	if res.Err != nil || res.Value.String() != "true" {
		t.Fatalf("no actor: %v %v", res.Value, res.Err)
	}
	h = newHarness(t)
	res = runMain(t, h, `return {main = function() return pcall(require, "security") end}`)
	if res.Err != nil || res.Value.String() != "false" {
		t.Fatalf("unlisted module: %v %v", res.Value, res.Err)
	}
}

func TestWithActor(t *testing.T) {
	h := newHarness(t)
	res := runMain(t, h, `
local security = require("security")
return {main = function()
  local a = security.new_actor("worker", {role = "worker"})
  local sp = process.with_context({}):with_actor(a)
  local p1 = sp:spawn("app:w", "app:procs")
  local p2 = sp:with_name("w2"):spawn_linked("app:w", "")
  local p3 = process.with_context({}):spawn("app:plain", "")
  return {p1 ~= nil, p2 ~= nil, p3 ~= nil}
end}`, "security")
	if res.Err != nil || res.Value.String() != "[true, true, true]" {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	s := h.env.spawns
	if len(s) != 3 || s[0].Actor == nil || s[0].Actor.ID != "worker" || s[0].Actor.Meta["role"] != "worker" ||
		s[1].Actor != s[0].Actor || s[1].Name != "w2" || s[2].Actor != nil {
		t.Fatalf("spawns %+v", s)
	}
	if !slices.Contains(h.env.checked, string(security.ActionSecurity)+" "+security.ResourceSecurity) ||
		!slices.Contains(h.env.checked, string(security.ActionContext)+" "+security.ResourceContext) {
		t.Fatalf("checks made: %v", h.env.checked)
	}

	// Denied builders return nil and a PERMISSION_DENIED error object.
	h = newHarness(t)
	h.env.deny = denyOnly(string(security.ActionSecurity) + " " + security.ResourceSecurity)
	res = runMain(t, h, `
local security = require("security")
return {main = function()
  local sp, err = process.with_context({}):with_actor(security.new_actor("x", {}))
  return {sp == nil, err:kind(), errors.is(err, errors.PERMISSION_DENIED), err:retryable()}
end}`, "security")
	if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED", true, false]` {
		t.Fatalf("denied with_actor: %v %v", res.Value, res.Err)
	}
	h = newHarness(t)
	h.env.deny = denyOnly(string(security.ActionContext) + " " + security.ResourceContext)
	res = runMain(t, h, `return {main = function()
  local sp, err = process.with_context({a = 1})
  return {sp == nil, err:kind()}
end}`)
	if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED"]` || len(h.env.spawns) != 0 {
		t.Fatalf("denied with_context: %v %v", res.Value, res.Err)
	}
}

// exec is checked as process.exec: the request says so.
func TestExecRequestIsMarked(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function() process.exec("app:w", "") end}`)
	h.start("t:main")
	h.settle()
	if len(h.env.spawns) != 1 || !h.env.spawns[0].Exec || !h.env.spawns[0].Monitor {
		t.Fatalf("spawns %+v", h.env.spawns)
	}
}

// A destination given by name is checked by name before the runtime
// checks the PID.
func TestControlByNameIsChecked(t *testing.T) {
	h := newHarness(t)
	target := pid.PID{Node: "n1", Host: "app:procs", Seq: 40}
	h.env.names["guarded"] = target
	h.env.names["open"] = target
	h.env.deny = func(action, resource string) error {
		if resource == "guarded" {
			return errNo
		}
		return nil
	}
	res := runMain(t, h, `return {main = function()
  local out = {}
  for _, f in ipairs({"monitor", "unmonitor", "link", "unlink", "terminate", "cancel"}) do
    local ok, err = process[f]("guarded")
    table.insert(out, err and err:kind() or "ok")
  end
  table.insert(out, (process.monitor("open")) and "ok" or "denied")
  return out
end}`)
	want := `["PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "ok"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	if len(h.env.links) != 1 || h.env.links[0] != "monitor "+target.String() {
		t.Fatalf("reached the runtime: %v", h.env.links)
	}
	for _, c := range []string{"process.monitor guarded", "process.cancel guarded", "process.monitor open"} {
		if !slices.Contains(h.env.checked, c) {
			t.Errorf("check %q not made: %v", c, h.env.checked)
		}
	}
}

// TestRegistryScopes: process.registry passes the scope to the runtime,
// which checks it (runtime's TestRegistryChecks); a scope that is not one
// of the four constants is INVALID before the runtime is asked.
func TestRegistryScopes(t *testing.T) {
	h := newHarness(t)
	res := runMain(t, h, `return {main = function()
  local r = process.registry
  local out = {}
  for _, s in ipairs({r.LOCAL, r.EVENTUAL, r.CONSISTENT, r.STRONG}) do
    local _, e = r.register("n", nil, s)
    table.insert(out, e and e:kind() or "ok")
  end
  local _, e = r.register("n", process.pid(), r.STRONG); table.insert(out, e:kind())
  _, e = r.register("n", 7); table.insert(out, e:kind())
  _, e = r.register("n", 1.5); table.insert(out, e:kind())
  local ok
  ok, e = r.unregister("n", -1); table.insert(out, tostring(ok) .. " " .. e:kind())
  ok, e = r.unregister("n", r.EVENTUAL); table.insert(out, tostring(ok) .. " " .. e:kind())
  return out
end}`)
	want := `["ok", "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE", "INVALID", "INVALID", "false INVALID", "false UNAVAILABLE"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v\nwant %s", res.Value, res.Err, want)
	}
	calls := []string{"register n local", "register n eventual", "register n consistent", "register n strong", "register n strong", "unregister n eventual"}
	var got []string
	for _, c := range h.env.checked {
		if strings.HasPrefix(c, "register ") || strings.HasPrefix(c, "unregister ") {
			got = append(got, c)
		}
	}
	if !slices.Equal(got, calls) {
		t.Fatalf("calls %v\nwant  %v", got, calls)
	}
}

func TestUpgradeIsCheckedAsSpawn(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:other", `return {main = function() return "upgraded" end}`)
	h.env.deny = denyOnly(string(security.ActionSpawn) + " t:other")
	res := runMain(t, h, `return {main = function() process.upgrade("t:other") end}`)
	if e := proc.AsError(res.Err); e == nil || e.Kind != proc.KindPermissionDenied {
		t.Fatalf("upgrade to a denied entry ended with %v %v", res.Value, res.Err)
	}
}

func TestEnvIsChecked(t *testing.T) {
	h := &harness{t: t, cat: newCatalog(), env: newFakeEnv(), logs: &bytes.Buffer{}}
	store := lualib.NewEnvMap(map[string]string{"PORT": "8080", "SECRET": "s3"})
	eng, err := New(Config{Catalog: h.cat, Env: store})
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	h.env.deny = denyOnly(string(security.ActionEnvGet)+" SECRET", string(security.ActionEnvSet)+" PORT")
	res := runMain(t, h, `
local env = require("env")
return {main = function()
  local s, e1 = env.get("SECRET")
  local ok, e2 = env.set("PORT", "1")
  local all = env.get_all()
  return {s == nil, e1:kind(), ok == nil, e2:kind(), env.get("PORT"), all.PORT, all.SECRET == nil, env.set("NEW", "v")}
end}`, "env")
	if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED", true, "PERMISSION_DENIED", "8080", "8080", true, true]` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	if v, _ := store.Get("PORT"); v != "8080" {
		t.Fatalf("a denied set changed PORT to %q", v)
	}
}

func TestIOIsChecked(t *testing.T) {
	var out bytes.Buffer
	cat := newCatalog()
	eng, err := New(Config{
		Catalog:       cat,
		Terminal:      &Terminal{Stdin: strings.NewReader("line\n"), Stdout: &out, Args: []string{"a"}},
		TerminalHosts: []string{"app:term"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cat.add("t:io", `
local io = require("io")
return {main = function()
  local out = {}
  for _, f in ipairs({"write", "print", "eprint", "readline", "read", "flush"}) do
    local v, err = io[f]("x")
    table.insert(out, err and err:kind() or "ok")
  end
  local args, err = io.args()
  table.insert(out, #args)
  table.insert(out, err:kind())
  return out
end}`, "io")
	env := newFakeEnv()
	env.self.Host = "app:term"
	env.deny = denyOnly(string(security.ActionIO) + " app:term")
	b, err := eng.Behavior("t:io", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, eng: eng, env: env, b: b, logs: &bytes.Buffer{}}
	res := h.finish()
	want := `["PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", "PERMISSION_DENIED", 0, "PERMISSION_DENIED"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	if out.Len() != 0 || env.blocking != 0 {
		t.Fatalf("denied io wrote %q, blocked %d times", out.String(), env.blocking)
	}
}

func mustPolicy(t *testing.T, spec security.PolicySpec) *security.Policy {
	t.Helper()
	p, err := security.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// On the real runtime: a denied send or spawn returns a PERMISSION_DENIED
// error object and the target sees nothing; with_actor narrows and never
// widens; children inherit their parent's actor.
func TestRuntimeSecurity(t *testing.T) {
	adminsOnly := mustPolicy(t, security.PolicySpec{ID: "app:admins-only", Effect: security.Deny,
		Actions: []string{string(security.ActionSend)}, Resources: []string{"app:system"},
		Conditions: []security.Condition{{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"}}})
	closed := mustPolicy(t, security.PolicySpec{ID: "app:closed", Effect: security.Deny, Actions: []string{string(security.ActionHost)}, Resources: []string{"app:system"}})
	n := newNodeWith(t, 2, func(c *rt.Config) {
		c.Hosts = []rt.HostConfig{{ID: "app:processes"}, {ID: "app:system", Policies: []*security.Policy{adminsOnly, closed}}}
	})
	n.cat.add("t:child", `
local security = require("security")
return {main = function(sys)
  local me = security.actor()
  local ok, err = process.send(sys, "from-child", me:id())
  if ok then return "sent as " .. me:id() end
  return err:kind() .. " as " .. me:id()
end}`, "security")
	n.cat.add("t:parent", `
local security = require("security")
return {main = function(sys, reply)
  local out = {security.actor():id()}
  local ok, err = process.send(sys, "hello", 1)
  table.insert(out, ok and "sent" or err:kind())
  local function child_as(actor)
    local sp = process.with_context({})
    if actor then sp = sp:with_actor(actor) end
    local v, e = sp:exec("t:child", "app:processes", sys)
    if e then return "exec: " .. tostring(e) end
    return v
  end
  table.insert(out, child_as(security.new_actor("guest", {role = "guest"})))
  table.insert(out, child_as(security.new_actor("root2", {role = "admin"})))
  table.insert(out, child_as(nil))
  local pid, serr = process.spawn("t:child", "app:system", sys)
  table.insert(out, pid == nil and serr:kind() or "spawned")
  process.send(reply, "result", out)
end}`, "security")
	for _, tc := range []struct {
		role string
		want string
		got  int // messages app:system receives
	}{
		{"admin", `["root", "sent", "PERMISSION_DENIED as guest", "sent as root2", "sent as root", "PERMISSION_DENIED"]`, 3},
		{"guest", `["root", "PERMISSION_DENIED", "PERMISSION_DENIED as guest", "PERMISSION_DENIED as root2", "PERMISSION_DENIED as root", "PERMISSION_DENIED"]`, 0},
	} {
		t.Run(tc.role, func(t *testing.T) {
			sys, sysOut := n.observeOn("app:system")
			reply, replyOut := n.observe(nil)
			_, err := n.rt.Spawn(proc.SpawnRequest{Entry: "t:parent", Host: "app:processes",
				Actor: &security.Actor{ID: "root", Meta: map[string]any{"role": tc.role}},
				Args:  []msg.Value{msg.String(sys.String()), msg.String(reply.String())}})
			if err != nil {
				t.Fatal(err)
			}
			d := n.wait(replyOut, proc.DeliveryMessage, 10*time.Second)
			if d.Payload.String() != tc.want {
				t.Fatalf("got  %s\nwant %s", d.Payload, tc.want)
			}
			// Every message that reached app:system is one the policy
			// allowed; a marker sent last shows nothing else is queued.
			if err := n.rt.Send(pid.PID{}, sys, "marker", msg.Nil); err != nil {
				t.Fatal(err)
			}
			got := 0
			for {
				m := n.wait(sysOut, proc.DeliveryMessage, 10*time.Second)
				if m.Topic == "marker" {
					break
				}
				got++
			}
			if got != tc.got {
				t.Fatalf("app:system received %d messages, want %d", got, tc.got)
			}
		})
	}
}

// observeOn is observe on a given host.
func (n *node) observeOn(hostID string) (pid.PID, <-chan proc.Delivery) {
	n.t.Helper()
	o := &observer{out: make(chan proc.Delivery, 4096)}
	p, err := n.rt.Spawn(proc.SpawnRequest{Entry: "test:observer", Host: hostID, Behavior: o})
	if err != nil {
		n.t.Fatal(err)
	}
	return p, o.out
}
