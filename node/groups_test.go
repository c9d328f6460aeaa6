package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// pgApp is an app with a pg.scope, a policy that keeps processes out of
// group "secret", and the Lua entries the tests run.
func pgApp(t *testing.T, lua map[string]string) *App {
	t.Helper()
	return luaApp(t, "  - {name: pg, kind: pg.scope, max_members_per_group: 50}\n"+
		"  - name: no-secret\n    kind: security.policy\n"+
		"    policy: {actions: [\"pg.*\"], resources: [secret], effect: deny}\n"+
		"  - name: processes\n    kind: process.host\n    security: {policies: [no-secret]}\n",
		nil, "pg, time", lua)
}

// luaApp loads an app of namespace app from entries (YAML list items),
// files, and one process.lua entry per lua source, each using modules.
func luaApp(t *testing.T, entries string, files map[string]string, modules string, lua map[string]string) *App {
	t.Helper()
	yaml := "version: \"1.0\"\nnamespace: app\nentries:\n" + entries
	tree := maps.Clone(files)
	if tree == nil {
		tree = map[string]string{}
	}
	for name, src := range lua {
		yaml += fmt.Sprintf("  - {name: %s, kind: process.lua, source: file://%s.lua, method: main, modules: [%s]}\n", name, name, modules)
		tree[name+".lua"] = src
	}
	tree["app.yaml"] = yaml
	dir := t.TempDir()
	writeTree(t, dir, tree)
	app, err := LoadApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// run runs entry on n and returns its value (a Lua table as a map).
func run(t *testing.T, n *Node, entry string, args ...msg.Value) msg.Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.Exec(ctx, entry, DefaultHost, args)
	if err != nil || res.Err != nil {
		t.Fatalf("%s: %v %v", entry, err, res.Err)
	}
	return res.Value
}

const pgSurface = `
local pg = require("pg")
local function kind(_, err) return err and err:kind() or "none" end
return {main = function()
  local r = {}
  r.unknown = kind(pg.open("app:nope"))
  local g = assert(pg.open("app:pg"))
  r.str = tostring(g)
  assert(g:join("w"))
  assert(g:join({"w", "x"}))
  local m = assert(g:get_members("w"))
  r.members_w = #m
  r.self = m[1] == process.pid()
  r.local_w = #assert(g:get_local_members("w"))
  r.unknown_group = #assert(g:get_members("nobody"))
  r.empty = kind(g:join(""))
  r.empty_list = kind(g:join({}))
  r.long = kind(g:join(string.rep("g", 1025)))
  r.not_member = kind(g:leave("never"))
  r.partial_leave = g:leave({"x", "never"}) == true
  r.groups = table.concat(assert(g:which_groups()), ",")
  r.local_groups = table.concat(assert(g:which_local_groups()), ",")
  r.denied = kind(g:join("secret"))
  r.denied_members = kind(g:get_members("secret"))
  local sub, members = g:monitor("w")
  r.snapshot = #members
  assert(g:leave("w"))
  local ev = sub:channel():receive()
  r.ev = table.concat({ev.system, ev.kind, ev.path, ev.data.Group, tostring(ev.data.PIDs[1] == process.pid())}, " ")
  local all, snap = g:events()
  r.snap_w = #snap.w
  local ch = process.listen("hello")
  assert(g:broadcast("w", "hello", "a", 2))
  local v = ch:receive()
  r.payload = v[1] .. v[2]
  r.bad_topic = kind(g:broadcast("w", "@x"))
  assert(g:join("y"))
  local e = all:channel():receive()
  r.all_ev = e.kind .. " " .. e.path
  sub:close()
  local _, ok = sub:channel():receive()
  r.closed = ok == false
  r.release = g:release()
  r.released = kind(g:join("w"))
  r.release_again = g:release()
  r.str_released = tostring(g)
  local g2 = assert(pg.open("app:pg"))
  r.kept = #assert(g2:get_members("w"))
  return r
end}
`

