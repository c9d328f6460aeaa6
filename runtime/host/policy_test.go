package host

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustPolicy(t testing.TB, spec Policy) *Policy {
	t.Helper()
	p, err := NewPolicy(spec)
	if err != nil {
		t.Fatalf("NewPolicy(%s): %v", spec.ID, err)
	}
	return p
}

func allow(t testing.TB, id string, actions, resources []string, conds ...Condition) *Policy {
	return mustPolicy(t, Policy{ID: id, Actions: actions, Resources: resources, Effect: Allow, Conditions: conds})
}

func deny(t testing.TB, id string, actions, resources []string, conds ...Condition) *Policy {
	return mustPolicy(t, Policy{ID: id, Actions: actions, Resources: resources, Effect: Deny, Conditions: conds})
}

func list(s ...string) []string { return s }

func TestNewPolicyValidation(t *testing.T) {
	ok := Policy{ID: "app:p", Actions: list("*"), Resources: list("*"), Effect: Allow}
	with := func(f func(*Policy)) Policy {
		p := ok
		f(&p)
		return p
	}
	cond := func(c Condition) Policy { return with(func(p *Policy) { p.Conditions = []Condition{c} }) }
	tests := []struct {
		name string
		spec Policy
		want string // "" = valid; otherwise a substring of the error
	}{
		{"minimal", ok, ""},
		{"deny", with(func(p *Policy) { p.Effect = Deny }), ""},
		{"trailing wildcards", with(func(p *Policy) { p.Actions = list("process.*"); p.Resources = list("app:system.*", "x") }), ""},
		{"missing effect", with(func(p *Policy) { p.Effect = "" }), `effect ""`},
		{"bad effect", with(func(p *Policy) { p.Effect = "maybe" }), `effect "maybe"`},
		{"no actions", with(func(p *Policy) { p.Actions = nil }), "no actions"},
		{"no resources", with(func(p *Policy) { p.Resources = nil }), "no resources"},
		{"empty pattern", with(func(p *Policy) { p.Actions = list("") }), "empty pattern"},
		{"inner wildcard", with(func(p *Policy) { p.Resources = list("app:*.x") }), "only allowed at the end"},
		{"double wildcard", with(func(p *Policy) { p.Resources = list("**") }), "only allowed at the end"},
		{"unknown field", cond(Condition{Field: "actor.name", Operator: OpEq, Value: "x"}), `unknown field "actor.name"`},
		{"bare actor.meta", cond(Condition{Field: "actor.meta.", Operator: OpEq, Value: "x"}), "unknown field"},
		{"bare meta", cond(Condition{Field: "meta", Operator: OpEq, Value: "x"}), "unknown field"},
		{"unknown operator", cond(Condition{Field: "action", Operator: "like", Value: "x"}), `unknown operator "like"`},
		{"unknown operator with value_from", cond(Condition{Field: "action", Operator: "like", ValueFrom: "resource"}), `unknown operator "like"`},
		{"no value", cond(Condition{Field: "action", Operator: OpEq}), "neither value nor value_from"},
		{"both value and value_from", cond(Condition{Field: "action", Operator: OpEq, Value: "x", ValueFrom: "resource"}), "both value and value_from"},
		{"bad value_from", cond(Condition{Field: "action", Operator: OpEq, ValueFrom: "nope"}), `unknown field "nope"`},
		{"in needs a list", cond(Condition{Field: "action", Operator: OpIn, Value: "x"}), "in needs a list"},
		{"in with non-scalar element", cond(Condition{Field: "action", Operator: OpIn, Value: []any{"a", []int{1}}}), "element 2 is not a scalar"},
		{"in with nil element", cond(Condition{Field: "action", Operator: OpIn, Value: []any{nil}}), "element 1 is not a scalar"},
		{"eq needs a scalar", cond(Condition{Field: "action", Operator: OpEq, Value: []string{"a"}}), "needs a scalar value"},
		{"matches needs a string", cond(Condition{Field: "action", Operator: OpMatches, Value: 5}), "needs a string pattern"},
		{"matches bad regexp", cond(Condition{Field: "action", Operator: OpMatches, Value: "("}), "matches:"},
		{"matches with value_from is fine", cond(Condition{Field: "action", Operator: OpMatches, ValueFrom: "meta.re"}), ""},
		{"in with value_from is fine", cond(Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "actor.meta.admins"}), ""},
		{"empty in list is fine", cond(Condition{Field: "action", Operator: OpIn, Value: []string{}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.spec)
			if tt.want == "" {
				if err != nil || p == nil {
					t.Fatalf("NewPolicy() = %v, %v; want a policy", p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPolicy() error = %v, want ErrInvalidPolicy containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "host: invalid policy: app:p:") {
				t.Fatalf("error %q does not name the policy", err)
			}
			if p != nil {
				t.Fatal("NewPolicy returned a policy with an error")
			}
		})
	}
}

func TestNewPolicyReportsEveryProblem(t *testing.T) {
	_, err := NewPolicy(Policy{ID: "x", Effect: "no", Conditions: []Condition{{Field: "?", Operator: OpEq, Value: 1}}})
	for _, want := range []string{"effect", "no actions", "no resources", "condition 1"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewPolicyCopies(t *testing.T) {
	spec := Policy{ID: "p", Actions: list("process.send"), Resources: list("a"), Effect: Deny}
	p := mustPolicy(t, spec)
	spec.Actions[0] = "*"
	p.Resources[0] = "*" // exported fields are informational after NewPolicy
	req := Request{Action: "process.send", Resources: list("a")}
	if d := Evaluate([]*Policy{p}, req, false); d.Outcome != Denied {
		t.Fatalf("outcome %s, want denied", d.Outcome)
	}
	if d := Evaluate([]*Policy{p}, Request{Action: "process.spawn", Resources: list("a")}, false); d.Outcome != Undefined {
		t.Fatalf("caller's slice leaked into the policy: %s", d.Outcome)
	}
	if d := Evaluate([]*Policy{p}, Request{Action: "process.send", Resources: list("b")}, false); d.Outcome != Undefined {
		t.Fatalf("changing exported fields changed the decision: %s", d.Outcome)
	}
}

func TestNewPolicyConditionsAreFrozen(t *testing.T) {
	p := deny(t, "p", list("*"), list("*"), Condition{Field: "actor.id", Operator: OpEq, Value: "eve"})
	p.Conditions[0].Operator = OpNe
	p.Conditions[0].Value = "bob"
	req := Request{Actor: &Actor{ID: "eve"}, Action: "x"}
	if d := Evaluate([]*Policy{p}, req, false); d.Outcome != Denied {
		t.Fatalf("outcome %s after editing exported fields, want denied", d.Outcome)
	}
	// Rebuilding from an edited built policy takes the new fields.
	q := mustPolicy(t, *p)
	if d := Evaluate([]*Policy{q}, req, false); d.Outcome != Denied {
		t.Fatalf("rebuilt eve ne bob: outcome %s, want denied", d.Outcome)
	}
	q.Conditions[0].Value = nil
	q.Conditions[0].ValueFrom = "actor.id"
	r := mustPolicy(t, *q) // eve ne eve: does not match
	if d := Evaluate([]*Policy{r}, req, false); d.Outcome != Undefined {
		t.Fatalf("rebuilt with value_from: outcome %s, want undefined", d.Outcome)
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern, input string
		want           bool
	}{
		{"*", "anything", true},
		{"*", "", true},
		{"process.send", "process.send", true},
		{"process.send", "process.sends", false},
		{"process.send", "process", false},
		{"process.*", "process.send", true},
		{"process.*", "process.spawn.monitored", true},
		{"process.*", "process", false},
		{"process.*", "processes.x", false},
		{"process*", "process", true},
		{"process*", "processes", true},
		{"app:system.*", "app:system.x", true},
		{"app:system.*", "app:system", false},
		{"app:system", "app:system", true},
		{"app:system", "app:system.x", false},
		{"app:*", "app:processes", true},
		{"app:*", "{n1@app:processes|0x0004a}", false},
		{"{n1@app:processes|0x0004a}", "{n1@app:processes|0x0004a}", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.input, func(t *testing.T) {
			// The same syntax serves actions and resources.
			pa := allow(t, "a", list(tt.pattern), list("*"))
			pr := allow(t, "r", list("*"), list(tt.pattern))
			if got := Evaluate([]*Policy{pa}, Request{Action: tt.input}, true).Permitted; got != tt.want {
				t.Errorf("action pattern %q on %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
			if got := Evaluate([]*Policy{pr}, Request{Action: "x", Resources: list(tt.input)}, true).Permitted; got != tt.want {
				t.Errorf("resource pattern %q on %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	admin := &Actor{ID: "alice", Meta: map[string]any{
		"role": "admin", "level": 5, "score": 2.5, "big": uint64(1 << 63), "on": true,
		"num_text": "10", "admins": []string{"alice", "bob"}, "mixed": []any{"x", 7, nil},
		"none": nil, "same": "alice", "i8": int8(-3), "f32": float32(0.5),
	}}
	req := Request{
		Actor:     admin,
		Action:    "process.send",
		Resources: list("app:system"),
		Meta:      map[string]string{"host": "app:processes", "node": "n1", "level": "7", "empty": ""},
	}
	noActor := req
	noActor.Actor = nil
	tests := []struct {
		name string
		c    Condition
		req  Request
		want bool
	}{
		// eq / ne on text and numbers
		{"eq text", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}, req, true},
		{"eq text differs", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "user"}, req, false},
		{"ne text", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "user"}, req, true},
		{"ne text same", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"}, req, false},
		{"eq int with text number", Condition{Field: "actor.meta.level", Operator: OpEq, Value: "5"}, req, true},
		{"eq int with float", Condition{Field: "actor.meta.level", Operator: OpEq, Value: 5.0}, req, true},
		{"eq text number with int", Condition{Field: "meta.level", Operator: OpEq, Value: 7}, req, true},
		{"eq numeric text forms", Condition{Field: "meta.level", Operator: OpEq, Value: "7.0"}, req, true},
		{"eq bool", Condition{Field: "actor.meta.on", Operator: OpEq, Value: true}, req, true},
		{"eq bool as text", Condition{Field: "actor.meta.on", Operator: OpEq, Value: "true"}, req, true},
		{"eq bool false", Condition{Field: "actor.meta.on", Operator: OpEq, Value: false}, req, false},
		{"eq empty meta", Condition{Field: "meta.empty", Operator: OpEq, Value: ""}, req, true},
		{"eq small int types", Condition{Field: "actor.meta.i8", Operator: OpEq, Value: int64(-3)}, req, true},
		{"eq float32", Condition{Field: "actor.meta.f32", Operator: OpEq, Value: "0.5"}, req, true},
		{"eq actor id", Condition{Field: "actor.id", Operator: OpEq, Value: "alice"}, req, true},
		{"eq action", Condition{Field: "action", Operator: OpEq, Value: "process.send"}, req, true},
		{"eq resource", Condition{Field: "resource", Operator: OpEq, Value: "app:system"}, req, true},
		{"eq meta.host", Condition{Field: "meta.host", Operator: OpEq, Value: "app:processes"}, req, true},
		{"eq meta.node", Condition{Field: "meta.node", Operator: OpEq, Value: "n2"}, req, false},
		// ordering: numeric when both are numbers, text otherwise
		{"lt numeric", Condition{Field: "actor.meta.level", Operator: OpLt, Value: 10}, req, true},
		{"lt numeric not text", Condition{Field: "actor.meta.num_text", Operator: OpLt, Value: 9}, req, false}, // 10 < 9 false; "10" < "9" would be true
		{"lt equal", Condition{Field: "actor.meta.level", Operator: OpLt, Value: 5}, req, false},
		{"lte equal", Condition{Field: "actor.meta.level", Operator: OpLte, Value: 5}, req, true},
		{"lte above", Condition{Field: "actor.meta.level", Operator: OpLte, Value: 4}, req, false},
		{"gt float", Condition{Field: "actor.meta.score", Operator: OpGt, Value: 2}, req, true},
		{"gt equal", Condition{Field: "actor.meta.score", Operator: OpGt, Value: 2.5}, req, false},
		{"gte equal", Condition{Field: "actor.meta.score", Operator: OpGte, Value: "2.5"}, req, true},
		{"gte below", Condition{Field: "actor.meta.score", Operator: OpGte, Value: 3}, req, false},
		{"gt huge uint", Condition{Field: "actor.meta.big", Operator: OpGt, Value: int64(1 << 62)}, req, true},
		{"lt text", Condition{Field: "actor.meta.role", Operator: OpLt, Value: "b"}, req, true},
		{"gt text", Condition{Field: "actor.meta.role", Operator: OpGt, Value: "b"}, req, false},
		{"number vs word compares text", Condition{Field: "actor.meta.level", Operator: OpLt, Value: "a"}, req, true}, // "5" < "a"
		{"nan text is not a number", Condition{Field: "meta.level", Operator: OpLt, Value: "NaN"}, req, true},         // "7" < "NaN" as text
		// in
		{"in list hit", Condition{Field: "actor.meta.role", Operator: OpIn, Value: []string{"user", "admin"}}, req, true},
		{"in list miss", Condition{Field: "actor.meta.role", Operator: OpIn, Value: []any{"user", 1}}, req, false},
		{"in list numeric", Condition{Field: "actor.meta.level", Operator: OpIn, Value: []any{"3", 5.0}}, req, true},
		{"in int list", Condition{Field: "meta.level", Operator: OpIn, Value: []int{6, 7}}, req, true},
		{"in empty list", Condition{Field: "action", Operator: OpIn, Value: []string{}}, req, false},
		// matches
		{"matches", Condition{Field: "resource", Operator: OpMatches, Value: `^app:sys`}, req, true},
		{"matches unanchored", Condition{Field: "action", Operator: OpMatches, Value: `send`}, req, true},
		{"matches miss", Condition{Field: "action", Operator: OpMatches, Value: `^send`}, req, false},
		{"matches a number's text", Condition{Field: "actor.meta.level", Operator: OpMatches, Value: `^5$`}, req, true},
		{"matches a float's text", Condition{Field: "actor.meta.score", Operator: OpMatches, Value: `^2\.5$`}, req, true},
		// value_from
		{"value_from matches", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `^app:s`), true},
		{"value_from matches miss", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `^x`), false},
		{"value_from matches bad pattern", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, withMeta(req, "re", `(`), false},
		{"value_from matches absent", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.re"}, req, false},
		{"value_from eq", Condition{Field: "actor.id", Operator: OpEq, ValueFrom: "actor.meta.same"}, req, true},
		{"value_from ne", Condition{Field: "actor.id", Operator: OpNe, ValueFrom: "actor.meta.role"}, req, true},
		{"value_from numeric", Condition{Field: "actor.meta.level", Operator: OpLt, ValueFrom: "meta.level"}, req, true},
		{"value_from in list", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "actor.meta.admins"}, req, true},
		{"value_from in any list", Condition{Field: "meta.level", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, req, true},
		{"value_from in any list miss", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, req, false},
		{"value_from in string list miss", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.admins"}, req, false},
		{"value_from in any list hit", Condition{Field: "actor.meta.role", Operator: OpIn, ValueFrom: "actor.meta.mixed"}, Request{Actor: &Actor{Meta: map[string]any{"role": 7, "mixed": []any{"x", 7, nil}}}}, true},
		{"value_from in scalar", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "actor.meta.same"}, req, true},
		{"value_from resource", Condition{Field: "meta.host", Operator: OpNe, ValueFrom: "resource"}, req, true},
		// absent fields: everything false except ne
		{"absent eq", Condition{Field: "actor.meta.missing", Operator: OpEq, Value: "x"}, req, false},
		{"absent ne", Condition{Field: "actor.meta.missing", Operator: OpNe, Value: "x"}, req, true},
		{"absent lt", Condition{Field: "actor.meta.missing", Operator: OpLt, Value: 1}, req, false},
		{"absent lte", Condition{Field: "actor.meta.missing", Operator: OpLte, Value: 1}, req, false},
		{"absent gt", Condition{Field: "actor.meta.missing", Operator: OpGt, Value: 1}, req, false},
		{"absent gte", Condition{Field: "actor.meta.missing", Operator: OpGte, Value: 1}, req, false},
		{"absent in", Condition{Field: "actor.meta.missing", Operator: OpIn, Value: []string{""}}, req, false},
		{"absent matches", Condition{Field: "actor.meta.missing", Operator: OpMatches, Value: ".*"}, req, false},
		{"absent eq empty text", Condition{Field: "meta.missing", Operator: OpEq, Value: ""}, req, false},
		{"nil meta value is absent", Condition{Field: "actor.meta.none", Operator: OpEq, Value: ""}, req, false},
		{"nil meta value ne", Condition{Field: "actor.meta.none", Operator: OpNe, Value: ""}, req, true},
		{"absent value_from eq", Condition{Field: "actor.id", Operator: OpEq, ValueFrom: "meta.missing"}, req, false},
		{"absent value_from ne", Condition{Field: "actor.id", Operator: OpNe, ValueFrom: "meta.missing"}, req, true},
		{"absent value_from in", Condition{Field: "actor.id", Operator: OpIn, ValueFrom: "meta.missing"}, req, false},
		{"nil request meta", Condition{Field: "meta.host", Operator: OpEq, Value: "x"}, Request{Action: "a"}, false},
		// nil actor: actor fields are absent, the rest still works
		{"nil actor id eq", Condition{Field: "actor.id", Operator: OpEq, Value: ""}, noActor, false},
		{"nil actor id ne", Condition{Field: "actor.id", Operator: OpNe, Value: "alice"}, noActor, true},
		{"nil actor meta ne", Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"}, noActor, true},
		{"nil actor meta gte", Condition{Field: "actor.meta.level", Operator: OpGte, Value: 0}, noActor, false},
		{"nil actor value_from", Condition{Field: "meta.node", Operator: OpEq, ValueFrom: "actor.id"}, noActor, false},
		{"nil actor action", Condition{Field: "action", Operator: OpEq, Value: "process.send"}, noActor, true},
		{"actor without meta", Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}, Request{Actor: &Actor{ID: "x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := allow(t, "p", list("*"), list("*"), tt.c)
			d := Evaluate([]*Policy{p}, tt.req, true)
			if got := d.Outcome == Allowed; got != tt.want {
				t.Fatalf("condition %+v = %v, want %v", tt.c, got, tt.want)
			}
		})
	}
}

func withMeta(req Request, k, v string) Request {
	m := map[string]string{k: v}
	for mk, mv := range req.Meta {
		if mk != k {
			m[mk] = mv
		}
	}
	req.Meta = m
	return req
}

func TestConditionsAllMustHold(t *testing.T) {
	role := Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"}
	node := Condition{Field: "meta.node", Operator: OpEq, Value: "n1"}
	p := allow(t, "p", list("*"), list("*"), role, node)
	a := &Actor{ID: "a", Meta: map[string]any{"role": "admin"}}
	if !Evaluate([]*Policy{p}, Request{Actor: a, Meta: map[string]string{"node": "n1"}}, true).Permitted {
		t.Fatal("both conditions hold, want allowed")
	}
	if Evaluate([]*Policy{p}, Request{Actor: a, Meta: map[string]string{"node": "n2"}}, true).Permitted {
		t.Fatal("one condition fails, want not allowed")
	}
}

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
		{"condition per resource", []*Policy{perResource}, Request{Action: "process.send", Resources: list("{n1@app:x|0x1}", "app:x"), Meta: map[string]string{"host": "app:x"}}, true, Allowed, true, "own-host", "app:x"},
		{"condition per resource miss", []*Policy{perResource}, Request{Action: "process.send", Resources: list("{n1@app:x|0x1}", "app:x"), Meta: map[string]string{"host": "app:y"}}, true, Undefined, false, "", ""},
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
		out[i] = p.ID
	}
	return out
}

func TestCheck(t *testing.T) {
	user := &Actor{ID: "bob", Meta: map[string]any{"role": "user"}}
	allowAll := allow(t, "app:allow-all", list("*"), list("*"))
	noSystemSend := deny(t, "app:no-system", list("process.send"), list("app:system"))
	noEnv := deny(t, "app:no-env", list("env.*"), list("*"))
	sendReq := Request{Actor: user, Action: "process.send", Resources: list("{n1@app:system|0x7}", "logger", "app:system"),
		Meta: map[string]string{"host": "app:processes", "node": "n1"}}
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
	if got, want := e.Error(), "host: permission denied: process.send on app:system: denied by app:no-system"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	e = &DeniedError{Action: "io", Resource: "app:terminal"}
	if got, want := e.Error(), "host: permission denied: io on app:terminal: no policy allows it (strict mode)"; got != want {
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
	actions := list("process.send", "process.spawn", "env.get")
	resources := list("app:a", "app:b", "app:b.x")
	var pool []*Policy
	for i := 0; i < 12; i++ {
		spec := Policy{
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

func TestResolve(t *testing.T) {
	mk := func(id string, groups ...string) *Policy {
		return mustPolicy(t, Policy{ID: id, Actions: list("*"), Resources: list("*"), Effect: Allow, Groups: groups})
	}
	all := map[string]*Policy{
		"app:a": mk("app:a", "admin"),
		"app:b": mk("app:b", "admin", "sandbox"),
		"app:c": mk("app:c"),
		"app:d": mk("app:d", "sandbox"),
	}
	tests := []struct {
		name        string
		ids, groups []string
		want        []string
		errs        []error
		errText     []string
	}{
		{name: "nothing", want: []string{}},
		{name: "ids", ids: list("app:c", "app:a"), want: list("app:a", "app:c")},
		{name: "group", groups: list("sandbox"), want: list("app:b", "app:d")},
		{name: "ids and groups deduplicated", ids: list("app:b", "app:b"), groups: list("admin", "sandbox"), want: list("app:a", "app:b", "app:d")},
		{name: "unknown id", ids: list("app:a", "app:zz"), errs: []error{ErrUnknownPolicy}, errText: list("host: unknown policy: app:zz")},
		{name: "unknown group", groups: list("nope"), errs: []error{ErrUnknownGroup}, errText: list("host: unknown policy group: nope")},
		{name: "all problems", ids: list("x"), groups: list("y"), errs: []error{ErrUnknownPolicy, ErrUnknownGroup}, errText: list(": x", ": y")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Resolve(tt.ids, tt.groups, all)
			if len(tt.errs) > 0 {
				for _, e := range tt.errs {
					if !errors.Is(err, e) {
						t.Fatalf("Resolve() error %v, want %v", err, e)
					}
				}
				for _, txt := range tt.errText {
					if !strings.Contains(err.Error(), txt) {
						t.Fatalf("Resolve() error %q, want it to contain %q", err, txt)
					}
				}
				if s != nil {
					t.Fatal("Resolve returned a scope with an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.IDs(); !slices.Equal(got, tt.want) {
				t.Fatalf("Resolve() = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Resolve(list("app:nil"), nil, map[string]*Policy{"app:nil": nil}); !errors.Is(err, ErrUnknownPolicy) {
		t.Fatalf("nil policy: %v, want ErrUnknownPolicy", err)
	}
}

func TestScopeIsUsableAsPolicies(t *testing.T) {
	all := map[string]*Policy{"d": deny(t, "d", list("*"), list("*"))}
	s, err := Resolve(list("d"), nil, all)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(s, nil, nil, Request{Action: "x"}, false); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("Check with a Scope = %v, want denied", err)
	}
}

func TestUnbuiltPolicyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("evaluating a policy not made by NewPolicy did not panic")
		}
	}()
	Evaluate([]*Policy{{ID: "raw", Actions: list("*"), Resources: list("*"), Effect: Deny}}, Request{Action: "x"}, false)
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
		Meta:      map[string]string{"host": "app:processes", "node": "n1"},
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

func TestCoversAction(t *testing.T) {
	send := deny(t, "app:send", list("process.send"), list("*"))
	procs := allow(t, "app:procs", list("process.*"), list("x"))
	all := allow(t, "app:all", list("*"), list("x"))
	tests := []struct {
		policies []*Policy
		action   string
		want     bool
	}{
		{[]*Policy{send}, "process.send", true},
		{[]*Policy{send}, "process.sends", false},
		{[]*Policy{send}, "process.spawn", false},
		{[]*Policy{nil, procs}, "process.spawn.linked", true},
		{[]*Policy{procs}, "process", false},
		{[]*Policy{all}, "io", true},
		{nil, "io", false},
	}
	for _, tc := range tests {
		if got := AnyCovers(tc.policies, tc.action); got != tc.want {
			t.Errorf("AnyCovers(%v, %s) = %v, want %v", tc.policies, tc.action, got, tc.want)
		}
	}
	c := Chain{{Scope: []*Policy{send}}}.Narrow(nil, []*Policy{procs})
	if !c.Covers("process.send") || !c.Covers("process.exec") || c.Covers("io") {
		t.Error("Chain.Covers")
	}
	// Whatever a policy does not cover is undefined for it.
	for _, action := range []string{"process.sends", "process.spawn"} {
		if d := Evaluate([]*Policy{send}, Request{Action: action, Resources: list("r")}, false); d.Outcome != Undefined {
			t.Errorf("%s: %v", action, d.Outcome)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("CoversAction on an unbuilt policy did not panic")
		}
	}()
	(&Policy{ID: "raw", Actions: list("*")}).CoversAction("io")
}
