package security

import (
	"strings"
	"testing"
)

// FuzzPattern checks the pattern matcher against a plain recursive glob.
func FuzzPattern(f *testing.F) {
	for _, s := range [][2]string{{"*.read", "a.read"}, {"a*b*c", "axbyc"}, {"ab*ba", "aba"}, {"**", ""}, {"x", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		if len(pat) > 64 || len(s) > 64 {
			return
		}
		if got, want := compilePattern(pat).match(s), glob(pat, s); got != want {
			t.Fatalf("%q on %q: %v, want %v", pat, s, got, want)
		}
	})
}

func glob(p, s string) bool {
	if p == "" {
		return s == ""
	}
	if p[0] == '*' {
		for i := 0; i <= len(s); i++ {
			if glob(p[1:], s[i:]) {
				return true
			}
		}
		return false
	}
	return s != "" && p[0] == s[0] && glob(p[1:], s[1:])
}

// FuzzExpression compiles expressions from policy files: Compile never
// panics, and a policy that compiles evaluates without panicking.
func FuzzExpression(f *testing.F) {
	for _, s := range []string{`actor.meta.role == "editor"`, `meta.public == true || action == "read"`,
		`"admin" in actor.meta.roles`, `len(resource) > 3 && resource startsWith "file:"`, `actor.id ==`, `1..3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 512 || strings.Contains(src, "..") {
			return // ranges make large lists; the budget bounds them, slowly
		}
		p, err := Compile(PolicySpec{ID: "p", Actions: []string{"*"}, Resources: []string{"*"}, Effect: Deny, Expression: src})
		if err != nil {
			return
		}
		req := Request{Actor: &Actor{ID: "a", Meta: map[string]any{"role": "editor", "roles": []any{"admin"}}},
			Action: "read", Resources: []string{"file:x"}, Meta: map[string]any{"public": true, "n": int64(3)}}
		_ = Evaluate([]*Policy{p}, req, false)
	})
}