// TestPGSurface runs the pg module's whole surface on one node.
func TestPGSurface(t *testing.T) {
	app := pgApp(t, map[string]string{"surface": pgSurface})
	n := startTestNode(t, DefaultConfig(), WithApp(app), WithLogger(testLogger(t)))
	got := run(t, n, "app:surface")
	want := map[string]string{
		"unknown": "INTERNAL", "str": "pg.Instance{app:pg}", "members_w": "2", "self": "true", "local_w": "2",
		"unknown_group": "0", "empty": "INVALID", "empty_list": "INVALID", "long": "INVALID",
		"not_member": "INVALID", "partial_leave": "true", "groups": "w", "local_groups": "w",
		"denied": "PERMISSION_DENIED", "denied_members": "PERMISSION_DENIED", "snapshot": "2",
		"ev": "pg member.left w w true", "snap_w": "1", "payload": "a2", "bad_topic": "INVALID",
		"all_ev": "member.joined y", "closed": "true", "release": "true", "released": "INVALID",
		"release_again": "true", "str_released": "pg.Instance{app:pg, released}", "kept": "1",
	}
	for k, w := range want {
		v, ok := got.Get(k)
		if s := strings.Trim(v.String(), `"`); !ok || s != w {
			t.Errorf("%s = %s, want %s", k, v, w)
		}
	}
	await.Until(t, "the process's memberships released at exit", func() bool {
		return len(n.groups.Groups("app:pg", false)) == 0
	})
}

const pgMember = `
local pg = require("pg")
return {main = function(reporter)
  local g = assert(pg.open("app:pg"))
  assert(g:join("chat"))
  local ch = process.listen("say")
  process.send(reporter, "joined", process.pid())
  while true do
    local v = ch:receive()
    process.send(reporter, "got", v)
    if v == 0 then return end
  end
end}
`

const pgSpeaker = `
local pg = require("pg")
local time = require("time")
return {main = function(want, n)
  local g = assert(pg.open("app:pg"))
  while #assert(g:get_members("chat")) < want do time.sleep("5ms") end
  for i = n, 0, -1 do assert(g:broadcast("chat", "say", i)) end
  return true
end}
`

// TestPGAcrossNodes: Lua members on three nodes each receive every
// broadcast of a speaker on one node, in the order it made them.
func TestPGAcrossNodes(t *testing.T) {
	app := pgApp(t, map[string]string{"member": pgMember, "speaker": pgSpeaker})
	a := clusterNodeApp(t, "a", app)
	b := clusterNodeApp(t, "b", app, a.MembershipAddr())
	c := clusterNodeApp(t, "c", app, a.MembershipAddr())
	await.Until(t, "three connected nodes", func() bool {
		return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 && len(c.Nodes()) == 2
	})
	rep := newReporter(t, a)
	for _, n := range []*Node{a, b, c} {
		for range 2 {
			if _, err := n.Runtime().Spawn(procReq("app:member", msg.String(rep.pid.String()))); err != nil {
				t.Fatal(err)
			}
		}
	}
	const n = 50
	run(t, b, "app:speaker", msg.Int(6), msg.Int(n))
	got := rep.wait(t, 6*(n+1))
	per := map[string][]int64{}
	for _, m := range got {
		v, _ := m.Payload.AsInt()
		per[m.From.String()] = append(per[m.From.String()], v)
	}
	if len(per) != 6 {
		t.Fatalf("%d members reported, want 6", len(per))
	}
	for who, vs := range per {
		for i, v := range vs {
			if v != int64(n-i) {
				t.Fatalf("%s got %v: out of order or duplicated", who, vs)
			}
		}
	}
}

// clusterNodeApp is clusterNode running app.
func clusterNodeApp(t *testing.T, name string, app *App, join ...string) *Node {
	t.Helper()
	cfg := clusterConfig(name, join...)
	return startTestNode(t, cfg, WithApp(app), WithLogger(testLogger(t)))
}

