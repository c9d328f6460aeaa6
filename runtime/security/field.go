package security

import (
	"fmt"
	"strings"
)

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

// ref is a compiled field name.
type ref struct {
	kind refKind
	key  string   // for refActorMeta and refMeta
	path []string // key split at its dots, when it has some
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
	r := ref{}
	if k, ok := strings.CutPrefix(s, "actor.meta."); ok && k != "" {
		r = ref{kind: refActorMeta, key: k}
	} else if k, ok := strings.CutPrefix(s, "meta."); ok && k != "" {
		r = ref{kind: refMeta, key: k}
	} else {
		return ref{}, fmt.Errorf("unknown field %q (want actor.id, actor.meta.<key>, action, resource or meta.<key>)", s)
	}
	if strings.Contains(r.key, ".") {
		r.path = strings.Split(r.key, ".")
		for _, p := range r.path {
			if p == "" {
				return ref{}, fmt.Errorf("unknown field %q: empty key in the path", s)
			}
		}
	}
	return r, nil
}

// raw reads a field as it is held; ok is false when it is absent (a nil
// meta value is absent).
func (r ref) raw(req *Request, resource string) (v any, ok bool) {
	switch r.kind {
	case refActorID:
		if req.Actor == nil {
			return nil, false
		}
		return req.Actor.ID, true
	case refActorMeta:
		if req.Actor == nil {
			return nil, false
		}
		return r.lookup(req.Actor.Meta)
	case refAction:
		return string(req.Action), true
	case refResource:
		return resource, true
	case refMeta:
		return r.lookup(req.Meta)
	}
	return nil, false
}

// lookup reads the key from a meta map: the exact key first, then, for a
// dotted key, the path through nested maps.
func (r ref) lookup(m map[string]any) (any, bool) {
	if v, ok := m[r.key]; ok || r.path == nil {
		return v, ok && v != nil
	}
	var cur any = m
	for _, p := range r.path {
		next, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = next[p]; !ok {
			return nil, false
		}
	}
	return cur, cur != nil
}

// value reads a field as a scalar; ok is false when it is absent. Text is
// parsed in place rather than boxed, so reading a field does not
// allocate.
func (r ref) value(req *Request, resource string) (v scalar, ok bool) {
	switch r.kind {
	case refActorID:
		if req.Actor == nil {
			return scalar{}, false
		}
		return parseText(req.Actor.ID), true
	case refAction:
		return parseText(string(req.Action)), true
	case refResource:
		return parseText(resource), true
	}
	m, ok := r.raw(req, resource)
	if !ok {
		return scalar{}, false
	}
	if s, isText := m.(string); isText {
		return parseText(s), true
	}
	return toScalar(m), true
}

// inFrom is OpIn against the field named by value_from: membership when
// that field is a list (a meta value may be one), equality otherwise. ok
// is false when the field is absent.
func (r ref) inFrom(left scalar, req *Request, resource string) (in, ok bool) {
	raw, ok := r.raw(req, resource)
	if !ok {
		return false, false
	}
	switch l := raw.(type) {
	case []string:
		for _, e := range l {
			if compare(left, parseText(e)) == 0 {
				return true, true
			}
		}
		return false, true
	case []any:
		for _, e := range l {
			if e != nil && isScalar(e) && compare(left, toScalar(e)) == 0 {
				return true, true
			}
		}
		return false, true
	}
	w, _ := r.value(req, resource)
	return compare(left, w) == 0, true
}
