package node

import (
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// sysApp is an app whose Lua entries may use the system module; its host
// refuses system.read on "raft_stats".
func sysApp(t *testing.T, lua map[string]string) *App {
	t.Helper()
	return luaApp(t, "  - name: no-stats\n    kind: security.policy\n"+
		"    policy: {actions: [system.read], resources: [raft_stats], effect: deny}\n"+
		"  - name: no-lock\n    kind: security.policy\n"+
		"    policy: {actions: [system.lock], resources: [forbidden], effect: deny}\n"+
		"  - name: processes\n    kind: process.host\n    security: {policies: [no-stats, no-lock]}\n"+
		"  - {name: svc, kind: process.service, process: idle, host: processes, lifecycle: {auto_start: true}}\n"+
		"  - {name: idle, kind: process.lua, source: file://idle.lua, method: main}\n",
		map[string]string{"idle.lua": "return {main = function() process.events():receive() end}\n"}, "system, time", lua)
}

const sysSurface = `
local system = require("system")
local function kind(_, err) return err and err:kind() or "none" end
return {main = function()
  local r = {}
  r.id = system.node.id()
  r.addr = kind(system.node.addr())
  r.role = system.node.role()
  local ms = system.cluster.members()
  r.members = #ms .. " " .. ms[1].id .. " " .. tostring(ms[1].is_local)
  r.size = system.cluster.size()
  r.leader = system.cluster.leader()
  r.raft = kind(system.raft.is_leader())
  r.raft_stats = kind(system.raft.stats())
  r.heap = system.memory.stats().heap_alloc > 0 and system.memory.allocated() > 0
  r.gc = system.gc.collect()
  local p = system.gc.get_percent()
  r.gc_set = system.gc.set_percent(p) == p
  r.cpu = system.runtime.cpu_count() > 0 and system.runtime.max_procs() > 0 and system.runtime.goroutines() > 0
  r.pid = system.process.pid() > 0 and #system.process.cwd() > 0
  local hosts = system.hosts.list()
  r.hosts = hosts[1].id .. " " .. tostring(hosts[1].processes >= 2)
  local me = false
  for _, pr in ipairs(system.hosts.processes("app:processes")) do
    if pr.pid == process.pid() then me = pr.state end
  end
  r.me = me
  r.unknown_host = kind(system.hosts.processes("app:nope"))
  r.svc = system.supervisor.state("app:svc").status
  r.svcs = #system.supervisor.states()
  r.no_svc = kind(system.supervisor.state("app:nope"))
  local names = {}
  for _, m in ipairs(system.modules()) do names[m.name] = true end
  r.modules = tostring(names.pg and names.system and names.process)
  r.lock = kind(system.lock.acquire("x"))
  r.lock_long = kind(system.lock.acquire(string.rep("l", 1025)))
  return r
end}
`

// TestSystemStandalone runs the system module on a standalone node.
func TestSystemStandalone(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Node.Name = "solo"
	n := startTestNode(t, cfg, WithApp(sysApp(t, map[string]string{"surface": sysSurface})), WithLogger(testLogger(t)))
	got := run(t, n, "app:surface")
	checkFields(t, got, map[string]string{
		"id": "solo", "addr": "INTERNAL", "role": "non-member", "members": "1 solo true", "size": "1",
		"leader": "", "raft": "INTERNAL", "raft_stats": "PERMISSION_DENIED", "heap": "true", "gc": "true", "gc_set": "true",
		"cpu": "true", "pid": "true", "hosts": "app:processes true", "me": "running", "unknown_host": "NOT_FOUND",
		"svc": "running", "svcs": "1", "no_svc": "NOT_FOUND", "modules": "true", "lock": "INTERNAL", "lock_long": "INVALID",
	})
}

func checkFields(t *testing.T, got msg.Value, want map[string]string) {
	t.Helper()
	for k, w := range want {
		v, ok := got.Get(k)
		if s := strings.Trim(v.String(), `"`); !ok && w != "" || s != w {
			t.Errorf("%s = %s, want %s", k, v, w)
		}
	}
}

const sysCluster = `
local system = require("system")
local function kind(_, err) return err and err:kind() or "none" end
return {main = function()
  local r = {}
  local ids = {}
  for i, m in ipairs(system.cluster.members()) do
    ids[i] = m.id .. (m.is_local and "*" or "") .. (m.meta and m.meta.raft_role and "" or "?")
  end
  r.members = table.concat(ids, ",")
  r.addr = #system.node.addr() > 0
  r.leader = system.cluster.leader()
  r.role = system.raft.role()
  r.node_role = system.node.role() == r.role
  r.member = system.raft.is_member()
  r.is_leader = system.raft.is_leader() == (r.role == "leader")
  r.term = system.raft.term() > 0
  r.commit = system.raft.commit_index() >= 0
  r.stats = kind(system.raft.stats())
  return r
end}
`

// TestSystemCluster runs the cluster views on three nodes with Raft.
func TestSystemCluster(t *testing.T) {
	app := sysApp(t, map[string]string{"cluster": sysCluster})
	raft := func(c *Config) {
		c.Cluster.Raft.Enabled = true
		c.Cluster.Raft.BootstrapExpect = 3
	}
	mk := func(name string, join ...string) *Node {
		cfg := clusterConfig(name, join...)
		raft(&cfg)
		return startTestNode(t, cfg, WithApp(app), WithLogger(testLogger(t)))
	}
	a := mk("a")
	b := mk("b", a.MembershipAddr())
	c := mk("c", a.MembershipAddr())
	// Ready means a leader is known, which b can learn before its log
	// holds the configuration that makes it a voter: wait for that too.
	await.Within(t, 30*time.Second, "three ready nodes with a leader, b a voter", func() bool {
		st, ok := clusterView{b}.Raft()
		return a.Ready() && b.Ready() && c.Ready() && len(b.Nodes()) == 2 && ok && st.Role != proc.RoleNonMember
	})
	got := run(t, b, "app:cluster")
	leader, _ := got.Get("leader")
	if l, _ := leader.AsString(); l != "a" && l != "b" && l != "c" {
		t.Fatalf("leader %v", leader)
	}
	checkFields(t, got, map[string]string{
		"members": "b*,a,c", "addr": "true", "node_role": "true", "member": "true", "is_leader": "true",
		"term": "true", "commit": "true", "stats": "PERMISSION_DENIED",
	})
	if role, _ := got.Get("role"); role.String() != `"leader"` && role.String() != `"voter"` {
		t.Fatalf("role %v", role)
	}
}
