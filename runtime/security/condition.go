package security

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
)

// condition is a compiled Condition: evaluation reads only these fields.
type condition struct {
	op    Operator
	field ref
	from  ref
	value scalar
	list  []scalar
	re    *regexp.Regexp
}

func (c *condition) compile(spec Condition) error {
	c.op = spec.Operator
	var err error
	if c.field, err = parseRef(spec.Field); err != nil {
		return err
	}
	switch {
	case spec.ValueFrom != "" && spec.Value != nil:
		return errors.New("both value and value_from are set")
	case spec.ValueFrom == "" && spec.Value == nil:
		return errors.New("neither value nor value_from is set")
	case spec.ValueFrom != "":
		c.from, err = parseRef(spec.ValueFrom)
		if err == nil && !spec.Operator.Valid() {
			err = fmt.Errorf("unknown operator %q", spec.Operator)
		}
		return err
	}
	switch spec.Operator {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte:
		if !isScalar(spec.Value) {
			return fmt.Errorf("%s needs a scalar value, got %T", spec.Operator, spec.Value)
		}
		c.value = toScalar(spec.Value)
	case OpIn:
		rv := reflect.ValueOf(spec.Value)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return fmt.Errorf("in needs a list value, got %T", spec.Value)
		}
		c.list = make([]scalar, rv.Len())
		for i := range c.list {
			e := rv.Index(i).Interface()
			if e == nil || !isScalar(e) {
				return fmt.Errorf("in: element %d is not a scalar (%T)", i+1, e)
			}
			c.list[i] = toScalar(e)
		}
	case OpMatches:
		s, ok := spec.Value.(string)
		if !ok {
			return fmt.Errorf("matches needs a string pattern, got %T", spec.Value)
		}
		if c.re, err = regexp.Compile(s); err != nil {
			return fmt.Errorf("matches: %v", err)
		}
	default:
		return fmt.Errorf("unknown operator %q", spec.Operator)
	}
	return nil
}

// readsResource reports whether the condition depends on the resource.
func (c *condition) readsResource() bool {
	return c.field.kind == refResource || c.from.kind == refResource
}

// holds evaluates the condition for one (request, resource) pair.
func (c *condition) holds(req *Request, resource string) bool {
	left, ok := c.field.value(req, resource)
	if !ok {
		return c.op == OpNe
	}
	if c.from.kind != 0 {
		if c.op == OpIn {
			in, _ := c.from.inFrom(left, req, resource)
			return in
		}
		right, ok := c.from.value(req, resource)
		if !ok {
			return c.op == OpNe
		}
		if c.op == OpMatches {
			return matchesFrom(left, right)
		}
		return apply(c.op, compare(left, right))
	}
	switch c.op {
	case OpIn:
		for _, e := range c.list {
			if compare(left, e) == 0 {
				return true
			}
		}
		return false
	case OpMatches:
		return c.re.MatchString(left.text())
	}
	return apply(c.op, compare(left, c.value))
}

// value reads a field for one (request, resource) pair as a scalar; ok is
// false when the field is absent. Text is parsed in place rather than boxed
// in an interface, so reading a field does not allocate.
func (r ref) value(req *Request, resource string) (v scalar, ok bool) {
	switch r.kind {
	case refActorID:
		if req.Actor == nil {
			return scalar{}, false
		}
		return parseText(req.Actor.ID), true
	case refActorMeta:
		if req.Actor == nil {
			return scalar{}, false
		}
		m, ok := req.Actor.Meta[r.key]
		if !ok || m == nil {
			return scalar{}, false
		}
		if s, isText := m.(string); isText {
			return parseText(s), true
		}
		return toScalar(m), true
	case refAction:
		return parseText(string(req.Action)), true
	case refResource:
		return parseText(resource), true
	case refMeta:
		s, ok := req.Meta[r.key]
		return parseText(s), ok
	}
	return scalar{}, false
}

// inFrom is OpIn against the field named by value_from: membership when
// that field is a list (an actor meta value may be one), equality
// otherwise. ok is false when the field is absent.
func (r ref) inFrom(left scalar, req *Request, resource string) (in, ok bool) {
	if r.kind == refActorMeta && req.Actor != nil {
		switch l := req.Actor.Meta[r.key].(type) {
		case []string:
			for _, e := range l {
				if compare(left, parseText(e)) == 0 {
					return true, true
				}
			}
			return false, true
		case []any:
			for _, e := range l {
				if e != nil && compare(left, toScalar(e)) == 0 {
					return true, true
				}
			}
			return false, true
		}
	}
	w, ok := r.value(req, resource)
	return ok && compare(left, w) == 0, ok
}

// matchesFrom is OpMatches with a pattern read from the request. It is
// compiled on every evaluation (policies hold no mutable cache); a pattern
// that does not compile counts like an absent field, so the condition is
// false.
func matchesFrom(left, pattern scalar) bool {
	re, err := regexp.Compile(pattern.text())
	return err == nil && re.MatchString(left.text())
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
