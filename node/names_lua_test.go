package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The names of a Lua app, as a Wippy user writes them from
// en/lua/core/process.md: a holder registers one name in each scope and
// answers pings; a probe on another node looks them up, sends to them,
// tries to take them and gets the documented errors.
const namesApp = `version: "1.0"
namespace: names
entries:
  - {name: holder, kind: process.lua, source: file://holder.lua, method: main}
  - {name: probe, kind: process.lua, source: file://probe.lua, method: main, modules: [time]}
`

const holderLua = `
local function main()
  local r = process.registry
  assert(r.register("h.local"))
  assert(r.register("h.eventual", process.pid(), r.EVENTUAL))
  assert(r.register("h.consistent", process.pid(), r.CONSISTENT))
  assert(r.register("h.strong", nil, r.STRONG))
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    process.send(m:from(), "pong", m:payload():data())
  end
end
return {main = main}
`

const probeLua = `
local time = require("time")
local function main(holder)
  local r = process.registry
  local out = {}
  local function add(k, v) out[#out + 1] = k .. "=" .. tostring(v) end
  local function kind(_, err) return err and err:kind() or "ok" end
  for _, n in ipairs({"h.eventual", "h.consistent", "h.strong"}) do
    local pid, err = r.lookup(n)
    add(n, pid == holder or err)
  end
  add("h.local", kind(r.lookup("h.local")))
  -- Send by name, and the holder answers.
  local inbox = process.inbox()
  for _, n in ipairs({"h.eventual", "h.consistent", "h.strong"}) do
    process.send(n, "ping", n)
    local res = channel.select{inbox:case_receive(), time.after("5s"):case_receive()}
    add("ping " .. n, res.channel == inbox and res.value:payload():data())
  end
  -- Taken names.
  add("take eventual", kind(r.register("h.eventual", nil, r.EVENTUAL)))
  add("take consistent", kind(r.register("h.consistent", nil, r.CONSISTENT)))
  add("take strong", kind(r.register("h.strong", nil, r.STRONG)))
  local ok, err = r.unregister("h.strong", r.STRONG)
  add("drop strong", tostring(ok) .. " " .. err:kind())
  ok, err = r.unregister("h.consistent", r.STRONG)
  add("drop in the wrong scope", tostring(ok) .. " " .. err:kind())
  -- Bad input.
  add("empty", kind(r.register("", nil, r.EVENTUAL)))
  add("long", kind(r.register(string.rep("x", 1025), nil, r.CONSISTENT)))
  add("scope", kind(r.register("x", nil, 9)))
  add("foreign", kind(r.register("x", holder, r.EVENTUAL)))
  -- Its own names, every scope, and a release.
  assert(r.register("p.strong", nil, r.STRONG))
  assert(r.register("p.eventual", nil, r.EVENTUAL))
  add("own strong", r.lookup("p.strong") == process.pid())
  assert(r.unregister("p.strong", r.STRONG))
  add("released", kind(r.lookup("p.strong")))
  return table.concat(out, "; ")
end
return {main = main}
`

func namesAppNode(t *testing.T, name, dir string, join ...string) *Node {
	t.Helper()
	app, err := entry.LoadFS(fstest.MapFS{
		"app.yaml":   {Data: []byte(namesApp)},
		"holder.lua": {Data: []byte(holderLua)},
		"probe.lua":  {Data: []byte(probeLua)},
	}, ".", compileLua)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Node.Name = name
	cfg.Node.Workers = 2
	cfg.Admin.Addr = ""
	cfg.Cluster.Enabled = true
	cfg.Cluster.Raft.DataDir = dir
	cfg.Cluster.Raft.BootstrapExpect = 3
	cfg.Cluster.Membership.BindAddr = "127.0.0.1"
	cfg.Cluster.Membership.BindPort = 0
	cfg.Cluster.Membership.Profile = "fast"
	cfg.Cluster.Membership.JoinAddrs = join
	cfg.Cluster.Internode.AutoPort = false
	return startTestNode(t, cfg, WithApp(app), WithLogger(testLogger(t)))
}

