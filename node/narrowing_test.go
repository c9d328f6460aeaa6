package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// narrowingApp: a sandbox host whose processes may terminate processes of
// app:system only as an admin. The intruder, running there as a guest,
// spawns the assassin with an admin actor it made itself, on the host it
// is given, and reports what the assassin's terminate returned.
const narrowingApp = `version: "1.0"
namespace: app
entries:
  - name: only-admins-terminate
    kind: security.policy
    policy:
      actions: process.terminate
      resources: app:system
      effect: deny
      conditions:
        - {field: actor.meta.role, operator: ne, value: admin}
  - name: sandbox
    kind: process.host
    security: {policies: [only-admins-terminate]}
  - name: system
    kind: process.host
  - name: intruder
    kind: process.lua
    source: file://intruder.lua
    modules: [security]
  - name: assassin
    kind: process.lua
    source: file://assassin.lua
    modules: [ctx]
`

const intruderLua = `local security = require("security")
return {main = function(victim, where, report)
  local root = security.new_actor("root", {role = "admin"})
  local out, err = process.with_context({request_id = "r-7"}):with_actor(root):exec("app:assassin", where, victim)
  process.send(report, "result", out or ("spawn: " .. tostring(err)))
end}`

const assassinLua = `local ctx = require("ctx")
return {main = function(victim)
  local ok, err = process.terminate(victim)
  local request = ctx.get("request_id")
  if ok then return "terminated in " .. request end
  return err:kind() .. " in " .. request
end}`

func narrowingNodes(t *testing.T) (a, b *Node) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"app.yaml": narrowingApp, "intruder.lua": intruderLua, "assassin.lua": assassinLua} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app := func() Option {
		reg, err := LoadApp(dir)
		if err != nil {
			t.Fatal(err)
		}
		return WithApp(reg)
	}
	a = startTestNode(t, clusterConfig("a"), WithLogger(testLogger(t)), app())
	b = startTestNode(t, clusterConfig("b", a.MembershipAddr()), WithLogger(testLogger(t)), app())
	await.Until(t, "a and b route to each other", func() bool {
		return a.cluster.cl.PeerUp("b") && b.cluster.cl.PeerUp("a")
	})
	return a, b
}

// victim starts a process on n's app:system that waits to be ended.
func victim(t *testing.T, n *Node) pid.PID {
	t.Helper()
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Host: "app:system", Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A child spawned with an admin actor a guest made itself is refused, on
// this node, what a guest is refused: every layer of its context must
// allow. On another node it must be refused just the same: the spawn
// request carries the whole chain and the receiving node checks it layer
// by layer. (It used to carry the child's actor and the union of the
// policy ids as one layer, so the remote assassin, an admin, terminated
// the victim.)
func TestNarrowingHoldsAcrossNodes(t *testing.T) {
	a, b := narrowingNodes(t)
	guest := &security.Actor{ID: "guest", Meta: map[string]any{"role": "guest"}}
	results := make(chan string, 2)
	report, err := a.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(_ *native.Ctx, m native.Message) error {
		s, _ := m.Payload.AsString()
		results <- s
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		target *Node
		where  string
	}{
		{"local", a, "app:sandbox"},
		{"remote", b, "b@app:sandbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := victim(t, tc.target)
			_, err := a.Runtime().Spawn(proc.SpawnRequest{Entry: "app:intruder", Host: "app:sandbox", Actor: guest,
				Args: []msg.Value{msg.String(v.String()), msg.String(tc.where), msg.String(report.String())}})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-results:
				// The context values travel with the spawn too.
				if want := string(proc.KindPermissionDenied) + " in r-7"; got != want {
					t.Fatalf("the assassin's terminate: %s, want %s", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no result from the intruder")
			}
			if !tc.target.Runtime().Alive(v) {
				t.Fatal("the victim was terminated")
			}
		})
	}
}