func procReq(entry string, args ...msg.Value) proc.SpawnRequest {
	return proc.SpawnRequest{Entry: entry, Args: args}
}

// reporter is a native process collecting the "got" messages sent to it.
type reporter struct {
	pid pid.PID
	ch  chan native.Message
}

func newReporter(t *testing.T, n *Node) *reporter {
	t.Helper()
	r := &reporter{ch: make(chan native.Message, 4096)}
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(_ *native.Ctx, m native.Message) error {
		if m.Topic == "got" {
			r.ch <- m
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	r.pid = p
	return r
}

func (r *reporter) wait(t *testing.T, n int) []native.Message {
	t.Helper()
	var out []native.Message
	deadline := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-r.ch:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("%d of %d reports", len(out), n)
		}
	}
	return out
}

// TestPGDeadNodeMembersLeave: a node that crashes (Isolate: no leave, its
// peers learn by failed probes) takes its members out of every group on
// the others when membership declares it dead, not later: the test logs
// both moments, and a monitor on a sees each of its members leave once.
func TestPGDeadNodeMembersLeave(t *testing.T) {
	app := pgApp(t, map[string]string{"member": pgMember, "watch": pgWatch})
	a := clusterNodeApp(t, "a", app)
	b := clusterNodeApp(t, "b", app, a.MembershipAddr())
	c := clusterNodeApp(t, "c", app, a.MembershipAddr())
	await.Until(t, "three connected nodes", func() bool {
		return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 && len(c.Nodes()) == 2
	})
	rep := newReporter(t, a)
	var onC []string
	for i, n := range []*Node{a, c, c} {
		p, err := n.Runtime().Spawn(procReq("app:member", msg.String(rep.pid.String())))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			onC = append(onC, p.String())
		}
	}
	listed := func(n *Node) int { return len(n.groups.Members("app:pg", "chat", false)) }
	await.Until(t, "a and b list the three members", func() bool { return listed(a) == 3 && listed(b) == 3 })
	if _, err := a.Runtime().Spawn(procReq("app:watch", msg.String(rep.pid.String()))); err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.wait(t, 3) {
		if s, _ := m.Payload.AsString(); !strings.HasPrefix(s, "snap ") {
			t.Fatalf("before the cut: %s", s)
		}
	}

	cut := time.Now()
	c.Isolate()
	var declared, gone [2]time.Duration
	await.Within(t, 30*time.Second, "a and b declared c dead and dropped its members", func() bool {
		for i, n := range []*Node{a, b} {
			if declared[i] == 0 && !slices.Contains(n.Nodes(), "c") {
				declared[i] = time.Since(cut)
			}
			if gone[i] == 0 && listed(n) == 1 {
				gone[i] = time.Since(cut)
			}
		}
		return declared[0] > 0 && declared[1] > 0 && gone[0] > 0 && gone[1] > 0
	})
	t.Logf("c's members gone on a after %v (c declared dead after %v), on b after %v (%v)", gone[0], declared[0], gone[1], declared[1])
	var pids []string
	for _, m := range rep.wait(t, 2) {
		s, _ := m.Payload.AsString()
		pids = append(pids, strings.TrimPrefix(s, "left "))
	}
	slices.Sort(pids)
	slices.Sort(onC)
	if !slices.Equal(pids, onC) {
		t.Fatalf("the watcher saw %v leave, want %v", pids, onC)
	}
	await.Never(t, 200*time.Millisecond, "another event", func() bool { return len(rep.ch) > 0 })
}

