package security

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustPolicy(t testing.TB, spec PolicySpec) *Policy {
	t.Helper()
	p, err := Compile(spec)
	if err != nil {
		t.Fatalf("Compile(%s): %v", spec.ID, err)
	}
	return p
}

func allow(t testing.TB, id string, actions, resources []string, conds ...Condition) *Policy {
	return mustPolicy(t, PolicySpec{ID: id, Actions: actions, Resources: resources, Effect: Allow, Conditions: conds})
}

func deny(t testing.TB, id string, actions, resources []string, conds ...Condition) *Policy {
	return mustPolicy(t, PolicySpec{ID: id, Actions: actions, Resources: resources, Effect: Deny, Conditions: conds})
}

func list(s ...string) []string { return s }

func TestCompileValidation(t *testing.T) {
	ok := PolicySpec{ID: "app:p", Actions: list("*"), Resources: list("*"), Effect: Allow}
	with := func(f func(*PolicySpec)) PolicySpec {
		p := ok
		f(&p)
		return p
	}
	cond := func(c Condition) PolicySpec { return with(func(p *PolicySpec) { p.Conditions = []Condition{c} }) }
	tests := []struct {
		name string
		spec PolicySpec
		want string // "" = valid; otherwise a substring of the error
	}{
		{"minimal", ok, ""},
		{"deny", with(func(p *PolicySpec) { p.Effect = Deny }), ""},
		{"trailing wildcards", with(func(p *PolicySpec) { p.Actions = list("process.*"); p.Resources = list("app:system.*", "x") }), ""},
		{"missing effect", with(func(p *PolicySpec) { p.Effect = "" }), `effect ""`},
		{"bad effect", with(func(p *PolicySpec) { p.Effect = "maybe" }), `effect "maybe"`},
		{"no actions", with(func(p *PolicySpec) { p.Actions = nil }), "no actions"},
		{"no resources", with(func(p *PolicySpec) { p.Resources = nil }), "no resources"},
		{"empty pattern", with(func(p *PolicySpec) { p.Actions = list("") }), "empty pattern"},
		{"inner wildcard", with(func(p *PolicySpec) { p.Resources = list("app:*.x") }), ""},
		{"leading wildcard", with(func(p *PolicySpec) { p.Actions = list("*.read") }), ""},
		{"double wildcard", with(func(p *PolicySpec) { p.Resources = list("**") }), ""},
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
			p, err := Compile(tt.spec)
			if tt.want == "" {
				if err != nil || p == nil {
					t.Fatalf("Compile() = %v, %v; want a policy", p, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile() error = %v, want ErrInvalidPolicy containing %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "security: invalid policy: app:p:") {
				t.Fatalf("error %q does not name the policy", err)
			}
			if p != nil {
				t.Fatal("Compile returned a policy with an error")
			}
		})
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := Compile(PolicySpec{ID: "x", Effect: "no", Conditions: []Condition{{Field: "?", Operator: OpEq, Value: 1}}})
	for _, want := range []string{"effect", "no actions", "no resources", "condition 1"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestCompileCopies(t *testing.T) {
	spec := PolicySpec{ID: "p", Actions: list("process.send"), Resources: list("a"), Effect: Deny}
	p := mustPolicy(t, spec)
	spec.Actions[0] = "*"
	p.Spec().Resources[0] = "*" // Spec is a copy
	req := Request{Action: "process.send", Resources: list("a")}
	if d := Evaluate([]*Policy{p}, req, false); d.Outcome != Denied {
		t.Fatalf("outcome %s, want denied", d.Outcome)
	}
	if d := Evaluate([]*Policy{p}, Request{Action: "process.spawn", Resources: list("a")}, false); d.Outcome != Undefined {
		t.Fatalf("caller's slice leaked into the policy: %s", d.Outcome)
	}
	if d := Evaluate([]*Policy{p}, Request{Action: "process.send", Resources: list("b")}, false); d.Outcome != Undefined {
		t.Fatalf("changing the spec a policy returned changed the decision: %s", d.Outcome)
	}
}

func TestCompileConditionsAreFrozen(t *testing.T) {
	spec := PolicySpec{ID: "p", Actions: list("*"), Resources: list("*"), Effect: Deny,
		Conditions: []Condition{{Field: "actor.id", Operator: OpEq, Value: "eve"}}}
	p := mustPolicy(t, spec)
	spec.Conditions[0].Operator = OpNe
	spec.Conditions[0].Value = "bob"
	p.Spec().Conditions[0].Value = "bob"
	req := Request{Actor: &Actor{ID: "eve"}, Action: "x"}
	if d := Evaluate([]*Policy{p}, req, false); d.Outcome != Denied {
		t.Fatalf("outcome %s after editing the spec, want denied", d.Outcome)
	}
	// Compiling an edited spec takes the new fields.
	q := mustPolicy(t, spec)
	if d := Evaluate([]*Policy{q}, req, false); d.Outcome != Denied {
		t.Fatalf("rebuilt eve ne bob: outcome %s, want denied", d.Outcome)
	}
	edited := q.Spec()
	edited.Conditions[0].Value = nil
	edited.Conditions[0].ValueFrom = "actor.id"
	r := mustPolicy(t, edited) // eve ne eve: does not match
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
		// "*" anywhere
		{"*", "", true},
		{"*", "anything", true},
		{"process.send", "process.send", true},
		{"process.send", "process.sends", false},
		{"process.*", "process.send", true},
		{"process.*", "process.", true},
		{"process.*", "process", false},
		{"*.read", "users.read", true},
		{"*.read", ".read", true},
		{"*.read", "users.reader", false},
		{"*.read", "read", false},
		{"app:*:cache", "app:x:cache", true},
		{"app:*:cache", "app::cache", true},
		{"app:*:cache", "app:cache", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false},
		{"ab*ba", "abba", true},
		{"*x*", "yyxyy", true},
		{"*x*", "yyy", false},
		{"**", "z", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.input, func(t *testing.T) {
			// The same syntax serves actions and resources.
			pa := allow(t, "a", list(tt.pattern), list("*"))
			pr := allow(t, "r", list("*"), list(tt.pattern))
			if got := Evaluate([]*Policy{pa}, Request{Action: Action(tt.input)}, true).Permitted; got != tt.want {
				t.Errorf("action pattern %q on %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
			if got := Evaluate([]*Policy{pr}, Request{Action: "x", Resources: list(tt.input)}, true).Permitted; got != tt.want {
				t.Errorf("resource pattern %q on %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	mk := func(id string, groups ...string) *Policy {
		return mustPolicy(t, PolicySpec{ID: id, Actions: list("*"), Resources: list("*"), Effect: Allow, Groups: groups})
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
		{name: "unknown id", ids: list("app:a", "app:zz"), errs: []error{ErrUnknownPolicy}, errText: list("security: unknown policy: app:zz")},
		{name: "unknown group", groups: list("nope"), errs: []error{ErrUnknownGroup}, errText: list("security: unknown policy group: nope")},
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

// TestZeroPolicyMatchesNothing: a Policy not made by Compile has no
// actions, so it can neither allow nor deny, and covers no action.
func TestZeroPolicyMatchesNothing(t *testing.T) {
	var zero Policy
	for _, strict := range []bool{false, true} {
		if d := Evaluate([]*Policy{&zero}, Request{Action: "x"}, strict); d.Outcome != Undefined {
			t.Fatalf("zero policy decided %s", d.Outcome)
		}
	}
	if zero.CoversAction("x") || zero.ID() != "" || zero.Effect() != "" {
		t.Fatal("zero policy covers an action or has an id or effect")
	}
}

func TestCoversAction(t *testing.T) {
	send := deny(t, "app:send", list("process.send"), list("*"))
	procs := allow(t, "app:procs", list("process.*"), list("x"))
	all := allow(t, "app:all", list("*"), list("x"))
	tests := []struct {
		policies []*Policy
		action   Action
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
	for _, action := range []Action{"process.sends", "process.spawn"} {
		if d := Evaluate([]*Policy{send}, Request{Action: action, Resources: list("r")}, false); d.Outcome != Undefined {
			t.Errorf("%s: %v", action, d.Outcome)
		}
	}
}
