package lua

import (
	"slices"
	"testing"
	"time"

	rt "github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// The docs' examples of en/lua/core/context.md, process.md (spawner
// options) and en/lua/security/security.md (scopes and policies), on a
// fake Env that records every check.

func TestCtxModule(t *testing.T) {
	h := newHarness(t)
	h.env.context = msg.StringMap(map[string]msg.Value{"request_id": msg.String("123"), "n": msg.Int(7),
		"nested": msg.List(msg.String("a"), msg.Bool(true))})
	res := runMain(t, h, `
local ctx = require("ctx")
return {main = function()
  local value, err = ctx.get("request_id")
  local all, aerr = ctx.all()
  local _, e1 = ctx.get("")
  local missing, e2 = ctx.get("nope")
  all.n = 8 -- a copy: the context stays as it was
  return {value, err == nil, all.request_id, all.nested[2], aerr == nil, e1:kind(), missing == nil, e2:kind(),
    e2:retryable(), ctx.get("n")}
end}`, "ctx")
	want := `["123", true, "123", true, true, "INVALID", true, "NOT_FOUND", false, 7]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got  %v %v\nwant %s", res.Value, res.Err, want)
	}
	// No context values: an empty table, every key NOT_FOUND.
	h = newHarness(t)
	res = runMain(t, h, `local ctx = require("ctx")
return {main = function() local _, e = ctx.get("k"); return {next(ctx.all()) == nil, e:kind()} end}`, "ctx")
	if res.Err != nil || res.Value.String() != `[true, "NOT_FOUND"]` {
		t.Fatalf("no context: %v %v", res.Value, res.Err)
	}
}

// A spawner's context values reach the request, merged across builders.
func TestSpawnerContextAndOptions(t *testing.T) {
	h := newHarness(t)
	res := runMain(t, h, `return {main = function()
  local sp = process.with_context({request_id = "123"}):with_context({user = "ada"})
  local p1 = sp:spawn("app:w", "app:procs")
  local spo = process.with_options({network = "app:tor_proxy"})
  local p2 = spo:with_context({k = 1}):with_options({network = "app:other"}):spawn("app:w", "")
  local bad, e1 = process.with_options({netwrok = "x"})
  local bad2, e2 = process.with_options({network = 5})
  local bad3, e3 = sp:with_options({timeout = "1s"})
  return {p1 ~= nil, p2 ~= nil, bad == nil, e1:kind(), e1:message(), e2:kind(), e3:kind()}
end}`)
	want := `[true, true, true, "INVALID", "unknown spawn option \"netwrok\" (wippyd knows: network)", "INVALID", "INVALID"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got  %v %v\nwant %s", res.Value, res.Err, want)
	}
	s := h.env.spawns
	if len(s) != 2 || s[0].Context.String() != `{"request_id": "123", "user": "ada"}` || s[1].Context.String() != `{"k": 1}` {
		t.Fatalf("spawns %+v", s)
	}
	for _, c := range []string{"process.context context", "network.select app:tor_proxy", "network.select app:other"} {
		if !slices.Contains(h.env.checked, c) {
			t.Errorf("check %q not made: %v", c, h.env.checked)
		}
	}
	// A denied network.select refuses the builder.
	h = newHarness(t)
	h.env.deny = denyOnly("network.select app:tor_proxy")
	res = runMain(t, h, `return {main = function()
  local sp, err = process.with_options({network = "app:tor_proxy"})
  return {sp == nil, err:kind()}
end}`)
	if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED"]` {
		t.Fatalf("denied network: %v %v", res.Value, res.Err)
	}
}

