package security

import (
	"fmt"
	"slices"
	"strings"
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

// Condition operators (SPEC section 8).
const (
	OpEq      Operator = "eq"
	OpNe      Operator = "ne"
	OpLt      Operator = "lt"
	OpLte     Operator = "lte"
	OpGt      Operator = "gt"
	OpGte     Operator = "gte"
	OpIn      Operator = "in"      // Value is a list; true when the field equals an element
	OpMatches Operator = "matches" // Value is a Go regexp, unanchored; the field's text must match
)

// operators lists every Operator, in the order messages name them.
var operators = [...]Operator{OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpMatches}

// Operators returns every condition operator.
func Operators() []Operator { return slices.Clone(operators[:]) }

// Valid reports whether op is a known operator.
func (op Operator) Valid() bool { return slices.Contains(operators[:], op) }

// Condition is one test a policy needs to match; all of a policy's
// conditions must hold.
//
// Field and ValueFrom name a field of the request: "actor.id",
// "actor.meta.<key>", "action", "resource" or "meta.<key>" (the request's
// Meta: meta.host and meta.node are the caller's host and node). The field
// is compared with Value, or with the field named by ValueFrom; exactly one
// of the two is set. A field (or value_from field) that is absent makes
// every operator false except ne, which is true.
//
// Value is a scalar (string, bool, any Go integer or float type) or, for
// OpIn, a slice of scalars. Comparison is numeric when both sides are
// numbers (Go numbers, or text that parses as a finite decimal number),
// textual otherwise; booleans compare as "true"/"false". OpIn with
// ValueFrom takes a named field that holds a list (membership) or a scalar
// (equality). OpMatches takes a Go regexp (unanchored); a constant one in
// Value is compiled once by Compile, one read through ValueFrom is compiled
// at each evaluation and, when it does not compile, makes the condition
// false.
type Condition struct {
	Field     string
	Operator  Operator
	Value     any
	ValueFrom string
}

// ValidField reports whether s names a field a condition can read.
func ValidField(s string) bool {
	_, err := parseRef(s)
	return err == nil
}

// refKind says where a condition field is read from.
type refKind uint8

const (
	refActorID refKind = iota + 1
	refActorMeta
	refAction
	refResource
	refMeta
)

type ref struct {
	kind refKind
	key  string // for refActorMeta and refMeta
}

func parseRef(s string) (ref, error) {
	switch s {
	case "actor.id":
		return ref{kind: refActorID}, nil
	case "action":
		return ref{kind: refAction}, nil
	case "resource":
		return ref{kind: refResource}, nil
	}
	if k, ok := strings.CutPrefix(s, "actor.meta."); ok && k != "" {
		return ref{kind: refActorMeta, key: k}, nil
	}
	if k, ok := strings.CutPrefix(s, "meta."); ok && k != "" {
		return ref{kind: refMeta, key: k}, nil
	}
	return ref{}, fmt.Errorf("unknown field %q (want actor.id, actor.meta.<key>, action, resource or meta.<key>)", s)
}
