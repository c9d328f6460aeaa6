package security

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestEvaluate(t *testing.T) {
	a := &Actor{ID: "svc", Meta: map[string]any{"role": "user"}}
	sendAll := allow(t, "allow-send", list("process.send"), list("*"))
	allowAll := allow(t, "allow-all", list("*"), list("*"))
	noSystem := deny(t, "no-system", list("process.send", "process.spawn"), list("app:system", "app:system.*"),
		Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"})
	noPid := deny(t, "no-pid", list("process.*"), list("{n1@app:system|0x1}"))
	perResource := allow(t, "own-host", list("process.send"), list("*"),
		Condition{Field: "resource", Operator: OpEq, ValueFrom: "meta.host"})

	target := list("{n1@app:system|0x1}", "app:system.logger", "app:system")
	tests := []struct {
		name     string
		policies []*Policy
		req      Request
		strict   bool
		outcome  Outcome
		permit   bool
		policy   string
		resource string
	}{
		{"no policies, lenient", nil, Request{Actor: a, Action: "process.send", Resources: target}, false, Undefined, true, "", ""},
		{"no policies, strict", nil, Request{Actor: a, Action: "process.send", Resources: target}, true, Undefined, false, "", ""},
		{"allow", []*Policy{sendAll}, Request{Actor: a, Action: "process.send", Resources: target}, true, Allowed, true, "allow-send", "{n1@app:system|0x1}"},
		{"allow other action undefined", []*Policy{sendAll}, Request{Actor: a, Action: "process.spawn", Resources: target}, true, Undefined, false, "", ""},
		{"deny wins after allow", []*Policy{allowAll, noSystem}, Request{Actor: a, Action: "process.send", Resources: target}, false, Denied, false, "no-system", "app:system.logger"},
		{"deny wins before allow", []*Policy{noSystem, allowAll}, Request{Actor: a, Action: "process.send", Resources: target}, false, Denied, false, "no-system", "app:system.logger"},
		{"deny by pid only", []*Policy{allowAll, noPid}, Request{Actor: a, Action: "process.terminate", Resources: target}, false, Denied, false, "no-pid", "{n1@app:system|0x1}"},
		{"deny by host id only", []*Policy{allowAll, noSystem}, Request{Actor: a, Action: "process.send", Resources: list("{n1@app:system|0x9}", "app:system")}, false, Denied, false, "no-system", "app:system"},
		{"deny condition fails for admin", []*Policy{allowAll, noSystem}, Request{Actor: &Actor{ID: "root", Meta: map[string]any{"role": "admin"}}, Action: "process.send", Resources: target}, true, Allowed, true, "allow-all", "{n1@app:system|0x1}"},
		{"deny applies to nil actor (ne on absent)", []*Policy{allowAll, noSystem}, Request{Action: "process.send", Resources: target}, false, Denied, false, "no-system", "app:system.logger"},
		{"deny action mismatch", []*Policy{noSystem}, Request{Actor: a, Action: "process.monitor", Resources: target}, false, Undefined, true, "", ""},
		{"nil policies skipped", []*Policy{nil, sendAll, nil}, Request{Action: "process.send", Resources: target}, true, Allowed, true, "allow-send", "{n1@app:system|0x1}"},
		{"condition per resource", []*Policy{perResource}, Request{Action: "process.send", Resources: list("{n1@app:x|0x1}", "app:x"), Meta: map[string]any{"host": "app:x"}}, true, Allowed, true, "own-host", "app:x"},
		{"condition per resource miss", []*Policy{perResource}, Request{Action: "process.send", Resources: list("{n1@app:x|0x1}", "app:x"), Meta: map[string]any{"host": "app:y"}}, true, Undefined, false, "", ""},
		{"no resources is one empty resource", []*Policy{allowAll}, Request{Action: "io"}, true, Allowed, true, "allow-all", ""},
		{"no resources and an exact pattern", []*Policy{sendAll, noSystem}, Request{Action: "process.send"}, true, Allowed, true, "allow-send", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.policies, tt.req, tt.strict)
			want := Decision{Outcome: tt.outcome, Permitted: tt.permit, Policy: tt.policy, Resource: tt.resource}
			if d != want {
				t.Fatalf("Evaluate() = %+v, want %+v", d, want)
			}
		})
	}
}

