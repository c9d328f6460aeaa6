package runtime_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

const (
	hostProcs   = "app:processes"
	hostSystem  = "app:system"
	hostSandbox = "app:sandbox"
)

func policy(t testing.TB, id string, effect security.Effect, actions, resources []string, conds ...security.Condition) *security.Policy {
	t.Helper()
	p, err := security.Compile(security.PolicySpec{ID: id, Actions: actions, Resources: resources, Effect: effect, Conditions: conds})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func strs(s ...string) []string { return s }

func acts(as ...security.Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

// secConfig describes a runtime for a security test: policies of the
// three hosts, strict mode and the policy table.
type secConfig struct {
	procs, system, sandbox []*security.Policy
	strict                 bool
	table                  []*security.Policy
	router                 runtime.Router
}

func newSecRuntime(t testing.TB, sc secConfig) *runtime.Runtime {
	t.Helper()
	return newRuntime(t, func(c *runtime.Config) {
		c.Hosts = []runtime.HostConfig{
			{ID: hostProcs, Policies: sc.procs},
			{ID: hostSystem, Policies: sc.system},
			{ID: hostSandbox, Policies: sc.sandbox},
		}
		c.StrictMode = sc.strict
		c.Router = sc.router
		if len(sc.table) > 0 {
			c.Policies = map[string]*security.Policy{}
			for _, p := range sc.table {
				c.Policies[p.ID()] = p
			}
		}
	})
}

// as runs f in a new process that req describes (host, actor, scope; a
// spawn from outside, so req is the identity as given) and returns what f
// returned. The process ends after f.
func as(t testing.TB, rt *runtime.Runtime, req proc.SpawnRequest, f func(c *native.Ctx) error) error {
	t.Helper()
	ch := make(chan error, 1)
	req.Behavior = native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		ch <- f(c)
		c.Stop(msg.Nil)
		return nil
	}})
	if _, err := rt.Spawn(req); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("process did not run")
		return nil
	}
}

// target spawns a probe on host h.
func target(t testing.TB, rt *runtime.Runtime, h string, trap bool) (*probe, pid.PID) {
	t.Helper()
	p := newProbe()
	p.trap = trap
	ready := make(chan struct{})
	p.init = func(*native.Ctx) error { close(ready); return nil }
	id, err := rt.Spawn(proc.SpawnRequest{Host: h, Behavior: native.New(p)})
	if err != nil {
		t.Fatal(err)
	}
	<-ready
	return p, id
}

func wantDenied(t testing.TB, what string, err error) {
	t.Helper()
	e := proc.AsError(err)
	if e == nil || e.Kind != proc.KindPermissionDenied {
		t.Fatalf("%s: got %v, want PERMISSION_DENIED", what, err)
	}
	if !errors.Is(err, security.ErrPermissionDenied) {
		t.Fatalf("%s: %v does not wrap security.ErrPermissionDenied", what, err)
	}
}

func wantAllowed(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v, want allowed", what, err)
	}
}

