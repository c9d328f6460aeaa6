package security

import (
	"errors"
	"strings"
	"testing"
)

// TestOperators: every operator of docs/security.md, on a present field,
// an absent one and through value_from.
func TestOperators(t *testing.T) {
	a := &Actor{ID: "system:backup", Meta: map[string]any{
		"role": "editor", "roles": []any{"editor", "viewer"}, "tags": []string{"a", "b"},
		"clearance": 3, "org": map[string]any{"team": "backend", "depth": map[string]any{"x": 1}},
		"org.flat": "dotted key",
	}}
	req := Request{Actor: a, Action: "read", Resources: list("document:sensitive-42"),
		Meta: map[string]any{"status": "archived", "owner": "system:backup", "public": true, "pattern": "^doc", "badre": "("}}
	tests := []struct {
		name string
		c    Condition
		want bool
	}{
		{"nin hit", Condition{Field: "meta.status", Operator: OpNin, Value: []any{"deleted", "archived"}}, false},
		{"nin miss", Condition{Field: "meta.status", Operator: OpNin, Value: []any{"deleted"}}, true},
		{"nin absent", Condition{Field: "meta.gone", Operator: OpNin, Value: []any{"x"}}, true},
		{"nin value_from list", Condition{Field: "meta.status", Operator: OpNin, ValueFrom: "actor.meta.roles"}, true},
		{"nin value_from list hit", Condition{Field: "actor.meta.role", Operator: OpNin, ValueFrom: "actor.meta.roles"}, false},
		{"nin value_from absent", Condition{Field: "actor.meta.role", Operator: OpNin, ValueFrom: "meta.gone"}, true},
		{"exists true present", Condition{Field: "meta.owner", Operator: OpExists, Value: true}, true},
		{"exists true absent", Condition{Field: "meta.deleted", Operator: OpExists, Value: true}, false},
		{"exists no value", Condition{Field: "meta.owner", Operator: OpExists}, true},
		{"exists false absent", Condition{Field: "meta.deleted", Operator: OpExists, Value: false}, true},
		{"exists actor id", Condition{Field: "actor.id", Operator: OpExists}, true},
		{"exists action", Condition{Field: "action", Operator: OpExists}, true},
		{"nexists true absent", Condition{Field: "meta.deleted", Operator: OpNexists, Value: true}, true},
		{"nexists true present", Condition{Field: "meta.owner", Operator: OpNexists, Value: true}, false},
		{"nexists false present", Condition{Field: "meta.owner", Operator: OpNexists, Value: false}, true},
		{"contains text", Condition{Field: "resource", Operator: OpContains, Value: "sensitive"}, true},
		{"contains text miss", Condition{Field: "resource", Operator: OpContains, Value: "public"}, false},
		{"contains list element", Condition{Field: "actor.meta.roles", Operator: OpContains, Value: "viewer"}, true},
		{"contains list not substring", Condition{Field: "actor.meta.roles", Operator: OpContains, Value: "view"}, false},
		{"contains string list", Condition{Field: "actor.meta.tags", Operator: OpContains, Value: "b"}, true},
		{"contains absent", Condition{Field: "meta.gone", Operator: OpContains, Value: ""}, false},
		{"contains value_from", Condition{Field: "meta.owner", Operator: OpContains, ValueFrom: "actor.meta.role"}, false},
		{"contains value_from hit", Condition{Field: "meta.owner", Operator: OpContains, ValueFrom: "actor.id"}, true},
		{"ncontains text", Condition{Field: "resource", Operator: OpNcontains, Value: "public"}, true},
		{"ncontains text hit", Condition{Field: "resource", Operator: OpNcontains, Value: "sensitive"}, false},
		{"ncontains list", Condition{Field: "actor.meta.roles", Operator: OpNcontains, Value: "admin"}, true},
		{"ncontains absent", Condition{Field: "meta.gone", Operator: OpNcontains, Value: "x"}, true},
		{"matches", Condition{Field: "resource", Operator: OpMatches, Value: "^document:.*"}, true},
		{"matches miss", Condition{Field: "resource", Operator: OpMatches, Value: "^doc:"}, false},
		{"matches value_from", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.pattern"}, true},
		{"matches bad value_from pattern is absent", Condition{Field: "resource", Operator: OpMatches, ValueFrom: "meta.badre"}, false},
		{"nmatches", Condition{Field: "actor.id", Operator: OpNmatches, Value: "^system:.*"}, false},
		{"nmatches miss", Condition{Field: "actor.id", Operator: OpNmatches, Value: "^user:"}, true},
		{"nmatches absent", Condition{Field: "meta.gone", Operator: OpNmatches, Value: "x"}, true},
		{"nmatches bad value_from pattern is absent", Condition{Field: "resource", Operator: OpNmatches, ValueFrom: "meta.badre"}, true},
		{"nested meta", Condition{Field: "actor.meta.org.team", Operator: OpEq, Value: "backend"}, true},
		{"nested meta deeper", Condition{Field: "actor.meta.org.depth.x", Operator: OpGte, Value: 1}, true},
		{"nested meta absent", Condition{Field: "actor.meta.org.nope", Operator: OpExists}, false},
		{"nested through a scalar", Condition{Field: "actor.meta.role.x", Operator: OpExists}, false},
		{"dotted key wins", Condition{Field: "actor.meta.org.flat", Operator: OpEq, Value: "dotted key"}, true},
		{"typed meta bool", Condition{Field: "meta.public", Operator: OpEq, Value: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := allow(t, "p", list("*"), list("*"), tt.c)
			if got := Evaluate([]*Policy{p}, req, true).Outcome == Allowed; got != tt.want {
				t.Fatalf("%s %s = %v, want %v", tt.c.Field, tt.c.Operator, got, tt.want)
			}
		})
	}
	// Without an actor, actor fields are absent: only the negated
	// operators and nexists hold.
	noActor := Request{Action: "read", Resources: list("x")}
	for _, op := range Operators() {
		c := Condition{Field: "actor.meta.role", Operator: op, Value: "x"}
		switch op {
		case OpIn, OpNin:
			c.Value = []any{"x"}
		case OpExists, OpNexists:
			c.Value = true
		}
		p := allow(t, "p", list("*"), list("*"), c)
		got := Evaluate([]*Policy{p}, noActor, true).Outcome == Allowed
		if want := op.negated(); got != want {
			t.Errorf("no actor: %s = %v, want %v", op, got, want)
		}
	}
}

// TestOperatorCompileErrors: what each operator refuses at load.
func TestOperatorCompileErrors(t *testing.T) {
	tests := []struct {
		c    Condition
		want string
	}{
		{Condition{Field: "resource", Operator: OpMatches, Value: "^api:/v[0-9+/admin/("}, "matches: error parsing regexp"},
		{Condition{Field: "resource", Operator: OpNmatches, Value: "a**"}, "nmatches: error parsing regexp"},
		{Condition{Field: "resource", Operator: OpNmatches, Value: 3}, "needs a string pattern"},
		{Condition{Field: "meta.s", Operator: OpNin, Value: "deleted"}, "nin needs a list value"},
		{Condition{Field: "meta.s", Operator: OpNin, Value: []any{[]any{"x"}}}, "nin: element 1 is not a scalar"},
		{Condition{Field: "meta.s", Operator: OpExists, Value: "yes"}, "exists needs a boolean value"},
		{Condition{Field: "meta.s", Operator: OpNexists, ValueFrom: "meta.t"}, "nexists takes no value_from"},
		{Condition{Field: "meta.s", Operator: OpContains, Value: []any{"x"}}, "contains needs a scalar value"},
		{Condition{Field: "meta.s", Operator: OpNcontains}, "neither value nor value_from"},
		{Condition{Field: "actor.meta.a..b", Operator: OpEq, Value: 1}, "empty key in the path"},
		{Condition{Field: "meta.s", Operator: "similar", Value: 1}, `unknown operator "similar"`},
	}
	for _, tt := range tests {
		_, err := Compile(PolicySpec{ID: "app:p", Actions: list("*"), Resources: list("*"), Effect: Allow, Conditions: []Condition{tt.c}})
		if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error containing %q", tt.c, err, tt.want)
		}
	}
}