func docsPolicies(t *testing.T) (*security.Guard, []*security.Policy) {
	t.Helper()
	read := mustCompile(t, security.PolicySpec{ID: "app:read", Actions: []string{"*.read"}, Resources: []string{"*"}, Effect: security.Allow, Groups: []string{"default"}})
	write := mustCompile(t, security.PolicySpec{ID: "app:write", Actions: []string{"*.write"}, Resources: []string{"*"}, Effect: security.Allow})
	admin := mustCompile(t, security.PolicySpec{ID: "app.security:admin_policy", Actions: []string{"*"}, Resources: []string{"*"}, Effect: security.Allow,
		Conditions: []security.Condition{{Field: "actor.meta.role", Operator: security.OpEq, Value: "admin"}}, Groups: []string{"admin"}})
	noDelete := mustCompile(t, security.PolicySpec{ID: "app:no-delete", Actions: []string{"delete"}, Resources: []string{"user:*"}, Effect: security.Deny})
	table := map[string]*security.Policy{}
	all := []*security.Policy{read, write, admin, noDelete}
	for _, p := range all {
		table[p.ID()] = p
	}
	return security.NewGuard(security.GuardConfig{Node: "n1", Policies: table}), all
}

func mustCompile(t *testing.T, spec security.PolicySpec) *security.Policy {
	t.Helper()
	p, err := security.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSecurityScopesAndPolicies(t *testing.T) {
	h := newHarness(t)
	h.env.guard, _ = docsPolicies(t)
	h.env.scope = []*security.Policy{h.env.guard.Policy("app:read")}
	res := runMain(t, h, `
local security = require("security")
return {main = function()
  local out = {}
  local function add(v) table.insert(out, v) end
  -- security.scope(): the caller's own
  local mine = security.scope()
  add(#mine:policies()); add(mine:policies()[1]:id())
  -- new_scope, with, without, contains (immutable)
  local scope = security.new_scope()
  local policy1 = security.policy("app:read")
  local policy2 = security.policy("app:write")
  local both = scope:with(policy1):with(policy2)
  add(#scope:policies()); add(#both:policies())
  add(both:contains("app:write")); add(both:without("app:write"):contains("app:write")); add(both:contains("app:write"))
  add(#security.new_scope({policy1, policy2, policy1}):policies())
  -- evaluate: allow, deny, undefined
  local actor = security.new_actor("user:123", {role = "user"})
  add(both:evaluate(actor, "document.read", "document:1"))
  add(both:evaluate(actor, "delete", "user:123"))
  local guard = both:with(security.policy("app:no-delete"))
  add(guard:evaluate(actor, "delete", "user:123"))
  add(policy1:evaluate(actor, "users.read", "users"))
  add(security.policy("app:no-delete"):evaluate(nil, "delete", "user:1"))
  -- named scopes, plain and namespaced
  local admin_scope = security.named_scope("app.security:admin")
  add(admin_scope:evaluate(security.new_actor("root", {role = "admin"}), "delete", "user:123"))
  add(#security.named_scope("default"):policies())
  -- what does not exist
  local p, e1 = security.policy("app:nope")
  local s, e2 = security.named_scope("ghosts")
  local ts, e3 = security.token_store("app:tokens")
  add(p == nil); add(e1:kind()); add(s == nil); add(e2:kind()); add(ts == nil); add(e3:kind())
  add(tostring(both)); add(tostring(policy1))
  return out
end}`, "security")
	want := `[1, "app:read", 0, 2, true, false, true, 2, "allow", "undefined", "deny", "allow", "deny", "allow", 1, true, "INTERNAL", true, "INTERNAL", true, "INTERNAL", "scope: [app:read, app:write]", "policy: app:read"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got  %v %v\nwant %s", res.Value, res.Err, want)
	}
	for _, c := range []string{"security.scope.create custom", "security.policy.get app:read", "security.policy_group.get app.security:admin",
		"security.actor.create user:123"} {
		if !slices.Contains(h.env.checked, c) {
			t.Errorf("check %q not made: %v", c, h.env.checked)
		}
	}
	// Each is refused on its own action.
	for _, tc := range []struct{ deny, code string }{
		{"security.policy.get app:read", `security.policy("app:read")`},
		{"security.policy_group.get default", `security.named_scope("default")`},
		{"security.scope.create custom", `security.new_scope()`},
		{"security.actor.create bob", `security.new_actor("bob", {})`},
	} {
		h = newHarness(t)
		h.env.guard, _ = docsPolicies(t)
		h.env.deny = denyOnly(tc.deny)
		res = runMain(t, h, `local security = require("security")
return {main = function() local v, err = `+tc.code+` return {v == nil, err:kind()} end}`, "security")
		if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED"]` {
			t.Errorf("%s denied: %v %v", tc.code, res.Value, res.Err)
		}
	}
}