// firstIsMarker sends a marker to p's process from outside and checks it
// is the first thing the probe sees: anything a denied call had put in its
// mailbox (sends and cancels are applied synchronously by the caller)
// would be read before it.
func firstIsMarker(t testing.TB, rt *runtime.Runtime, p *probe, to pid.PID) {
	t.Helper()
	if err := rt.Send(pid.PID{}, to, "marker", msg.Nil); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-p.ch:
		if m, ok := v.(native.Message); !ok || m.Topic != "marker" {
			t.Fatalf("target saw %#v before the marker", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("marker not received")
	}
}

// Every target-directed action, denied in each place a policy can come
// from (caller scope, caller host, target host), is refused with
// PERMISSION_DENIED, leaves the target untouched, and is allowed for a
// target the policy does not name.
func TestTargetActionsDeniedFromEachSource(t *testing.T) {
	type action struct {
		name string
		act  security.Action
		do   func(c *native.Ctx, to pid.PID) error
	}
	actions := []action{
		{"send", security.ActionSend, func(c *native.Ctx, to pid.PID) error { return c.Send(to, "x", msg.Nil) }},
		{"terminate", security.ActionTerminate, func(c *native.Ctx, to pid.PID) error { return c.Terminate(to) }},
		{"cancel", security.ActionCancel, func(c *native.Ctx, to pid.PID) error { return c.Cancel(to, "go") }},
		{"monitor", security.ActionMonitor, func(c *native.Ctx, to pid.PID) error { return c.Monitor(to) }},
		{"unmonitor", security.ActionUnmonitor, func(c *native.Ctx, to pid.PID) error { return c.Unmonitor(to) }},
		{"link", security.ActionLink, func(c *native.Ctx, to pid.PID) error { c.TrapLinks(true); return c.Link(to) }},
		{"unlink", security.ActionUnlink, func(c *native.Ctx, to pid.PID) error { return c.Unlink(to) }},
	}
	sources := []struct {
		name string
		make func(t *testing.T, act string) (secConfig, proc.SpawnRequest)
	}{
		{"caller scope", func(t *testing.T, act string) (secConfig, proc.SpawnRequest) {
			return secConfig{}, proc.SpawnRequest{Host: hostProcs, Scope: []*security.Policy{policy(t, "app:deny", security.Deny, strs(act), strs(hostSystem))}}
		}},
		{"caller host", func(t *testing.T, act string) (secConfig, proc.SpawnRequest) {
			return secConfig{sandbox: []*security.Policy{policy(t, "app:deny", security.Deny, strs(act), strs(hostSystem))}}, proc.SpawnRequest{Host: hostSandbox}
		}},
		{"target host", func(t *testing.T, act string) (secConfig, proc.SpawnRequest) {
			return secConfig{system: []*security.Policy{policy(t, "app:deny", security.Deny, strs(act), strs(hostSystem))}}, proc.SpawnRequest{Host: hostProcs}
		}},
	}
	for _, a := range actions {
		for _, src := range sources {
			t.Run(a.name+"/"+src.name, func(t *testing.T) {
				sc, caller := src.make(t, string(a.act))
				rt := newSecRuntime(t, sc)
				sys, sysPID := target(t, rt, hostSystem, false)
				other, otherPID := target(t, rt, hostProcs, false)
				wantDenied(t, a.name+" into app:system", as(t, rt, caller, func(c *native.Ctx) error { return a.do(c, sysPID) }))
				if !rt.Alive(sysPID) {
					t.Fatal("denied call ended the target")
				}
				firstIsMarker(t, rt, sys, sysPID)
				wantAllowed(t, a.name+" into app:processes", as(t, rt, caller, func(c *native.Ctx) error { return a.do(c, otherPID) }))
				if a.name == "send" {
					if m := recv[native.Message](t, other.ch); m.Topic != "x" {
						t.Fatalf("allowed send delivered %+v", m)
					}
				}
				if rt.Counters().Denied == 0 {
					t.Fatal("denial not counted")
				}
			})
		}
	}
}

// A monitor or a link that is denied makes no relation: with a dead PID,
// an allowed one would give an EXIT or LINK_DOWN at once, before the
// marker the process sends itself.
func TestDeniedRelationIsNotMade(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  security.Action
	}{{"monitor", security.ActionMonitor}, {"link", security.ActionLink}} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newSecRuntime(t, secConfig{system: []*security.Policy{policy(t, "app:deny", security.Deny, acts(tc.act), strs(hostSystem))}})
			dead := pid.PID{Node: "n1", Host: hostSystem, Seq: 3}
			got := make(chan any, 4)
			var callErr error
			done := make(chan struct{})
			_, err := rt.Spawn(proc.SpawnRequest{Host: hostProcs, Behavior: native.New(&fn{
				init: func(c *native.Ctx, _ []msg.Value) error {
					c.TrapLinks(true)
					if tc.name == "monitor" {
						callErr = c.Monitor(dead)
					} else {
						callErr = c.Link(dead)
					}
					close(done)
					return c.Send(c.Self(), "marker", msg.Nil)
				},
				msg: func(c *native.Ctx, m native.Message) error { got <- m; c.Stop(msg.Nil); return nil },
				ev:  func(c *native.Ctx, e native.Event) error { got <- e; return nil },
			})})
			if err != nil {
				t.Fatal(err)
			}
			<-done
			wantDenied(t, tc.name, callErr)
			if m, ok := (<-got).(native.Message); !ok || m.Topic != "marker" {
				t.Fatalf("a denied %s made a relation: got %#v first", tc.name, m)
			}
		})
	}
}