// TestDenyWinsAnyOrder: with one matching deny among any number of matching
// allows, every order of the policies is denied.
func TestDenyWinsAnyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ps := []*Policy{
		allow(t, "a1", list("*"), list("*")),
		allow(t, "a2", list("process.*"), list("app:*")),
		allow(t, "a3", list("process.send"), list("app:x")),
		deny(t, "d", list("process.send"), list("app:x")),
		deny(t, "other", list("env.get"), list("*")),
	}
	req := Request{Action: "process.send", Resources: list("app:x")}
	for i := 0; i < 200; i++ {
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		for _, strict := range []bool{false, true} {
			if d := Evaluate(ps, req, strict); d.Outcome != Denied || d.Permitted || d.Policy != "d" {
				t.Fatalf("order %v: %+v", ids(ps), d)
			}
		}
	}
}

func ids(ps []*Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID()
	}
	return out
}

func TestCheck(t *testing.T) {
	user := &Actor{ID: "bob", Meta: map[string]any{"role": "user"}}
	allowAll := allow(t, "app:allow-all", list("*"), list("*"))
	noSystemSend := deny(t, "app:no-system", list("process.send"), list("app:system"))
	noEnv := deny(t, "app:no-env", list("env.*"), list("*"))
	sendReq := Request{Actor: user, Action: "process.send", Resources: list("{n1@app:system|0x7}", "logger", "app:system"),
		Meta: map[string]any{"host": "app:processes", "node": "n1"}}
	tests := []struct {
		name                string
		scope, caller, dest []*Policy
		req                 Request
		strict              bool
		err                 *DeniedError // nil = permitted
	}{
		{"lenient undefined", nil, nil, nil, sendReq, false, nil},
		{"strict undefined", nil, nil, nil, sendReq, true,
			&DeniedError{Action: "process.send", Resource: "{n1@app:system|0x7}, logger, app:system", Actor: "bob"}},
		{"scope allows", []*Policy{allowAll}, nil, nil, sendReq, true, nil},
		{"caller host allows", nil, []*Policy{allowAll}, nil, sendReq, true, nil},
		{"target host allows", nil, nil, []*Policy{allowAll}, sendReq, true, nil},
		{"target host denies over scope allow", []*Policy{allowAll}, nil, []*Policy{noSystemSend}, sendReq, false,
			&DeniedError{Action: "process.send", Resource: "app:system", Policy: "app:no-system", Actor: "bob"}},
		{"caller host denies over scope allow", []*Policy{allowAll}, []*Policy{noEnv}, nil,
			Request{Actor: user, Action: "env.get", Resources: list("HOME")}, false,
			&DeniedError{Action: "env.get", Resource: "HOME", Policy: "app:no-env", Actor: "bob"}},
		{"scope deny over host allow", []*Policy{noEnv}, []*Policy{allowAll}, []*Policy{allowAll},
			Request{Action: "env.set", Resources: list("X")}, false,
			&DeniedError{Action: "env.set", Resource: "X", Policy: "app:no-env"}},
		{"deny elsewhere does not apply", []*Policy{allowAll}, []*Policy{noEnv}, []*Policy{noSystemSend},
			Request{Actor: user, Action: "process.send", Resources: list("{n1@app:processes|0x2}", "app:processes")}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.scope, tt.caller, tt.dest, tt.req, tt.strict)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("Check() = %v, want ErrPermissionDenied", err)
			}
			var de *DeniedError
			if !errors.As(err, &de) || *de != *tt.err {
				t.Fatalf("Check() = %#v, want %#v", err, tt.err)
			}
		})
	}
}

