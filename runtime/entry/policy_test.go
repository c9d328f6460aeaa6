package entry

import (
	"os"
	"slices"
	"testing"

	"github.com/wippyd/wippyd/runtime/security"
)

// TestDocsPolicies loads the policies of Wippy's security page as printed
// there and checks each does what the page says.
func TestDocsPolicies(t *testing.T) {
	src, err := os.ReadFile("testdata/docs/security.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := mustLoad(t, tree(map[string]string{"security.yaml": string(src)}))
	pol := func(name string) *security.Policy {
		e, ok := r.Get("app.security:" + name)
		if !ok || e.Policy == nil {
			t.Fatalf("%s not loaded", name)
		}
		return e.Policy
	}
	admin := &security.Actor{ID: "user:1", Meta: map[string]any{"role": "admin", "clearance": int64(1)}}
	user := &security.Actor{ID: "user:2", Meta: map[string]any{"role": "user", "clearance": int64(5)}}
	editor := &security.Actor{ID: "user:3", Meta: map[string]any{"role": "editor"}}
	tests := []struct {
		policy   string
		actor    *security.Actor
		action   string
		resource string
		meta     map[string]any
		want     security.Outcome
	}{
		{"admin_policy", admin, "anything", "anywhere", nil, security.Allowed},
		{"admin_policy", user, "anything", "anywhere", nil, security.Undefined},
		{"readonly_policy", user, "users.read", "users", nil, security.Allowed},
		{"readonly_policy", user, "users.list", "users", nil, security.Allowed},
		{"readonly_policy", user, "users.write", "users", nil, security.Undefined},
		{"owner_policy", user, "delete", "document:9", map[string]any{"owner": "user:2"}, security.Allowed},
		{"owner_policy", user, "delete", "document:9", map[string]any{"owner": "user:1"}, security.Undefined},
		{"owner_policy", user, "delete", "photo:9", map[string]any{"owner": "user:2"}, security.Undefined},
		{"deny_confidential", admin, "read", "document:9", map[string]any{"classification": "confidential"}, security.Denied},
		{"deny_confidential", user, "read", "document:9", map[string]any{"classification": "confidential"}, security.Undefined},
		{"deny_confidential", admin, "read", "document:9", map[string]any{"classification": "internal"}, security.Undefined},
		{"flexible_access", editor, "write", "file:a", nil, security.Allowed},
		{"flexible_access", user, "write", "file:a", nil, security.Undefined},
		{"flexible_access", user, "read", "file:a", map[string]any{"public": true}, security.Allowed},
		{"flexible_access", user, "write", "file:a", map[string]any{"owner": "user:2"}, security.Allowed},
	}
	for _, tt := range tests {
		req := security.Request{Actor: tt.actor, Action: security.Action(tt.action), Resources: []string{tt.resource}, Meta: tt.meta}
		if got := security.Evaluate([]*security.Policy{pol(tt.policy)}, req, false).Outcome; got != tt.want {
			t.Errorf("%s: %s %s on %s %v: %v, want %v", tt.policy, tt.actor.ID, tt.action, tt.resource, tt.meta, got, tt.want)
		}
	}
	// Groups as the page assigns them.
	scope, err := security.Resolve(nil, []string{"default"}, policiesOf(r))
	if err != nil {
		t.Fatal(err)
	}
	if ids := scope.IDs(); !slices.Equal(ids, []string{"app.security:owner_policy", "app.security:readonly_policy"}) {
		t.Fatalf("group default: %v", ids)
	}
}

func policiesOf(r *Registry) map[string]*security.Policy {
	m := map[string]*security.Policy{}
	for _, e := range r.All() {
		if e.Policy != nil {
			m[e.ID] = e.Policy
		}
	}
	return m
}

// TestExpressionLoadErrors: a bad expression is a load error at the line
// of the file that holds it.
func TestExpressionLoadErrors(t *testing.T) {
	got := loadProblems(t, map[string]string{"a.yaml": head +
		"  - name: block\n    kind: security.policy.expr\n    policy:\n      actions: read\n      resources: \"*\"\n      effect: allow\n" +
		"      expression: |\n        action == \"read\" &&\n          actor.nme == \"x\"\n" +
		"  - name: inline\n    kind: security.policy.expr\n    policy: {actions: read, resources: \"*\", effect: deny, expression: \"action ==\"}\n" +
		"  - name: empty\n    kind: security.policy.expr\n    policy: {actions: read, resources: \"*\", effect: deny, expression: \"  \"}\n" +
		"  - name: missing\n    kind: security.policy.expr\n    policy: {actions: read, resources: \"*\", effect: deny}\n" +
		"  - name: conds\n    kind: security.policy.expr\n    policy: {actions: read, resources: \"*\", effect: deny, expression: \"true\", conditions: []}\n",
	})
	want := []string{
		"a.yaml:12: app:block: policy.expression: actor has no field nme (column 9)",
		"a.yaml:15: app:inline: policy.expression: unexpected token EOF (column 9)",
		"a.yaml:18: app:empty: policy.expression: must not be empty",
		"a.yaml:21: app:missing: missing required field policy.expression",
		"a.yaml:24: app:conds: unknown field policy.conditions",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
}

func joinLines(l []string) string {
	s := ""
	for _, x := range l {
		s += x + "\n"
	}
	return s
}