func TestDenyWinsOverAllow(t *testing.T) {
	allowAll := policy(t, "app:all", security.Allow, strs("*"), strs("*"))
	rt := newSecRuntime(t, secConfig{system: []*security.Policy{policy(t, "app:no-send", security.Deny, acts(security.ActionSend), strs(hostSystem))}})
	sys, sysPID := target(t, rt, hostSystem, false)
	wantDenied(t, "allow in scope, deny on target host", as(t, rt, proc.SpawnRequest{Scope: []*security.Policy{allowAll}}, func(c *native.Ctx) error {
		return c.Send(sysPID, "x", msg.Nil)
	}))
	firstIsMarker(t, rt, sys, sysPID)
	// The order of policies in one list does not matter either.
	denyFirst := []*security.Policy{policy(t, "app:a-deny", security.Deny, acts(security.ActionSend), strs("*")), allowAll}
	allowFirst := []*security.Policy{allowAll, policy(t, "app:z-deny", security.Deny, acts(security.ActionSend), strs("*"))}
	for _, scope := range [][]*security.Policy{denyFirst, allowFirst} {
		wantDenied(t, "deny and allow in one scope", as(t, rt, proc.SpawnRequest{Scope: scope}, func(c *native.Ctx) error {
			return c.Send(sysPID, "x", msg.Nil)
		}))
	}
}

func TestStrictMode(t *testing.T) {
	rt := newSecRuntime(t, secConfig{strict: true})
	sys, sysPID := target(t, rt, hostSystem, false)
	wantDenied(t, "undecided send in strict mode", as(t, rt, proc.SpawnRequest{}, func(c *native.Ctx) error {
		return c.Send(sysPID, "x", msg.Nil)
	}))
	firstIsMarker(t, rt, sys, sysPID)
	allowSend := policy(t, "app:send", security.Allow, acts(security.ActionSend), strs(hostSystem))
	wantAllowed(t, "allowed send in strict mode", as(t, rt, proc.SpawnRequest{Scope: []*security.Policy{allowSend}}, func(c *native.Ctx) error {
		return c.Send(sysPID, "x", msg.Nil)
	}))
	wantDenied(t, "a spawn nothing allows in strict mode", as(t, rt, proc.SpawnRequest{Scope: []*security.Policy{allowSend}}, func(c *native.Ctx) error {
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:w", Behavior: native.New(&fn{})})
		return err
	}))
	// Strict mode off, the same undecided send is allowed.
	rt2 := newSecRuntime(t, secConfig{})
	_, sys2 := target(t, rt2, hostSystem, false)
	wantAllowed(t, "undecided send", as(t, rt2, proc.SpawnRequest{}, func(c *native.Ctx) error { return c.Send(sys2, "x", msg.Nil) }))
}

// A deny of process.send on app:system forbids sends by name into that
// host; a deny on a name forbids sends by that name only.
func TestSendByName(t *testing.T) {
	rt := newSecRuntime(t, secConfig{
		system: []*security.Policy{policy(t, "app:no-system", security.Deny, acts(security.ActionSend), strs(hostSystem, hostSystem+".*"))},
		procs:  []*security.Policy{policy(t, "app:no-secret", security.Deny, acts(security.ActionSend), strs("secret"))},
	})
	sys, sysPID := target(t, rt, hostSystem, false)
	other, otherPID := target(t, rt, hostProcs, false)
	if err := rt.Register("sys", sysPID); err != nil {
		t.Fatal(err)
	}
	if err := rt.Register("secret", otherPID); err != nil {
		t.Fatal(err)
	}
	if err := rt.Register("public", otherPID); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, "send by name into app:system", as(t, rt, proc.SpawnRequest{Host: hostSandbox}, func(c *native.Ctx) error {
		return c.SendName("sys", "x", msg.Nil)
	}))
	firstIsMarker(t, rt, sys, sysPID)
	wantDenied(t, "send by a denied name", as(t, rt, proc.SpawnRequest{Host: hostProcs}, func(c *native.Ctx) error {
		return c.SendName("secret", "x", msg.Nil)
	}))
	firstIsMarker(t, rt, other, otherPID)
	wantAllowed(t, "same process by another name", as(t, rt, proc.SpawnRequest{Host: hostProcs}, func(c *native.Ctx) error {
		return c.SendName("public", "x", msg.Nil)
	}))
	if m := recv[native.Message](t, other.ch); m.Topic != "x" {
		t.Fatalf("got %+v", m)
	}
	// AuthorizeTarget lets a behaviour that resolved a name itself honour
	// a policy on the name (the Lua process does so for link, monitor...).
	wantDenied(t, "terminate by name", as(t, rt, proc.SpawnRequest{
		Scope: []*security.Policy{policy(t, "app:keep", security.Deny, acts(security.ActionTerminate), strs("public"))},
	}, func(c *native.Ctx) error {
		return c.Env().AuthorizeTarget(security.ActionTerminate, otherPID, "public")
	}))
}