// TestNamesFromLua: the Lua surface over three nodes with Raft; then the
// holder's node is killed and its EVENTUAL, CONSISTENT and STRONG names
// are released on the others.
func TestNamesFromLua(t *testing.T) {
	dir := t.TempDir()
	a := namesAppNode(t, "a", dir)
	b := namesAppNode(t, "b", dir, a.MembershipAddr())
	c := namesAppNode(t, "c", dir, a.MembershipAddr())
	await.Until(t, "three ready nodes with a Raft leader", func() bool {
		return a.Ready() && b.Ready() && c.Ready() && len(a.Nodes()) == 2 && len(b.Nodes()) == 2 && len(c.Nodes()) == 2
	})
	holder, err := a.Runtime().Spawn(proc.SpawnRequest{Entry: "names:holder", Host: DefaultHost})
	if err != nil {
		t.Fatal(err)
	}
	// STRONG returns once every node resolves it; the others may lag.
	for _, n := range []string{"h.eventual", "h.consistent", "h.strong"} {
		resolvesOn(t, n, holder, a, b, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := b.Exec(ctx, "names:probe", DefaultHost, []msg.Value{msg.String(holder.String())})
	if err != nil || res.Err != nil {
		t.Fatalf("probe: %v %v", err, res.Err)
	}
	got, _ := res.Value.AsString()
	want := "h.eventual=true; h.consistent=true; h.strong=true; h.local=NOT_FOUND; " +
		"ping h.eventual=h.eventual; ping h.consistent=h.consistent; ping h.strong=h.strong; " +
		"take eventual=ALREADY_EXISTS; take consistent=ALREADY_EXISTS; take strong=ALREADY_EXISTS; " +
		"drop strong=false PERMISSION_DENIED; drop in the wrong scope=false NOT_FOUND; " +
		"empty=INVALID; long=INVALID; scope=INVALID; foreign=INVALID; own strong=true; released=NOT_FOUND"
	if got != want {
		t.Fatalf("probe\n got %s\nwant %s", got, want)
	}
	// The probe's own names went with it.
	await.Until(t, "one name per cluster scope on every node", func() bool {
		for _, n := range []*Node{a, b, c} {
			st := n.Status()
			if st.Names["strong"] != 1 || st.Names["consistent"] != 1 || st.Names["eventual"] != 1 {
				return false
			}
		}
		return true
	})
	a.Isolate()
	for _, n := range []string{"h.eventual", "h.consistent", "h.strong"} {
		resolvesOn(t, n, pid.PID{}, b, c)
	}
	if strings.Contains(fmt.Sprint(b.Status().Names), "strong:1") {
		t.Fatal("b still counts the strong name")
	}
	minorityOfOne(t, a, holder)
}

// minorityOfOne checks node a, cut off from the others over loopback TCP
// (a minority of one): every name it knew still resolves there, LOCAL and
// EVENTUAL writes succeed, CONSISTENT and STRONG ones fail UNAVAILABLE
// after at most the apply timeout (logged), never hanging.
func minorityOfOne(t *testing.T, a *Node, holder pid.PID) {
	t.Helper()
	for _, n := range []string{"h.eventual", "h.consistent", "h.strong"} {
		if got, err := a.Runtime().Lookup(n); err != nil || got != holder {
			t.Errorf("on the cut-off node %s resolves to %v, %v; want %v", n, got, err, holder)
		}
	}
	p, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Runtime().Register("m.local", p); err != nil {
		t.Errorf("local register on the cut-off node: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := a.NameService().Register(ctx, proc.ScopeEventual, "m.eventual", p); err != nil {
		t.Errorf("eventual register on the cut-off node: %v", err)
	}
	for _, s := range []proc.Scope{proc.ScopeConsistent, proc.ScopeStrong} {
		start := time.Now()
		err := a.NameService().Register(ctx, s, "m."+s.String(), p)
		if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable {
			t.Errorf("%v register on the cut-off node: %v, want UNAVAILABLE", s, err)
		}
		t.Logf("%v register on the cut-off node: %v after %v (apply timeout %v)", s, err, time.Since(start), a.cfg.Cluster.Raft.ApplyTimeout)
	}
	for n, want := range map[string]pid.PID{"m.local": p, "m.eventual": p, "h.strong": holder} {
		if got, err := a.Runtime().Lookup(n); err != nil || got != want {
			t.Errorf("on the cut-off node %s resolves to %v, %v; want %v", n, got, err, want)
		}
	}
}

// TestClientNodeNames: a client node (as `run -x` starts) is outside the
// Raft configuration and resolves CONSISTENT and STRONG names from the
// copy a member feeds it; a STRONG registration waits for its
// acknowledgement too; its own registrations go through the leader.
func TestClientNodeNames(t *testing.T) {
	dir := t.TempDir()
	a := namesAppNode(t, "a", dir)
	b := namesAppNode(t, "b", dir, a.MembershipAddr())
	c := namesAppNode(t, "c", dir, a.MembershipAddr())
	await.Until(t, "three ready nodes", func() bool { return a.Ready() && b.Ready() && c.Ready() })
	app, err := entry.LoadFS(fstest.MapFS{
		"app.yaml": {Data: []byte(namesApp)}, "holder.lua": {Data: []byte(holderLua)}, "probe.lua": {Data: []byte(probeLua)},
	}, ".", compileLua)
	if err != nil {
		t.Fatal(err)
	}
	cfg := a.cfg
	cfg.Node.Name = "x"
	cfg.Cluster.Raft.DataDir = ""
	cfg.Cluster.Raft.InMemory = true
	cfg.Cluster.Membership.JoinAddrs = []string{a.MembershipAddr()}
	x := startTestNode(t, cfg, WithApp(app), AsClient(), WithLogger(testLogger(t)))
	await.Until(t, "the client ready", func() bool { return x.Ready() && len(x.Nodes()) == 3 })
	holder, err := a.Runtime().Spawn(proc.SpawnRequest{Entry: "names:holder", Host: DefaultHost})
	if err != nil {
		t.Fatal(err)
	}
	// h.strong returned on a only once x acknowledged it: x resolves it
	// as soon as the holder is past its registrations.
	resolvesOn(t, "h.strong", holder, a, b, c, x)
	resolvesOn(t, "h.consistent", holder, x)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := x.Exec(ctx, "names:probe", DefaultHost, []msg.Value{msg.String(holder.String())})
	if err != nil || res.Err != nil {
		t.Fatalf("probe on the client: %v %v", err, res.Err)
	}
	if got, _ := res.Value.AsString(); !strings.Contains(got, "take strong=ALREADY_EXISTS") || !strings.Contains(got, "own strong=true; released=NOT_FOUND") {
		t.Fatalf("probe on the client: %s", got)
	}
	st := x.Status()
	if st.Raft == nil || st.Raft.State != "client" || st.Raft.Leader == "" || st.Names["strong"] != 1 {
		t.Fatalf("client status %+v %v", st.Raft, st.Names)
	}
}

// namesStandalone: the registry's surface on a node without a cluster.
const namesStandalone = `
return {main = function()
  local r = process.registry
  local out = {}
  local function outcome(ok, err)
    if ok then return "ok" end
    return err:kind() .. (err:retryable() and " retryable" or "")
  end
  out["local"] = outcome(r.register("l"))
  out.lookup = tostring(r.lookup("l") == process.pid())
  for _, s in ipairs({"EVENTUAL", "CONSISTENT", "STRONG"}) do
    out[s] = outcome(r.register("c", nil, r[s]))
    out["unregister " .. s] = outcome(r.unregister("c", r[s]))
  end
  out.missing = outcome(r.lookup("c"))
  out.empty = outcome(r.register(""))
  out.long = outcome(r.register(string.rep("x", 1025)))
  out.max = outcome(r.register(string.rep("x", 1024)))
  out.scope = outcome(r.register("s", nil, 7))
  return out
end}
`

// TestNamesStandaloneFromLua: on a node without a cluster LOCAL names
// work and the cluster scopes answer UNAVAILABLE (not retryable) at once;
// bad input is INVALID.
func TestNamesStandaloneFromLua(t *testing.T) {
	app := sysApp(t, map[string]string{"names": namesStandalone})
	n := startTestNode(t, DefaultConfig(), WithApp(app), WithLogger(testLogger(t)))
	checkFields(t, run(t, n, "app:names"), map[string]string{
		"local": "ok", "lookup": "true", "EVENTUAL": "UNAVAILABLE", "CONSISTENT": "UNAVAILABLE", "STRONG": "UNAVAILABLE",
		"unregister EVENTUAL": "UNAVAILABLE", "unregister CONSISTENT": "UNAVAILABLE", "unregister STRONG": "UNAVAILABLE",
		"missing": "NOT_FOUND", "empty": "INVALID", "long": "INVALID", "max": "ok", "scope": "INVALID",
	})
}