// pgWatch monitors "chat" and reports ("got") each member of its
// snapshot ("snap PID"), then each member that leaves ("left PID").
const pgWatch = `
local pg = require("pg")
return {main = function(reporter)
  local g = assert(pg.open("app:pg"))
  local sub, members = assert(g:monitor("chat"))
  for _, p in ipairs(members) do process.send(reporter, "got", "snap " .. tostring(p)) end
  while true do
    local ev = sub:channel():receive()
    if ev.kind == "member.left" then
      for _, p in ipairs(ev.data.PIDs) do process.send(reporter, "got", "left " .. tostring(p)) end
    end
  end
end}
`

// pgBacklog: a subscriber that reads nothing while 300 changes happen
// (more than Wippy's 64-event channel) then finds every one, in order.
const pgBacklog = `
local pg = require("pg")
local time = require("time")
return {main = function()
  local g = assert(pg.open("app:pg"))
  local sub = assert(g:monitor("b"))
  for i = 1, 150 do
    assert(g:join("b"))
    assert(g:leave("b"))
  end
  local ch, kinds, n = sub:channel(), {}, 0
  while true do
    local r = channel.select{ch:case_receive(), time.after("500ms"):case_receive()}
    if r.channel ~= ch then break end
    n = n + 1
    local want = n % 2 == 1 and "member.joined" or "member.left"
    if r.value.kind ~= want then return "event " .. n .. " is " .. r.value.kind end
  end
  return tostring(n)
end}
`

// TestPGSubscriptionStallsRatherThanDrops: events wait for a slow
// subscriber; none is dropped past 64.
func TestPGSubscriptionStallsRatherThanDrops(t *testing.T) {
	app := pgApp(t, map[string]string{"backlog": pgBacklog})
	n := startTestNode(t, DefaultConfig(), WithApp(app), WithLogger(testLogger(t)))
	if got := run(t, n, "app:backlog"); got.String() != `"300"` {
		t.Fatalf("the subscriber read %s events, want 300 in order", got)
	}
}

// TestPGNodeRestart: over loopback TCP with real membership, a node that
// stops and starts again (same name, a new life) leaves no member of its
// old life in any group; the members of its new life are listed
// everywhere, and the others' members are listed on it.
func TestPGNodeRestart(t *testing.T) {
	app := pgApp(t, map[string]string{"member": pgMember})
	a := clusterNodeApp(t, "a", app)
	b := clusterNodeApp(t, "b", app, a.MembershipAddr())
	cCfg := clusterConfig("c", a.MembershipAddr())
	c, err := New(cCfg, WithApp(app), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // stopped by the test unless it failed first
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	await.Until(t, "three connected nodes", func() bool {
		return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 && len(c.Nodes()) == 2
	})
	rep := newReporter(t, a)
	spawn := func(n *Node) pid.PID {
		t.Helper()
		p, err := n.Runtime().Spawn(procReq("app:member", msg.String(rep.pid.String())))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	listed := func(n *Node, want ...pid.PID) func() bool {
		return func() bool {
			got := n.groups.Members("app:pg", "chat", false)
			slices.SortFunc(got, func(x, y pid.PID) int { return strings.Compare(x.String(), y.String()) })
			slices.SortFunc(want, func(x, y pid.PID) int { return strings.Compare(x.String(), y.String()) })
			return slices.Equal(got, want)
		}
	}
	pa, pc := spawn(a), spawn(c)
	await.Until(t, "a and b list a's and c's members", func() bool { return listed(a, pa, pc)() && listed(b, pa, pc)() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "c's old member gone on a and b", func() bool { return listed(a, pa)() && listed(b, pa)() })
	c2 := startTestNode(t, cCfg, WithApp(app), WithLogger(testLogger(t)))
	await.Until(t, "the new c connected", func() bool { return len(c2.Nodes()) == 2 && len(a.Nodes()) == 2 })
	pc2 := spawn(c2)
	pb := spawn(b)
	for _, n := range []*Node{a, b, c2} {
		await.Until(t, n.cfg.Node.Name+" lists a's, b's and the new c's members", listed(n, pa, pb, pc2))
	}
}