// Conditions see the caller's host and node as meta.host and meta.node,
// and the actor's id and meta.
func TestConditions(t *testing.T) {
	fromSandbox := policy(t, "app:no-sandbox", security.Deny, acts(security.ActionSend), strs(hostSystem),
		security.Condition{Field: "meta.host", Operator: security.OpEq, Value: hostSandbox})
	notAdmin := policy(t, "app:admins", security.Deny, acts(security.ActionTerminate), strs(hostSystem),
		security.Condition{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"})
	onNode := policy(t, "app:node", security.Deny, acts(security.ActionCancel), strs("*"),
		security.Condition{Field: "meta.node", Operator: security.OpEq, Value: "n1"})
	rt := newSecRuntime(t, secConfig{system: []*security.Policy{fromSandbox, notAdmin, onNode}})
	_, sysPID := target(t, rt, hostSystem, false)
	send := func(c *native.Ctx) error { return c.Send(sysPID, "x", msg.Nil) }
	wantDenied(t, "send from app:sandbox", as(t, rt, proc.SpawnRequest{Host: hostSandbox}, send))
	wantAllowed(t, "send from app:processes", as(t, rt, proc.SpawnRequest{Host: hostProcs}, send))
	wantDenied(t, "cancel on node n1", as(t, rt, proc.SpawnRequest{}, func(c *native.Ctx) error { return c.Cancel(sysPID, "") }))
	terminate := func(c *native.Ctx) error { return c.Env().AuthorizeTarget(security.ActionTerminate, sysPID, "") }
	wantDenied(t, "terminate with no actor", as(t, rt, proc.SpawnRequest{}, terminate))
	wantDenied(t, "terminate as a guest", as(t, rt, proc.SpawnRequest{Actor: &security.Actor{ID: "u", Meta: map[string]any{"role": "guest"}}}, terminate))
	wantAllowed(t, "terminate as an admin", as(t, rt, proc.SpawnRequest{Actor: &security.Actor{ID: "root", Meta: map[string]any{"role": "admin"}}}, terminate))
}

func TestSpawnChecks(t *testing.T) {
	beh := func() proc.Behavior { return native.New(&fn{}) }
	tests := []struct {
		name    string
		deny    *security.Policy
		denied  proc.SpawnRequest
		allowed proc.SpawnRequest
	}{
		{"entry", policy(t, "d", security.Deny, acts(security.ActionSpawn), strs("app:secret")),
			proc.SpawnRequest{Entry: "app:secret"}, proc.SpawnRequest{Entry: "app:worker"}},
		{"entry wildcard covers the variants", policy(t, "d", security.Deny, strs("process.spawn*"), strs("app:secret")),
			proc.SpawnRequest{Entry: "app:secret", Link: true}, proc.SpawnRequest{Entry: "app:worker", Link: true}},
		{"linked", policy(t, "d", security.Deny, acts(security.ActionSpawnLinked), strs("*")),
			proc.SpawnRequest{Entry: "app:w", Link: true}, proc.SpawnRequest{Entry: "app:w"}},
		{"monitored", policy(t, "d", security.Deny, acts(security.ActionSpawnMonitored), strs("*")),
			proc.SpawnRequest{Entry: "app:w", Monitor: true}, proc.SpawnRequest{Entry: "app:w", Link: true}},
		{"linked and monitored", policy(t, "d", security.Deny, acts(security.ActionSpawnMonitored), strs("*")),
			proc.SpawnRequest{Entry: "app:w", Link: true, Monitor: true}, proc.SpawnRequest{Entry: "app:w"}},
		{"exec", policy(t, "d", security.Deny, acts(security.ActionExec), strs("app:w")),
			proc.SpawnRequest{Entry: "app:w", Exec: true, Monitor: true}, proc.SpawnRequest{Entry: "app:w", Monitor: true}},
		{"host", policy(t, "d", security.Deny, acts(security.ActionHost), strs(hostSystem)),
			proc.SpawnRequest{Entry: "app:w", Host: hostSystem}, proc.SpawnRequest{Entry: "app:w", Host: hostProcs}},
		{"default host", policy(t, "d", security.Deny, acts(security.ActionHost), strs(hostSandbox)),
			proc.SpawnRequest{Entry: "app:w"}, proc.SpawnRequest{Entry: "app:w", Host: hostProcs}},
		{"child name", policy(t, "d", security.Deny, acts(security.ActionRegister), strs("boss")),
			proc.SpawnRequest{Entry: "app:w", Name: "boss"}, proc.SpawnRequest{Entry: "app:w", Name: "worker"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := newSecRuntime(t, secConfig{})
			caller := proc.SpawnRequest{Host: hostSandbox, Scope: []*security.Policy{tc.deny}}
			before := rt.Counters().SpawnsByHost
			wantDenied(t, "spawn", as(t, rt, caller, func(c *native.Ctx) error {
				req := tc.denied
				req.Behavior = beh()
				_, err := c.Spawn(req)
				return err
			}))
			after := rt.Counters().SpawnsByHost
			if after[hostSandbox] != before[hostSandbox]+1 || after[hostSystem] != before[hostSystem] || after[hostProcs] != before[hostProcs] {
				t.Fatalf("a denied spawn started a process: %v -> %v", before, after)
			}
			if tc.denied.Name != "" {
				if _, err := rt.Lookup(tc.denied.Name); err == nil {
					t.Fatal("a denied spawn registered its name")
				}
			}
			wantAllowed(t, "spawn", as(t, rt, caller, func(c *native.Ctx) error {
				req := tc.allowed
				req.Behavior = beh()
				_, err := c.Spawn(req)
				return err
			}))
		})
	}
	// A host can refuse spawns onto itself with its own policies.
	rt := newSecRuntime(t, secConfig{system: []*security.Policy{policy(t, "app:closed", security.Deny, acts(security.ActionHost), strs(hostSystem))}})
	wantDenied(t, "spawn onto a closed host", as(t, rt, proc.SpawnRequest{}, func(c *native.Ctx) error {
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:w", Host: hostSystem, Behavior: beh()})
		return err
	}))
}

func TestRegistryChecks(t *testing.T) {
	scope := []*security.Policy{
		policy(t, "app:no-secret", security.Deny, acts(security.ActionRegister), strs("secret")),
		policy(t, "app:no-foreign", security.Deny, acts(security.ActionRegisterForeign), strs(hostSystem)),
		policy(t, "app:no-drop", security.Deny, acts(security.ActionUnregister), strs("kept")),
		policy(t, "app:no-cluster", security.Deny, acts(security.ActionRegisterConsistent), strs("*")),
	}
	rt := newSecRuntime(t, secConfig{})
	_, sysPID := target(t, rt, hostSystem, false)
	_, otherPID := target(t, rt, hostProcs, false)
	if err := rt.Register("kept", otherPID); err != nil {
		t.Fatal(err)
	}
	err := as(t, rt, proc.SpawnRequest{Scope: scope}, func(c *native.Ctx) error {
		env := c.Env()
		wantDenied(t, "register a denied name", c.Register("secret"))
		wantAllowed(t, "register another name", c.Register("mine"))
		wantDenied(t, "register a process of app:system", env.Register("sys", sysPID, proc.ScopeLocal))
		wantAllowed(t, "register a process of app:processes", env.Register("other", otherPID, proc.ScopeLocal))
		wantDenied(t, "unregister a denied name", env.Unregister("kept", proc.ScopeLocal))
		wantDenied(t, "unregister a name another process holds", env.Unregister("other", proc.ScopeLocal))
		wantAllowed(t, "unregister its own name", env.Unregister("mine", proc.ScopeLocal))
		wantDenied(t, "register in a denied cluster scope", env.Register("c", pid.PID{}, proc.ScopeConsistent))
		if err := env.Register("c", pid.PID{}, proc.ScopeEventual); !errors.Is(err, runtime.ErrNoCluster) {
			t.Errorf("eventual on a standalone node: %v, want ErrNoCluster", err)
		}
		return nil
	})
	wantAllowed(t, "registry calls", err)
	for name, want := range map[string]bool{"secret": false, "sys": false, "kept": true, "other": true, "mine": false} {
		if _, err := rt.Lookup(name); (err == nil) != want {
			t.Errorf("name %q registered = %v, want %v", name, err == nil, want)
		}
	}
}

// TestNameHijack: a sandbox process cannot take the name of a process of
// app:system, by unregistering it and registering it for itself, and so
// cannot receive what is sent to that name. Only a caller the holder's
// host allows explicitly (process.registry.foreign) may release it.
func TestNameHijack(t *testing.T) {
	admins := policy(t, "app:admins-release", security.Allow, acts(security.ActionRegisterForeign), strs(hostSystem),
		security.Condition{Field: "actor.meta.role", Operator: security.OpEq, Value: "admin"})
	rt := newSecRuntime(t, secConfig{system: []*security.Policy{admins}})
	owner, ownerPID := target(t, rt, hostSystem, false)
	if err := rt.Register("payments", ownerPID); err != nil {
		t.Fatal(err)
	}
	thief, thiefPID := target(t, rt, hostSandbox, false)
	thief.on = nil
	err := as(t, rt, proc.SpawnRequest{Host: hostSandbox}, func(c *native.Ctx) error {
		if err := c.Unregister("payments", proc.ScopeLocal); err == nil {
			return c.Env().Register("payments", thiefPID, proc.ScopeLocal)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("registering the thief: %v", err)
	}
	if got, err := rt.Lookup("payments"); err != nil || got != ownerPID {
		t.Fatalf("payments -> %v, %v; want the app:system process", got, err)
	}
	if err := rt.SendName(pid.PID{}, "payments", "reply", msg.Int(1)); err != nil {
		t.Fatal(err)
	}
	if m := recv[native.Message](t, owner.ch); m.Topic != "reply" {
		t.Fatalf("the owner got %+v", m)
	}
	expectNothing(t, thief.ch, 20*time.Millisecond)
	// An admin actor is allowed by app:system's own policy.
	admin := &security.Actor{ID: "ops", Meta: map[string]any{"role": "admin"}}
	wantAllowed(t, "an admin releases the name", as(t, rt, proc.SpawnRequest{Host: hostSandbox, Actor: admin}, func(c *native.Ctx) error {
		return c.Unregister("payments", proc.ScopeLocal)
	}))
	if _, err := rt.Lookup("payments"); err == nil {
		t.Fatal("the admin's release did not take")
	}
}

// A child inherits its parent's actor and scope.
func TestChildInherits(t *testing.T) {
	rt := newSecRuntime(t, secConfig{})
	_, sysPID := target(t, rt, hostSystem, false)
	actor := &security.Actor{ID: "svc", Meta: map[string]any{"role": "worker"}}
	noSend := policy(t, "app:no-send", security.Deny, acts(security.ActionSend), strs(hostSystem))
	type seen struct {
		actor *security.Actor
		err   error
	}
	ch := make(chan seen, 1)
	err := as(t, rt, proc.SpawnRequest{Actor: actor, Scope: []*security.Policy{noSend}}, func(c *native.Ctx) error {
		if c.Env().Actor() != actor {
			t.Errorf("root actor %v", c.Env().Actor())
		}
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:child", Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
			ch <- seen{c.Env().Actor(), c.Send(sysPID, "x", msg.Nil)}
			c.Stop(msg.Nil)
			return nil
		}})})
		return err
	})
	wantAllowed(t, "spawn", err)
	got := <-ch
	if got.actor != actor {
		t.Fatalf("child actor %v, want the parent's", got.actor)
	}
	wantDenied(t, "child send", got.err)
}

