package security

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Policy is a compiled policy: the only form evaluation reads. Compile is
// the only way to make one that matches anything; the zero Policy has no
// actions and so matches nothing (it can neither allow nor deny). A Policy
// is immutable and safe for concurrent use.
type Policy struct {
	spec      PolicySpec // a private copy; never handed out
	actions   []pattern
	resources []pattern
	conds     []condition
	expr      *program // the expression of an expression policy; nil for none
	// perResource is set when a condition or the expression may read
	// "resource"; otherwise conditions are evaluated once per request, not
	// once per resource.
	perResource bool
}

// Compile validates spec and returns its compiled form. Every problem found
// is reported (joined), each wrapping ErrInvalidPolicy and naming the
// policy. The policy keeps its own copy of spec: changing spec afterwards
// changes nothing.
func Compile(spec PolicySpec) (*Policy, error) {
	p := &Policy{spec: cloneSpec(spec)}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, spec.ID, fmt.Sprintf(format, args...)))
	}
	if spec.Effect != Allow && spec.Effect != Deny {
		bad("effect %q is not allow or deny", spec.Effect)
	}
	var err error
	if p.actions, err = compilePatterns("actions", spec.Actions); err != nil {
		bad("%v", err)
	}
	if p.resources, err = compilePatterns("resources", spec.Resources); err != nil {
		bad("%v", err)
	}
	p.conds = make([]condition, len(spec.Conditions))
	for i, c := range spec.Conditions {
		if err := p.conds[i].compile(c); err != nil {
			bad("condition %d: %v", i+1, err)
		}
		p.perResource = p.perResource || p.conds[i].readsResource()
	}
	if spec.Expression != "" {
		if p.expr, err = compileExpr(spec.Expression); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrInvalidPolicy, spec.ID, err))
		}
		p.perResource = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// cloneSpec copies the slices of s, so that neither the caller nor a
// reader of Spec can change a compiled policy's record of its source.
func cloneSpec(s PolicySpec) PolicySpec {
	s.Actions = slices.Clone(s.Actions)
	s.Resources = slices.Clone(s.Resources)
	s.Conditions = slices.Clone(s.Conditions)
	s.Groups = slices.Clone(s.Groups)
	return s
}

// ID returns the policy's id ("" for the zero Policy).
func (p *Policy) ID() string { return p.spec.ID }

// Effect returns what the policy does when it matches.
func (p *Policy) Effect() Effect { return p.spec.Effect }

// Spec returns a copy of the spec the policy was compiled from.
func (p *Policy) Spec() PolicySpec { return cloneSpec(p.spec) }

// inGroup reports whether p belongs to policy group g.
func (p *Policy) inGroup(g string) bool { return slices.Contains(p.spec.Groups, g) }

// matches reports whether p applies to req for at least one of resources,
// and which resource it matched.
func (p *Policy) matches(req *Request, resources []string) (string, bool) {
	if !matchAny(p.actions, string(req.Action)) {
		return "", false
	}
	for _, r := range resources {
		if !matchAny(p.resources, r) {
			continue
		}
		if p.conditionsHold(req, r) {
			return r, true
		}
		if !p.perResource {
			// The conditions do not depend on the resource: no other
			// resource can make them hold.
			return "", false
		}
	}
	return "", false
}

func (p *Policy) conditionsHold(req *Request, resource string) bool {
	for i := range p.conds {
		if !p.conds[i].holds(req, resource) {
			return false
		}
	}
	if p.expr == nil {
		return true
	}
	// An expression that fails counts against the caller (see expr.go).
	v, ok := p.expr.holds(req, resource)
	if !ok {
		return p.spec.Effect == Deny
	}
	return v
}

// CoversAction reports whether p's actions match action: only then can p
// decide a request for it, whatever the resource, actor or conditions. It
// reads the compiled patterns, so it agrees with evaluation.
func (p *Policy) CoversAction(action Action) bool {
	return matchAny(p.actions, string(action))
}

// AnyCovers reports whether some policy of policies covers action (nil
// entries are skipped). When none of the policies that apply to a call
// covers its action, the call's outcome is Undefined: a caller can skip
// building the request.
func AnyCovers(policies []*Policy, action Action) bool {
	for _, p := range policies {
		if p != nil && p.CoversAction(action) {
			return true
		}
	}
	return false
}

// Scope is a resolved set of policies, sorted by id, each once.
type Scope []*Policy

// IDs returns the ids of the scope's policies, in order: what travels with
// a message to another node, which resolves them again.
func (s Scope) IDs() []string {
	ids := make([]string, len(s))
	for i, p := range s {
		ids[i] = p.ID()
	}
	return ids
}

// Resolve builds the scope named by policy ids and groups from all, keyed
// by policy id: each listed policy, plus every policy that lists one of the
// groups. An id that all does not define (or maps to nil) wraps
// ErrUnknownPolicy; a group no policy belongs to wraps ErrUnknownGroup, so
// a misspelt deny group is an error instead of a silently missing deny.
// All problems are reported together.
func Resolve(ids, groups []string, all map[string]*Policy) (Scope, error) {
	seen := make(map[string]bool)
	var out Scope
	var errs []error
	for _, id := range ids {
		p := all[id]
		if p == nil {
			errs = append(errs, fmt.Errorf("%w: %s", ErrUnknownPolicy, id))
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, p)
		}
	}
	for _, g := range groups {
		found := false
		for id, p := range all {
			if p == nil || !p.inGroup(g) {
				continue
			}
			found = true
			if !seen[id] {
				seen[id] = true
				out = append(out, p)
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("%w: %s", ErrUnknownGroup, g))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b *Policy) int { return strings.Compare(a.ID(), b.ID()) })
	return out, nil
}