func TestDeniedErrorText(t *testing.T) {
	e := &DeniedError{Action: "process.send", Resource: "app:system", Policy: "app:no-system"}
	if got, want := e.Error(), "security: permission denied: process.send on app:system: denied by app:no-system"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	e = &DeniedError{Action: "io", Resource: "app:terminal"}
	if got, want := e.Error(), "security: permission denied: io on app:terminal: no policy allows it (strict mode)"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func TestCheckNarrowed(t *testing.T) {
	parent := &Actor{ID: "parent", Meta: map[string]any{"role": "admin"}}
	child := &Actor{ID: "child", Meta: map[string]any{"role": "guest"}}
	allowAll := allow(t, "allow-all", list("*"), list("*"))
	sendOnly := allow(t, "send-only", list("process.send"), list("*"))
	adminOnly := deny(t, "admin-only", list("*"), list("*"), Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"})
	noSpawn := deny(t, "no-spawn", list("process.spawn"), list("*"))

	send := Request{Action: "process.send", Resources: list("app:x")}
	spawn := Request{Action: "process.spawn", Resources: list("app:worker")}
	tests := []struct {
		name   string
		chain  Chain
		host   []*Policy
		req    Request
		strict bool
		want   string // "" = permitted, else the refusing actor id (or "-" for none)
	}{
		{"empty chain uses request actor", nil, nil, send, true, "-"},
		{"empty chain host allows", nil, []*Policy{allowAll}, send, true, ""},
		{"one layer allows", Chain{{parent, []*Policy{allowAll}}}, nil, spawn, true, ""},
		{"child narrower scope refuses", Chain{{parent, []*Policy{allowAll}}, {parent, []*Policy{sendOnly}}}, nil, spawn, true, "parent"},
		{"child narrower scope allows what both allow", Chain{{parent, []*Policy{allowAll}}, {parent, []*Policy{sendOnly}}}, nil, send, true, ""},
		{"child wider scope cannot widen", Chain{{parent, []*Policy{sendOnly}}, {child, []*Policy{allowAll}}}, nil, spawn, true, "parent"},
		{"parent deny holds for child with allow-all", Chain{{parent, []*Policy{allowAll, noSpawn}}, {child, []*Policy{allowAll}}}, nil, spawn, false, "parent"},
		{"child actor judged by host policy", Chain{{parent, []*Policy{allowAll}}, {child, []*Policy{allowAll}}}, []*Policy{adminOnly}, send, false, "child"},
		{"parent actor passes host policy", Chain{{parent, []*Policy{allowAll}}}, []*Policy{adminOnly}, send, false, ""},
		{"nil actor layer", Chain{{parent, []*Policy{allowAll}}, {nil, []*Policy{allowAll}}}, []*Policy{adminOnly}, send, false, "-"},
		{"lenient undefined everywhere", Chain{{parent, nil}, {child, nil}}, nil, spawn, false, ""},
		{"strict undefined in child", Chain{{parent, []*Policy{allowAll}}, {child, nil}}, nil, spawn, true, "child"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckNarrowed(tt.chain, tt.host, nil, tt.req, tt.strict)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckNarrowed() = %v, want nil", err)
				}
				return
			}
			var de *DeniedError
			if !errors.As(err, &de) || !errors.Is(err, ErrPermissionDenied) {
				t.Fatalf("CheckNarrowed() = %v, want a DeniedError", err)
			}
			want := tt.want
			if want == "-" {
				want = ""
			}
			if de.Actor != want {
				t.Fatalf("refused by actor %q, want %q", de.Actor, want)
			}
		})
	}
}