// Narrowing: with_actor needs process.security, and a narrowed child may
// do an action only when its own context and every spawner's allow it.
func TestNarrowingNeverWidens(t *testing.T) {
	admin := &security.Actor{ID: "root", Meta: map[string]any{"role": "admin"}}
	guest := &security.Actor{ID: "guest", Meta: map[string]any{"role": "guest"}}
	adminsOnly := policy(t, "app:admins", security.Deny, acts(security.ActionSend), strs(hostSystem),
		security.Condition{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"})
	allowAll := policy(t, "app:all", security.Allow, strs("*"), strs("*"))
	noSecurity := policy(t, "app:no-security", security.Deny, acts(security.ActionSecurity), strs("*"))
	tests := []struct {
		name   string
		strict bool
		parent proc.SpawnRequest
		child  proc.SpawnRequest // the narrowing
		want   bool              // child may send into app:system
		spawn  bool              // the narrowed spawn itself is allowed
	}{
		{"no actor narrowed to admin", false, proc.SpawnRequest{}, proc.SpawnRequest{Actor: admin}, false, true},
		{"guest narrowed to admin", false, proc.SpawnRequest{Actor: guest}, proc.SpawnRequest{Actor: admin}, false, true},
		{"admin narrowed to guest", false, proc.SpawnRequest{Actor: admin}, proc.SpawnRequest{Actor: guest}, false, true},
		{"admin narrowed to admin", false, proc.SpawnRequest{Actor: admin}, proc.SpawnRequest{Actor: &security.Actor{ID: "root2", Meta: map[string]any{"role": "admin"}}}, true, true},
		{"strict: allow-all scope on a parent with none", true, proc.SpawnRequest{Actor: admin, Scope: []*security.Policy{policy(t, "app:sec", security.Allow, acts(security.ActionSecurity, security.ActionSpawn, security.ActionHost), strs("*"))}},
			proc.SpawnRequest{Scope: []*security.Policy{allowAll}}, false, true},
		{"process.security denied", false, proc.SpawnRequest{Actor: admin, Scope: []*security.Policy{noSecurity}}, proc.SpawnRequest{Actor: admin}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := newSecRuntime(t, secConfig{strict: tc.strict, system: []*security.Policy{adminsOnly}})
			_, sysPID := target(t, rt, hostSystem, false)
			ch := make(chan error, 1)
			var childActor *security.Actor
			err := as(t, rt, tc.parent, func(c *native.Ctx) error {
				req := tc.child
				req.Entry = "app:child"
				req.Behavior = native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
					childActor = c.Env().Actor()
					ch <- c.Send(sysPID, "x", msg.Nil)
					c.Stop(msg.Nil)
					return nil
				}})
				_, err := c.Spawn(req)
				return err
			})
			if !tc.spawn {
				wantDenied(t, "narrowed spawn", err)
				return
			}
			wantAllowed(t, "narrowed spawn", err)
			sendErr := <-ch
			if tc.child.Actor != nil && childActor != tc.child.Actor {
				t.Fatalf("child runs as %v, want %v", childActor, tc.child.Actor)
			}
			if tc.want {
				wantAllowed(t, "child send", sendErr)
			} else {
				wantDenied(t, "child send", sendErr)
			}
		})
	}
}

