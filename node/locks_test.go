package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

const lockSurface = `
local system = require("system")
local function kind(_, err) return err and err:kind() or "none" end
return {main = function(holder)
  local r = {}
  r.take = tostring(system.lock.acquire("orders"))
  r.again = tostring(system.lock.acquire("orders"))
  r.held = tostring(select(1, system.lock.acquire(holder)))
  r.held_kind = kind(system.lock.acquire(holder))
  r.release_other = tostring(system.lock.release(holder))
  r.release = tostring(system.lock.release("orders"))
  r.release_twice = tostring(system.lock.release("orders"))
  r.empty = kind(system.lock.acquire(""))
  r.long = kind(system.lock.acquire(string.rep("l", 1025)))
  r.max = tostring(system.lock.acquire(string.rep("l", 1024)))
  r.denied = kind(system.lock.acquire("forbidden"))
  return r
end}
`

const lockTry = `
local system = require("system")
return {main = function(name) return system.lock.acquire(name) end}
`

const lockHolder = `
local system = require("system")
return {main = function(name)
  assert(system.lock.acquire(name))
  process.events():receive()
end}
`

// TestLocksFromLua: the system.lock surface on three nodes with Raft,
// then a lock held by a process of a node that is cut off becomes free:
// the cut-off node terminates its holder, the others take the lock after
// the grace.
func TestLocksFromLua(t *testing.T) {
	app := sysApp(t, map[string]string{"surface": lockSurface, "holder": lockHolder, "try": lockTry})
	mk := func(name string, join ...string) *Node {
		cfg := clusterConfig(name, join...)
		cfg.Cluster.Raft.Enabled = true
		cfg.Cluster.Raft.BootstrapExpect = 3
		return startTestNode(t, cfg, WithApp(app), WithLogger(testLogger(t)))
	}
	a := mk("a")
	b := mk("b", a.MembershipAddr())
	c := mk("c", a.MembershipAddr())
	await.Within(t, 30*time.Second, "three ready nodes with a leader", func() bool {
		return a.Ready() && b.Ready() && c.Ready() && len(a.Nodes()) == 2 && len(c.Nodes()) == 2
	})
	holder, err := c.Runtime().Spawn(proc.SpawnRequest{Entry: "app:holder", Args: []msg.Value{msg.String("busy")}})
	if err != nil {
		t.Fatal(err)
	}
	await.Until(t, "the holder has its lock", func() bool {
		p, held := a.cluster.names.LockHolder("busy")
		return held && p == holder
	})
	got := run(t, b, "app:surface", msg.String("busy"))
	checkFields(t, got, map[string]string{
		"take": "true", "again": "true", "held": "false", "held_kind": "ALREADY_EXISTS", "release_other": "false",
		"release": "true", "release_twice": "false", "empty": "INVALID", "long": "INVALID", "max": "true", "denied": "PERMISSION_DENIED",
	})
	// c is cut off: its holder is terminated by the fence, and the lock
	// is free on the others once c is declared dead and the grace passed.
	cut := time.Now()
	c.Isolate()
	await.Within(t, 10*time.Second, "the cut-off holder terminated", func() bool { return !c.Runtime().Alive(holder) })
	await.NoError(t, "the lock taken on a", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := a.Exec(ctx, "app:try", DefaultHost, []msg.Value{msg.String("busy")})
		if err == nil && res.Value.String() != "true" {
			err = fmt.Errorf("acquire: %v %v", res.Value, res.Err)
		}
		return err
	})
	t.Logf("the lock was free again %v after the cut", time.Since(cut))
}