// TestNarrowingNeverWidens: over random policies and chains, whatever a
// chain permits, each of its layers permits alone, and adding a layer never
// permits something the shorter chain refused.
func TestNarrowingNeverWidens(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	actions := []Action{ActionSend, ActionSpawn, ActionEnvGet}
	resources := list("app:a", "app:b", "app:b.x")
	var pool []*Policy
	for i := 0; i < 12; i++ {
		spec := PolicySpec{
			ID:        fmt.Sprintf("p%d", i),
			Actions:   list([]string{"*", "process.*", "process.send", "env.get"}[r.IntN(4)]),
			Resources: list([]string{"*", "app:b*", "app:a", "app:b.x"}[r.IntN(4)]),
			Effect:    []Effect{Allow, Allow, Deny}[r.IntN(3)],
		}
		if r.IntN(3) == 0 {
			spec.Conditions = []Condition{{Field: "actor.meta.level", Operator: OpGte, Value: r.IntN(3)}}
		}
		pool = append(pool, mustPolicy(t, spec))
	}
	randScope := func() []*Policy {
		var s []*Policy
		for _, p := range pool {
			if r.IntN(3) == 0 {
				s = append(s, p)
			}
		}
		return s
	}
	randActor := func() *Actor {
		if r.IntN(4) == 0 {
			return nil
		}
		return &Actor{ID: "x", Meta: map[string]any{"level": r.IntN(3)}}
	}
	for i := 0; i < 3000; i++ {
		var chain Chain
		for n := 1 + r.IntN(3); n > 0; n-- {
			chain = chain.Narrow(randActor(), randScope())
		}
		host := randScope()
		req := Request{Action: actions[r.IntN(len(actions))], Resources: list(resources[r.IntN(len(resources))])}
		strict := r.IntN(2) == 0
		whole := CheckNarrowed(chain, host, nil, req, strict) == nil
		if whole {
			for j, l := range chain {
				req.Actor = l.Actor
				if Check(l.Scope, host, nil, req, strict) != nil {
					t.Fatalf("round %d: chain permits %s but layer %d refuses", i, req.Action, j)
				}
			}
		}
		longer := chain.Narrow(randActor(), randScope())
		if !whole && CheckNarrowed(longer, host, nil, req, strict) == nil {
			t.Fatalf("round %d: a narrowing widened %s", i, req.Action)
		}
	}
}

func TestChain(t *testing.T) {
	a, b := &Actor{ID: "a"}, &Actor{ID: "b"}
	var root Chain
	if root.Actor() != nil {
		t.Fatal("empty chain has an actor")
	}
	c1 := root.Narrow(a, nil)
	c2 := c1.Narrow(b, nil)
	c3 := c1.Narrow(a, nil)
	if c1.Actor() != a || c2.Actor() != b || c3.Actor() != a {
		t.Fatal("Actor() is not the innermost layer's")
	}
	if len(c1) != 1 || len(c2) != 2 || len(c3) != 2 || c2[1].Actor != b {
		t.Fatalf("Narrow shared or lost layers: %v %v %v", c1, c2, c3)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Undefined: "undefined", Allowed: "allowed", Denied: "denied", 9: "outcome(9)"} {
		if o.String() != want {
			t.Errorf("Outcome(%d) = %q, want %q", uint8(o), o.String(), want)
		}
	}
}

func benchPolicies(tb testing.TB) ([]*Policy, []*Policy, Request) {
	scope := []*Policy{
		allow(tb, "app:allow-send", list("process.send", "process.spawn*"), list("*")),
		deny(tb, "app:no-system", list("process.*"), list("app:system", "app:system.*"),
			Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"}),
	}
	host := []*Policy{
		deny(tb, "app:level", list("*"), list("*"), Condition{Field: "actor.meta.level", Operator: OpLt, Value: 1}),
		deny(tb, "app:nodes", list("*"), list("*"), Condition{Field: "meta.node", Operator: OpIn, Value: list("bad1", "bad2")}),
	}
	req := Request{
		Actor:     &Actor{ID: "svc", Meta: map[string]any{"role": "user", "level": 3}},
		Action:    "process.send",
		Resources: list("{n1@app:processes|0x0004a}", "worker", "app:processes"),
		Meta:      map[string]any{"host": "app:processes", "node": "n1"},
	}
	return scope, host, req
}

// TestCheckDoesNotAllocate: Check runs on every send, so a permitted check
// must not allocate.
func TestCheckDoesNotAllocate(t *testing.T) {
	scope, host, req := benchPolicies(t)
	if err := Check(scope, host, host, req, true); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Check(scope, host, host, req, true) }); n != 0 {
		t.Fatalf("Check allocates %v times per call", n)
	}
}

func BenchmarkCheck(b *testing.B) {
	scope, host, req := benchPolicies(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(scope, host, host, req, true); err != nil {
			b.Fatal(err)
		}
	}
}