// Env.Can and Env.Authorize answer for the caller's own policies.
func TestCanAndAuthorize(t *testing.T) {
	rt := newSecRuntime(t, secConfig{sandbox: []*security.Policy{policy(t, "app:no-io", security.Deny, acts(security.ActionIO), strs("*"))}})
	scope := []*security.Policy{
		policy(t, "app:env", security.Deny, acts(security.ActionEnvGet), strs("SECRET")),
		policy(t, "app:tenant", security.Deny, strs("data.read"), strs("*"),
			security.Condition{Field: "meta.tenant", Operator: security.OpNe, Value: "t1"}),
	}
	err := as(t, rt, proc.SpawnRequest{Host: hostSandbox, Scope: scope}, func(c *native.Ctx) error {
		env := c.Env()
		for _, tc := range []struct {
			action   security.Action
			resource string
			meta     map[string]any
			want     bool
		}{
			{security.ActionEnvGet, "SECRET", nil, false},
			{security.ActionEnvGet, "PORT", nil, true},
			{security.ActionIO, hostSandbox, nil, false},
			{"data.read", "x", map[string]any{"tenant": "t1"}, true},
			{"data.read", "x", map[string]any{"tenant": "t2"}, false},
			{"data.read", "x", nil, false},
		} {
			if got := env.Can(tc.action, tc.resource, tc.meta); got != tc.want {
				t.Errorf("Can(%s, %s, %v) = %v, want %v", tc.action, tc.resource, tc.meta, got, tc.want)
			}
		}
		wantDenied(t, "Authorize env.get SECRET", env.Authorize(security.ActionEnvGet, "SECRET"))
		wantAllowed(t, "Authorize env.get PORT", env.Authorize(security.ActionEnvGet, "PORT"))
		// The runtime's facts win over a caller's meta.
		if env.Can(security.ActionIO, hostSandbox, map[string]any{"host": hostProcs}) {
			t.Error("meta.host from the caller overrode the runtime's")
		}
		return nil
	})
	wantAllowed(t, "checks", err)
}

