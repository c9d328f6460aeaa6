package security

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
)

// condition is a compiled Condition: evaluation reads only these fields.
type condition struct {
	op    Operator
	field ref
	from  ref
	value scalar
	list  []scalar
	re    *regexp.Regexp
	// present is what exists and nexists want of the field.
	present bool
}

func (c *condition) compile(spec Condition) error {
	c.op = spec.Operator
	var err error
	if c.field, err = parseRef(spec.Field); err != nil {
		return err
	}
	if !spec.Operator.Valid() {
		return fmt.Errorf("unknown operator %q", spec.Operator)
	}
	if spec.Operator == OpExists || spec.Operator == OpNexists {
		return c.compilePresence(spec)
	}
	switch {
	case spec.ValueFrom != "" && spec.Value != nil:
		return errors.New("both value and value_from are set")
	case spec.ValueFrom == "" && spec.Value == nil:
		return errors.New("neither value nor value_from is set")
	case spec.ValueFrom != "":
		c.from, err = parseRef(spec.ValueFrom)
		return err
	}
	switch spec.Operator {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpContains, OpNcontains:
		if !isScalar(spec.Value) {
			return fmt.Errorf("%s needs a scalar value, got %T", spec.Operator, spec.Value)
		}
		c.value = toScalar(spec.Value)
	case OpIn, OpNin:
		c.list, err = scalarList(spec.Operator, spec.Value)
		return err
	case OpMatches, OpNmatches:
		s, ok := spec.Value.(string)
		if !ok {
			return fmt.Errorf("%s needs a string pattern, got %T", spec.Operator, spec.Value)
		}
		if c.re, err = regexp.Compile(s); err != nil {
			return fmt.Errorf("%s: %v", spec.Operator, err)
		}
	}
	return nil
}

// compilePresence compiles exists and nexists: no value_from, and a
// boolean value (none means true).
func (c *condition) compilePresence(spec Condition) error {
	if spec.ValueFrom != "" {
		return fmt.Errorf("%s takes no value_from", spec.Operator)
	}
	want := true
	if spec.Value != nil {
		b, ok := spec.Value.(bool)
		if !ok {
			return fmt.Errorf("%s needs a boolean value (or none), got %T", spec.Operator, spec.Value)
		}
		want = b
	}
	c.present = want == (spec.Operator == OpExists)
	return nil
}

// scalarList compiles the list value of in and nin.
func scalarList(op Operator, v any) ([]scalar, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, fmt.Errorf("%s needs a list value, got %T", op, v)
	}
	out := make([]scalar, rv.Len())
	for i := range out {
		e := rv.Index(i).Interface()
		if e == nil || !isScalar(e) {
			return nil, fmt.Errorf("%s: element %d is not a scalar (%T)", op, i+1, e)
		}
		out[i] = toScalar(e)
	}
	return out, nil
}

// readsResource reports whether the condition depends on the resource.
func (c *condition) readsResource() bool {
	return c.field.kind == refResource || c.from.kind == refResource
}

// holds evaluates the condition for one (request, resource) pair.
func (c *condition) holds(req *Request, resource string) bool {
	if c.op == OpExists || c.op == OpNexists {
		_, ok := c.field.raw(req, resource)
		return ok == c.present
	}
	left, ok := c.field.value(req, resource)
	if !ok {
		return c.op.negated()
	}
	if c.from.kind != 0 {
		return c.holdsFrom(left, req, resource)
	}
	switch c.op {
	case OpIn, OpNin:
		in := false
		for _, e := range c.list {
			if compare(left, e) == 0 {
				in = true
				break
			}
		}
		return in != (c.op == OpNin)
	case OpMatches, OpNmatches:
		return c.re.MatchString(left.text()) != (c.op == OpNmatches)
	case OpContains, OpNcontains:
		return c.contains(req, resource, left, c.value) != (c.op == OpNcontains)
	}
	return apply(c.op, compare(left, c.value))
}

// holdsFrom is holds for a condition whose value is another field.
func (c *condition) holdsFrom(left scalar, req *Request, resource string) bool {
	negated := c.op.negated()
	if c.op == OpIn || c.op == OpNin {
		in, ok := c.from.inFrom(left, req, resource)
		if !ok {
			return negated
		}
		return in != negated
	}
	right, ok := c.from.value(req, resource)
	if !ok {
		return negated
	}
	switch c.op {
	case OpMatches, OpNmatches:
		m, ok := matchesFrom(left, right)
		if !ok {
			return negated
		}
		return m != negated
	case OpContains, OpNcontains:
		return c.contains(req, resource, left, right) != negated
	}
	return apply(c.op, compare(left, right))
}

// contains is OpContains: a list field has an element equal to want;
// any other field's text contains want's text.
func (c *condition) contains(req *Request, resource string, left, want scalar) bool {
	raw, _ := c.field.raw(req, resource)
	switch l := raw.(type) {
	case []string:
		for _, e := range l {
			if compare(parseText(e), want) == 0 {
				return true
			}
		}
		return false
	case []any:
		for _, e := range l {
			if e != nil && isScalar(e) && compare(toScalar(e), want) == 0 {
				return true
			}
		}
		return false
	}
	return strings.Contains(left.text(), want.text())
}

// matchesFrom is OpMatches with a pattern read from the request. It is
// compiled on every evaluation (policies hold no mutable cache); ok is
// false when the pattern does not compile, which counts as an absent
// field.
func matchesFrom(left, pattern scalar) (match, ok bool) {
	re, err := regexp.Compile(pattern.text())
	if err != nil {
		return false, false
	}
	return re.MatchString(left.text()), true
}

func apply(op Operator, cmp int) bool {
	switch op {
	case OpEq:
		return cmp == 0
	case OpNe:
		return cmp != 0
	case OpLt:
		return cmp < 0
	case OpLte:
		return cmp <= 0
	case OpGt:
		return cmp > 0
	case OpGte:
		return cmp >= 0
	}
	return false
}
