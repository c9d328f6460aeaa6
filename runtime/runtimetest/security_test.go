package runtimetest_test

import (
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/runtimetest"
	"github.com/wippyd/wippyd/runtime/security"
)

func mustPolicy(t *testing.T, id string, effect security.Effect, action security.Action, resource string) *security.Policy {
	t.Helper()
	p, err := security.Compile(security.PolicySpec{ID: id, Actions: []string{string(action)}, Resources: []string{resource}, Effect: effect})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func isDenied(err error) bool {
	e := proc.AsError(err)
	return e != nil && e.Kind == proc.KindPermissionDenied
}

// The harness checks a process's calls as a node does: a denied call
// returns PERMISSION_DENIED and is not recorded.
func TestHarnessChecksPolicies(t *testing.T) {
	sys := pid.PID{Node: runtimetest.DefaultNode, Host: "app:system", Seq: 50}
	other := pid.PID{Node: runtimetest.DefaultNode, Host: "app:other", Seq: 51}
	actor := &security.Actor{ID: "svc"}
	errs := map[string]error{}
	var seen *security.Actor
	var can, canEnv bool
	h := runtimetest.New(t, native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		env := c.Env()
		seen = env.Actor()
		errs["send system"] = c.Send(sys, "x", msg.Nil)
		errs["send other"] = c.Send(other, "x", msg.Nil)
		errs["terminate system"] = c.Terminate(sys)
		errs["monitor system"] = c.Monitor(sys)
		_, errs["spawn secret"] = c.Spawn(proc.SpawnRequest{Entry: "app:secret"})
		_, errs["spawn worker"] = c.Spawn(proc.SpawnRequest{Entry: "app:worker"})
		errs["env.get"] = env.Authorize(security.ActionEnvGet, "TOKEN")
		can = env.Can(security.ActionEnvGet, "TOKEN", nil)
		canEnv = env.Can(security.ActionEnvGet, "PORT", nil)
		return nil
	}}),
		runtimetest.WithActor(actor),
		runtimetest.WithScope(mustPolicy(t, "app:no-secret", security.Deny, security.ActionSpawn, "app:secret"),
			mustPolicy(t, "app:no-token", security.Deny, security.ActionEnvGet, "TOKEN")),
		runtimetest.WithHostPolicies("app:system", mustPolicy(t, "app:closed", security.Deny, "process.*", "app:system")),
	)
	h.Start()
	if seen != actor {
		t.Fatalf("Actor() = %v", seen)
	}
	for what, denied := range map[string]bool{
		"send system": true, "send other": false, "terminate system": true, "monitor system": true,
		"spawn secret": true, "spawn worker": false, "env.get": true,
	} {
		if isDenied(errs[what]) != denied {
			t.Errorf("%s: %v, want denied %v", what, errs[what], denied)
		}
	}
	if can || !canEnv {
		t.Errorf("Can(env.get TOKEN) = %v, Can(env.get PORT) = %v", can, canEnv)
	}
	wantSent(t, h.Sent(), runtimetest.Sent{To: other, Topic: "x"})
	if got := h.Spawned(); len(got) != 1 || got[0].Entry != "app:worker" {
		t.Fatalf("spawned %v", got)
	}
	if len(h.Terminated()) != 0 || len(h.Monitors()) != 0 {
		t.Fatalf("denied calls recorded: terminated %v monitors %v", h.Terminated(), h.Monitors())
	}
}

func TestHarnessStrictMode(t *testing.T) {
	to := pid.PID{Node: runtimetest.DefaultNode, Host: "app:x", Seq: 9}
	var undecided, allowed error
	h := runtimetest.New(t, native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		undecided = c.Cancel(to, "")
		allowed = c.Send(to, "x", msg.Nil)
		return nil
	}}), runtimetest.WithStrictMode(), runtimetest.WithScope(mustPolicy(t, "app:send", security.Allow, security.ActionSend, "*")))
	h.Start()
	if !isDenied(undecided) || allowed != nil {
		t.Fatalf("strict: cancel %v, send %v", undecided, allowed)
	}
}

// fn is a native process whose Init is a closure.
type fn struct {
	init func(c *native.Ctx, args []msg.Value) error
}

func (f *fn) Init(c *native.Ctx, args []msg.Value) error { return f.init(c, args) }

func (f *fn) HandleMessage(*native.Ctx, native.Message) error { return nil }