// TestExpressionPolicy: the expression example of docs/security.md.
func TestExpressionPolicy(t *testing.T) {
	p := mustPolicy(t, PolicySpec{ID: "app:flexible_access", Actions: list("read", "write"), Resources: list("file:*"), Effect: Allow,
		Expression: `(actor.meta.role == "editor" && action == "write") ||
(action == "read" && meta.public == true) ||
actor.id == meta.owner`})
	editor := &Actor{ID: "u1", Meta: map[string]any{"role": "editor"}}
	viewer := &Actor{ID: "u2", Meta: map[string]any{"role": "viewer"}}
	tests := []struct {
		name string
		req  Request
		want Outcome
	}{
		{"editor writes", Request{Actor: editor, Action: "write", Resources: list("file:a")}, Allowed},
		{"viewer writes", Request{Actor: viewer, Action: "write", Resources: list("file:a")}, Undefined},
		{"public read", Request{Actor: viewer, Action: "read", Resources: list("file:a"), Meta: map[string]any{"public": true}}, Allowed},
		{"public as text is not true", Request{Actor: viewer, Action: "read", Resources: list("file:a"), Meta: map[string]any{"public": "true"}}, Undefined},
		{"owner", Request{Actor: viewer, Action: "write", Resources: list("file:a"), Meta: map[string]any{"owner": "u2"}}, Allowed},
		{"no actor, no owner", Request{Action: "write", Resources: list("file:a")}, Undefined},
		{"no actor, public read", Request{Action: "read", Resources: list("file:a"), Meta: map[string]any{"public": true}}, Allowed},
		{"other resource", Request{Actor: editor, Action: "write", Resources: list("db:a")}, Undefined},
		{"other action", Request{Actor: editor, Action: "delete", Resources: list("file:a")}, Undefined},
	}
	for _, tt := range tests {
		if got := Evaluate([]*Policy{p}, tt.req, false).Outcome; got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestExpressionFailure: an expression that fails at run time counts
// against the caller: a deny applies, an allow does not.
func TestExpressionFailure(t *testing.T) {
	const src = `meta.size > 100`
	req := Request{Action: "a", Resources: list("r"), Meta: map[string]any{"size": "big"}}
	for _, eff := range []Effect{Allow, Deny} {
		p := mustPolicy(t, PolicySpec{ID: "app:p", Actions: list("*"), Resources: list("*"), Effect: eff, Expression: src})
		got := Evaluate([]*Policy{p}, req, false).Outcome
		want := map[Effect]Outcome{Allow: Undefined, Deny: Denied}[eff]
		if got != want {
			t.Errorf("%s with a failing expression: %v, want %v", eff, got, want)
		}
		ok := Request{Action: "a", Resources: list("r"), Meta: map[string]any{"size": 101}}
		if got := Evaluate([]*Policy{p}, ok, false).Outcome; got == Undefined {
			t.Errorf("%s with size 101 did not match", eff)
		}
	}
}

// TestExpressionCompileErrors: a bad expression is a compile error at its
// line and column.
func TestExpressionCompileErrors(t *testing.T) {
	tests := []struct {
		src        string
		line, col  int
		substrings string
	}{
		{"actor.id ==", 1, 11, "unexpected token EOF"},
		{"acter.id == \"x\"", 1, 1, "unknown name acter"},
		{"actor.id + 1", 1, 10, "mismatched types"},
		{"action", 1, 1, "expected bool"},
		{"action == \"read\" &&\n  now() > 0", 2, 3, "now"},
		{"true &&\n\n  (", 3, 3, "unexpected token EOF"},
	}
	for _, tt := range tests {
		_, err := Compile(PolicySpec{ID: "app:p", Actions: list("*"), Resources: list("*"), Effect: Allow, Expression: tt.src})
		var ee *ExprError
		if !errors.Is(err, ErrInvalidPolicy) || !errors.As(err, &ee) {
			t.Errorf("%q: %v, want an ExprError", tt.src, err)
			continue
		}
		if ee.Line != tt.line || ee.Column != tt.col || !strings.Contains(ee.Message, tt.substrings) {
			t.Errorf("%q: line %d column %d %q, want line %d column %d and %q", tt.src, ee.Line, ee.Column, ee.Message, tt.line, tt.col, tt.substrings)
		}
	}
}

// TestExpressionBudget: an expression that would allocate without end
// stops at expr-lang's memory budget and counts as failed.
func TestExpressionBudget(t *testing.T) {
	for _, src := range []string{`len(1..100000000) > 0`, `len(repeat(resource, 100000000)) > 0`, `all(1..100000000, # > 0)`} {
		p := mustPolicy(t, PolicySpec{ID: "p", Actions: list("*"), Resources: list("*"), Effect: Deny, Expression: src})
		if d := Evaluate([]*Policy{p}, Request{Action: "a", Resources: list("abc")}, false); d.Outcome != Denied {
			t.Errorf("%s: %v, want denied (a failed deny applies)", src, d.Outcome)
		}
	}
}
