package security

import (
	"slices"
)

// PolicySpec is a policy as it is declared: a security.policy entry, or a
// policy a program builds. It is plain data; Compile checks it and turns it
// into the Policy evaluation uses.
type PolicySpec struct {
	ID string
	// Actions are action names or patterns: "*" (any), an exact name, or a
	// prefix ending in "*" ("process.*" matches "process.send" but not
	// "process"). At least one.
	Actions []string
	// Resources are resource patterns with the same syntax:
	// "app:system.*" matches "app:system.x", "app:system" only itself.
	// At least one.
	Resources  []string
	Effect     Effect
	Conditions []Condition
	// Expression, when set, is an expression (expr-lang) over actor,
	// action, resource and meta that must also be true for the policy to
	// match: a security.policy.expr entry. Compile checks it and compiles
	// it once; see expr.go for what it can read.
	Expression string
	// Groups are the policy groups this policy belongs to.
	Groups []string
}

// Effect is what a matching policy does.
type Effect string

// Policy effects.
const (
	Allow Effect = "allow"
	Deny  Effect = "deny"
)

// Operator is a condition's comparison.
type Operator string

// Condition operators (docs/security.md, "Conditions"). The negated ones
// (ne, nin, ncontains, nmatches) are true when the field is absent, the
// others false; exists and nexists test presence itself.
const (
	OpEq        Operator = "eq"
	OpNe        Operator = "ne"
	OpLt        Operator = "lt"
	OpLte       Operator = "lte"
	OpGt        Operator = "gt"
	OpGte       Operator = "gte"
	OpIn        Operator = "in"        // Value is a list; true when the field equals an element
	OpNin       Operator = "nin"       // Value is a list; true when the field equals none
	OpExists    Operator = "exists"    // Value true (or none): the field is present; false: absent
	OpNexists   Operator = "nexists"   // Value true (or none): the field is absent; false: present
	OpContains  Operator = "contains"  // the field's text contains Value's; a list field, an element equal to Value
	OpNcontains Operator = "ncontains" // not contains
	OpMatches   Operator = "matches"   // Value is a Go regexp, unanchored; the field's text must match
	OpNmatches  Operator = "nmatches"  // the field's text must not match
)

// operators lists every Operator, in the order messages name them.
var operators = [...]Operator{OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpNin,
	OpExists, OpNexists, OpContains, OpNcontains, OpMatches, OpNmatches}

// Operators returns every condition operator.
func Operators() []Operator { return slices.Clone(operators[:]) }

// Valid reports whether op is a known operator.
func (op Operator) Valid() bool { return slices.Contains(operators[:], op) }

// negated reports whether op is true for an absent field.
func (op Operator) negated() bool {
	switch op {
	case OpNe, OpNin, OpNcontains, OpNmatches, OpNexists:
		return true
	}
	return false
}

// Condition is one test a policy needs to match; all of a policy's
// conditions must hold.
//
// Field and ValueFrom name a field of the request: "actor.id",
// "actor.meta.<key>", "action", "resource" or "meta.<key>" (the request's
// Meta: meta.host and meta.node are the caller's host and node). A key
// with dots reads nested maps ("actor.meta.org.team") when the meta has no
// key of that exact name. The field is compared with Value, or with the
// field named by ValueFrom; exactly one of the two is set, except for
// exists and nexists, which take no value_from and an optional boolean
// Value. A field (or value_from field) that is absent makes the negated
// operators (ne, nin, ncontains, nmatches) true and the others false.
//
// Value is a scalar (string, bool, any Go integer or float type) or, for
// OpIn and OpNin, a slice of scalars. Comparison is numeric when both sides
// are numbers (Go numbers, or text that parses as a finite decimal number),
// textual otherwise; booleans compare as "true"/"false". OpIn and OpNin
// with ValueFrom take a named field that holds a list (membership) or a
// scalar (equality). OpMatches and OpNmatches take a Go regexp
// (unanchored); a constant one in Value is compiled once by Compile (one
// that does not compile is an error), one read through ValueFrom is
// compiled at each evaluation and, when it does not compile, counts as an
// absent field.
type Condition struct {
	Field     string
	Operator  Operator
	Value     any
	ValueFrom string
}