// spawner:with_scope narrows like :with_actor: the request carries the
// scope's policies, under process.security.
func TestWithScope(t *testing.T) {
	h := newHarness(t)
	h.env.guard, _ = docsPolicies(t)
	res := runMain(t, h, `local security = require("security")
return {main = function()
  local scope = security.new_scope():with(security.policy("app:read"))
  local actor = security.new_actor("user:1", {})
  local p = process.with_context({}):with_actor(actor):with_scope(scope):spawn("app:w", "")
  local q = process.with_context({}):with_scope(security.new_scope()):spawn("app:w", "")
  local bad, err = pcall(function() return process.with_context({}):with_scope("app:read") end)
  return {p ~= nil, q ~= nil, bad}
end}`, "security")
	if res.Err != nil || res.Value.String() != `[true, true, false]` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	s := h.env.spawns
	if len(s) != 2 || s[0].Actor == nil || s[0].Actor.ID != "user:1" || len(s[0].Scope) != 1 || s[0].Scope[0].ID() != "app:read" ||
		s[1].Actor != nil || len(s[1].Scope) != 0 {
		t.Fatalf("spawns %+v", s)
	}
	h = newHarness(t)
	h.env.deny = denyOnly("process.security security")
	res = runMain(t, h, `local security = require("security")
return {main = function()
  local sp, err = process.with_context({}):with_scope(security.new_scope())
  return {sp == nil, err:kind()}
end}`, "security")
	if res.Err != nil || res.Value.String() != `[true, "PERMISSION_DENIED"]` {
		t.Fatalf("denied with_scope: %v %v", res.Value, res.Err)
	}
}

// security.can on the real runtime, strict mode: an expression policy on
// the caller's host sees meta with its types (the docs' flexible_access:
// meta.public == true), and a process narrowed to a scope answers for
// every layer.
func TestCanKeepsTypes(t *testing.T) {
	flexible := mustCompile(t, security.PolicySpec{ID: "app:flexible", Actions: []string{"read", "write"}, Resources: []string{"file:*"},
		Effect: security.Allow, Expression: `(action == "read" && meta.public == true) || actor.id == meta.owner`})
	everything := mustCompile(t, security.PolicySpec{ID: "app:everything", Actions: []string{"process.*", "security.*"}, Resources: []string{"*"}, Effect: security.Allow})
	n := newNodeWith(t, 2, func(c *rt.Config) {
		c.StrictMode = true
		c.Hosts = []rt.HostConfig{{ID: "app:processes", Policies: []*security.Policy{flexible, everything}}}
		c.Policies = map[string]*security.Policy{flexible.ID(): flexible, everything.ID(): everything}
	})
	n.cat.add("t:main", `local security = require("security")
return {main = function(reply)
  process.send(reply, "result", {
    security.can("read", "file:a", {public = true}),
    security.can("read", "file:a", {public = "true"}),
    security.can("write", "file:a", {owner = "u1"}),
    security.can("write", "file:a", {owner = "u2"}),
    security.can("read", "db:a", {public = true}),
  })
end}`, "security")
	reply, out := n.observe(nil)
	if _, err := n.rt.Spawn(proc.SpawnRequest{Entry: "t:main", Actor: &security.Actor{ID: "u1"}, Args: []msg.Value{msg.String(reply.String())}}); err != nil {
		t.Fatal(err)
	}
	if d := n.wait(out, proc.DeliveryMessage, 10*time.Second); d.Payload.String() != "[true, false, true, false, false]" {
		t.Fatalf("got %v", d.Payload)
	}
}