func TestConfigRejectsBadPolicies(t *testing.T) {
	p := policy(t, "app:p", security.Allow, strs("*"), strs("*"))
	for name, mod := range map[string]func(*runtime.Config){
		"nil host policy":   func(c *runtime.Config) { c.Hosts[0].Policies = []*security.Policy{nil} },
		"table id mismatch": func(c *runtime.Config) { c.Policies = map[string]*security.Policy{"app:q": p} },
		"nil table entry":   func(c *runtime.Config) { c.Policies = map[string]*security.Policy{"app:p": nil} },
	} {
		cfg := runtime.DefaultConfig()
		mod(&cfg)
		if err := cfg.Validate(); !errors.Is(err, runtime.ErrConfig) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

// BenchmarkSendPolicy is the cost of one local send by a process: with no
// policy anywhere (the checks are skipped), with a scope whose policy does
// not match, and with a deny on the target's host that does not match.
func BenchmarkSendPolicy(b *testing.B) {
	other := policy(b, "app:other", security.Deny, strs("process.spawn"), strs("app:x"))
	for _, bc := range []struct {
		name  string
		sc    secConfig
		scope []*security.Policy
	}{
		{"none", secConfig{}, nil},
		{"scope", secConfig{}, []*security.Policy{other}},
		{"target_host", secConfig{system: []*security.Policy{policy(b, "app:sys", security.Deny, acts(security.ActionSend), strs("app:nowhere"))}}, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rt := newSecRuntime(b, bc.sc)
			sink, err := rt.Spawn(proc.SpawnRequest{Host: hostSystem, Behavior: native.New(&fn{})})
			if err != nil {
				b.Fatal(err)
			}
			err = as(b, rt, proc.SpawnRequest{Scope: bc.scope}, func(c *native.Ctx) error {
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := c.Send(sink, "x", msg.Nil); err != nil {
						return err
					}
				}
				b.StopTimer()
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	}
}

// A system process (the node's supervisor or -x watcher) is not checked,
// and its children get the identity their request gives, not a narrowing
// of its own: a service started by it runs as its own actor.
func TestSystemProcess(t *testing.T) {
	adminsOnly := policy(t, "app:admins", security.Deny, acts(security.ActionSend), strs(hostSystem),
		security.Condition{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"})
	allowAll := policy(t, "app:all", security.Allow, strs("*"), strs("*"))
	rt := newSecRuntime(t, secConfig{strict: true, system: []*security.Policy{adminsOnly}})
	_, sysPID := target(t, rt, hostSystem, false)
	admin := &security.Actor{ID: "svc", Meta: map[string]any{"role": "admin"}}
	ch := make(chan error, 2)
	child := func(c *native.Ctx, _ []msg.Value) error {
		ch <- c.Send(sysPID, "x", msg.Nil)
		c.Stop(msg.Nil)
		return nil
	}
	err := as(t, rt, proc.SpawnRequest{System: true}, func(c *native.Ctx) error {
		wantAllowed(t, "system send in strict mode", c.Send(sysPID, "x", msg.Nil))
		if _, err := c.Spawn(proc.SpawnRequest{Entry: "app:svc", Actor: admin, Scope: []*security.Policy{allowAll}, Behavior: native.New(&fn{init: child})}); err != nil {
			return err
		}
		// A plain child of a system process has no identity, not the
		// system's: in strict mode it may do nothing.
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:plain", Behavior: native.New(&fn{init: child})})
		return err
	})
	wantAllowed(t, "system spawns", err)
	results := []error{<-ch, <-ch}
	allowed, denied := 0, 0
	for _, e := range results {
		if e == nil {
			allowed++
		} else {
			wantDenied(t, "plain child", e)
			denied++
		}
	}
	if allowed != 1 || denied != 1 {
		t.Fatalf("children: %v", results)
	}
	// Only the node starts system processes.
	wantDenied(t, "system spawn from a process", as(t, rt, proc.SpawnRequest{System: true}, func(c *native.Ctx) error {
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:x", System: true, Behavior: native.New(&fn{})})
		return err
	}))
}
