package host

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Actor is the identity a process runs as. Meta values are scalars: string,
// bool, any integer or float type; conditions compare them as numbers when
// both sides are numbers and as text otherwise. A nil meta value counts as
// absent. An Actor is shared by every process that inherits it and must not
// be modified once in use.
type Actor struct {
	ID   string
	Meta map[string]any
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
// Comparison is numeric when both sides are numbers (Go numbers, or text
// that parses as a finite decimal number), textual otherwise; booleans
// compare as "true"/"false". OpIn with Value needs a list; with ValueFrom
// the named field may hold a list (membership) or a scalar (equality).
// OpMatches takes a Go regexp (unanchored); a constant one in Value is
// compiled once by NewPolicy, one read through ValueFrom is compiled at each
// evaluation and, when it does not compile, makes the condition false.
type Condition struct {
	Field     string
	Operator  Operator
	Value     any
	ValueFrom string

	op    Operator // Operator as compiled; evaluation never reads the exported fields
	field ref
	from  ref
	value scalar
	list  []scalar
	re    *regexp.Regexp
}

// Policy is a security.policy entry. Build it with NewPolicy; evaluation
// uses the compiled form NewPolicy produces, so changing the exported fields
// afterwards has no effect on decisions. A built Policy is immutable and
// safe for concurrent use.
type Policy struct {
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

	actions   []pattern
	resources []pattern
	conds     []Condition
	// perResource is set when a condition reads "resource"; otherwise
	// conditions are evaluated once per request, not once per resource.
	perResource bool
	built       bool
}

// NewPolicy validates spec and returns a compiled copy of it. Every problem
// found is reported (joined), each wrapping ErrInvalidPolicy and naming the
// policy.
func NewPolicy(spec Policy) (*Policy, error) {
	p := &Policy{
		ID:         spec.ID,
		Actions:    slices.Clone(spec.Actions),
		Resources:  slices.Clone(spec.Resources),
		Effect:     spec.Effect,
		Conditions: slices.Clone(spec.Conditions),
		Groups:     slices.Clone(spec.Groups),
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalidPolicy, p.ID, fmt.Sprintf(format, args...)))
	}
	if p.Effect != Allow && p.Effect != Deny {
		bad("effect %q is not allow or deny", p.Effect)
	}
	var err error
	if p.actions, err = compilePatterns("actions", p.Actions); err != nil {
		bad("%v", err)
	}
	if p.resources, err = compilePatterns("resources", p.Resources); err != nil {
		bad("%v", err)
	}
	for i := range p.Conditions {
		c := &p.Conditions[i]
		if err := c.compile(); err != nil {
			bad("condition %d: %v", i+1, err)
		}
		p.perResource = p.perResource || c.field.kind == refResource || c.from.kind == refResource
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.conds = slices.Clone(p.Conditions)
	p.built = true
	return p, nil
}

// pattern is a compiled action or resource pattern.
type pattern struct {
	text   string // the exact name, or the prefix before "*"
	prefix bool
}

func (p pattern) match(s string) bool {
	if p.prefix {
		return strings.HasPrefix(s, p.text)
	}
	return s == p.text
}

func compilePatterns(what string, list []string) ([]pattern, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("no %s", what)
	}
	out := make([]pattern, 0, len(list))
	for _, s := range list {
		if s == "" {
			return nil, fmt.Errorf("empty pattern in %s", what)
		}
		text, prefix := strings.CutSuffix(s, "*")
		if strings.Contains(text, "*") {
			return nil, fmt.Errorf("pattern %q in %s: '*' is only allowed at the end", s, what)
		}
		out = append(out, pattern{text: text, prefix: prefix})
	}
	return out, nil
}

func matchAny(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
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
		return parseText(req.Action), true
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

func (c *Condition) compile() error {
	// Start clean: spec may be copied from a policy that was built before.
	c.op, c.field, c.from, c.value, c.list, c.re = c.Operator, ref{}, ref{}, scalar{}, nil, nil
	var err error
	if c.field, err = parseRef(c.Field); err != nil {
		return err
	}
	switch {
	case c.ValueFrom != "" && c.Value != nil:
		return errors.New("both value and value_from are set")
	case c.ValueFrom == "" && c.Value == nil:
		return errors.New("neither value nor value_from is set")
	case c.ValueFrom != "":
		c.from, err = parseRef(c.ValueFrom)
		if err == nil && !validOperator(c.Operator) {
			err = fmt.Errorf("unknown operator %q", c.Operator)
		}
		return err
	}
	switch c.Operator {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte:
		if !isScalar(c.Value) {
			return fmt.Errorf("%s needs a scalar value, got %T", c.Operator, c.Value)
		}
		c.value = toScalar(c.Value)
	case OpIn:
		rv := reflect.ValueOf(c.Value)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return fmt.Errorf("in needs a list value, got %T", c.Value)
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
		s, ok := c.Value.(string)
		if !ok {
			return fmt.Errorf("matches needs a string pattern, got %T", c.Value)
		}
		if c.re, err = regexp.Compile(s); err != nil {
			return fmt.Errorf("matches: %v", err)
		}
	default:
		return fmt.Errorf("unknown operator %q", c.Operator)
	}
	return nil
}

func validOperator(op Operator) bool {
	switch op {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpMatches:
		return true
	}
	return false
}

// holds evaluates the condition for one (request, resource) pair.
func (c *Condition) holds(req *Request, resource string) bool {
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

// numKind says whether a scalar is a number, and which kind.
type numKind uint8

const (
	numNone numKind = iota
	numInt
	numFloat
)

// scalar is a value prepared for comparison. Text of a Go number is made
// only when it is compared with text, so numeric checks do not allocate.
type scalar struct {
	num numKind
	i   int64
	f   float64
	s   string
	raw any // the original value when s has not been made yet
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return true
	}
	return false
}

func toScalar(v any) scalar {
	switch x := v.(type) {
	case string:
		return parseText(x)
	case bool:
		if x {
			return scalar{s: "true"}
		}
		return scalar{s: "false"}
	case int:
		return intScalar(int64(x), v)
	case int8:
		return intScalar(int64(x), v)
	case int16:
		return intScalar(int64(x), v)
	case int32:
		return intScalar(int64(x), v)
	case int64:
		return intScalar(x, v)
	case uint:
		return uintScalar(uint64(x), v)
	case uint8:
		return intScalar(int64(x), v)
	case uint16:
		return intScalar(int64(x), v)
	case uint32:
		return intScalar(int64(x), v)
	case uint64:
		return uintScalar(x, v)
	case float32:
		return floatScalar(float64(x), v)
	case float64:
		return floatScalar(x, v)
	}
	return scalar{s: fmt.Sprint(v)}
}

func intScalar(i int64, raw any) scalar { return scalar{num: numInt, i: i, f: float64(i), raw: raw} }

func uintScalar(u uint64, raw any) scalar {
	if u > math.MaxInt64 {
		return scalar{num: numFloat, f: float64(u), raw: raw}
	}
	return intScalar(int64(u), raw)
}

func floatScalar(f float64, raw any) scalar {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return scalar{raw: raw}
	}
	return scalar{num: numFloat, f: f, raw: raw}
}

// parseText makes a scalar of text, recognising finite decimal numbers. The
// cheap character check keeps ordinary words away from strconv, whose
// errors allocate.
func parseText(s string) scalar {
	if !looksNumeric(s) {
		return scalar{s: s}
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return scalar{num: numInt, i: i, f: float64(i), s: s}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return scalar{num: numFloat, f: f, s: s}
	}
	return scalar{s: s}
}

func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digit
}

func (s scalar) text() string {
	if s.raw != nil {
		if s.num == numInt {
			return strconv.FormatInt(s.i, 10)
		}
		switch x := s.raw.(type) {
		case float32:
			return strconv.FormatFloat(float64(x), 'g', -1, 32)
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return fmt.Sprint(s.raw)
	}
	return s.s
}

// compare orders two scalars: numerically when both are numbers, by text
// otherwise.
func compare(a, b scalar) int {
	if a.num != numNone && b.num != numNone {
		if a.num == numInt && b.num == numInt {
			return cmpOrdered(a.i, b.i)
		}
		return cmpOrdered(a.f, b.f)
	}
	return strings.Compare(a.text(), b.text())
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// matches reports whether p applies to req for at least one of resources,
// and which resource it matched.
func (p *Policy) matches(req *Request, resources []string) (string, bool) {
	if !matchAny(p.actions, req.Action) {
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
	return true
}

// CoversAction reports whether p's actions match action: only then can p
// decide a request for it, whatever the resource, actor or conditions. It
// reads the compiled patterns, so it agrees with evaluation. It panics on
// a Policy not made by NewPolicy.
func (p *Policy) CoversAction(action string) bool {
	if !p.built {
		panic(fmt.Sprintf("host: policy %q was not built with NewPolicy", p.ID))
	}
	return matchAny(p.actions, action)
}

// AnyCovers reports whether some policy of policies covers action (nil
// entries are skipped). When none of the policies that apply to a call
// covers its action, the call's outcome is Undefined: a caller can skip
// building the request.
func AnyCovers(policies []*Policy, action string) bool {
	for _, p := range policies {
		if p != nil && p.CoversAction(action) {
			return true
		}
	}
	return false
}

// Request is one permission question: may Actor do Action on Resources?
type Request struct {
	// Actor is the caller's identity; nil when the process has none.
	Actor *Actor
	// Action is the action name, e.g. "process.send".
	Action string
	// Resources are the names the resource goes by; a policy matches when
	// any of them matches. A target-directed action lists the target PID
	// string, the name used (if any) and the target's host id. An empty
	// list is evaluated as the single resource "".
	Resources []string
	// Meta holds request facts for meta.<key> fields: "host" and "node"
	// are the caller's host and node.
	Meta map[string]string
}

// Outcome is the raw result of evaluating policies.
type Outcome uint8

// Outcomes.
const (
	Undefined Outcome = iota // no policy matched
	Allowed                  // an allow matched and no deny did
	Denied                   // a deny matched
)

var outcomeNames = [...]string{"undefined", "allowed", "denied"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Decision is the result of Evaluate.
type Decision struct {
	Outcome Outcome
	// Permitted is the final answer: Allowed, or Undefined outside strict
	// mode.
	Permitted bool
	// Policy is the id of the deciding policy: the first matching deny, or
	// the first matching allow; "" when Undefined.
	Policy string
	// Resource is the resource the deciding policy matched.
	Resource string
}

// Evaluate decides req against policies (SPEC section 8): any matching deny
// gives Denied; otherwise any matching allow gives Allowed; otherwise
// Undefined, which is permitted unless strict. Nil entries are skipped. It
// panics on a Policy not made by NewPolicy, a programming error that must
// not silently drop a deny.
func Evaluate(policies []*Policy, req Request, strict bool) Decision {
	var e evaluation
	e.add(policies, &req)
	return e.decision(strict)
}

// evaluation accumulates one decision over several policy lists without
// concatenating them.
type evaluation struct {
	deny, allow   *Policy
	denyResource  string
	allowResource string
}

func (e *evaluation) add(policies []*Policy, req *Request) {
	if e.deny != nil {
		return
	}
	resources := req.Resources
	if len(resources) == 0 {
		resources = noResource[:]
	}
	for _, p := range policies {
		if p == nil {
			continue
		}
		if !p.built {
			panic(fmt.Sprintf("host: policy %q was not built with NewPolicy", p.ID))
		}
		if p.Effect == Allow && e.allow != nil {
			continue // one allow is enough; only a deny can change the outcome now
		}
		r, ok := p.matches(req, resources)
		if !ok {
			continue
		}
		if p.Effect == Deny {
			e.deny, e.denyResource = p, r
			return
		}
		e.allow, e.allowResource = p, r
	}
}

var noResource = [1]string{""}

func (e *evaluation) decision(strict bool) Decision {
	switch {
	case e.deny != nil:
		return Decision{Outcome: Denied, Policy: e.deny.ID, Resource: e.denyResource}
	case e.allow != nil:
		return Decision{Outcome: Allowed, Permitted: true, Policy: e.allow.ID, Resource: e.allowResource}
	}
	return Decision{Outcome: Undefined, Permitted: !strict}
}

// DeniedError is the error of a denied check. It wraps ErrPermissionDenied.
type DeniedError struct {
	Action string
	// Resource is the resource the deny matched; for an undefined outcome
	// in strict mode, all the request's resources joined with ", ".
	Resource string
	// Policy is the denying policy's id; "" when nothing allowed the
	// action in strict mode.
	Policy string
	// Actor is the id of the actor that was refused ("" for none); with
	// narrowing it is the actor of the layer that refused.
	Actor string
}

func (e *DeniedError) Error() string {
	why := "no policy allows it (strict mode)"
	if e.Policy != "" {
		why = "denied by " + e.Policy
	}
	return fmt.Sprintf("%s: %s on %s: %s", ErrPermissionDenied, e.Action, e.Resource, why)
}

// Unwrap returns ErrPermissionDenied.
func (e *DeniedError) Unwrap() error { return ErrPermissionDenied }

// Check decides one call against the policies that apply to it: the
// caller's scope, the caller's host's policies and, for an action aimed at
// a process, the target host's policies (nil otherwise). It returns nil when
// permitted and a *DeniedError otherwise.
func Check(callerScope, callerHost, targetHost []*Policy, req Request, strict bool) error {
	var e evaluation
	e.add(callerScope, &req)
	e.add(callerHost, &req)
	e.add(targetHost, &req)
	d := e.decision(strict)
	if d.Permitted {
		return nil
	}
	actor := ""
	if req.Actor != nil {
		actor = req.Actor.ID
	}
	res := d.Resource
	if d.Outcome == Undefined {
		res = strings.Join(req.Resources, ", ")
	}
	return &DeniedError{Action: req.Action, Resource: res, Policy: d.Policy, Actor: actor}
}

// Layer is one (actor, scope) pair of a security context.
type Layer struct {
	Actor *Actor
	Scope []*Policy
}

// Chain is a process's security context: the layer it was given at the
// root (a service's actor and scope, or none) followed by one layer per
// narrowing (:with_actor / :with_scope) between it and that root. Every
// layer must allow an action, so a narrowing can only take permissions
// away. A Chain is shared by the processes that inherit it and never
// modified; Narrow returns a new one.
type Chain []Layer

// Narrow returns c with one more layer. The caller keeps the parent's actor
// or scope in the new layer for whichever of the two it does not replace.
func (c Chain) Narrow(actor *Actor, scope []*Policy) Chain {
	out := make(Chain, len(c), len(c)+1)
	copy(out, c)
	return append(out, Layer{Actor: actor, Scope: scope})
}

// Covers reports whether a policy of some layer's scope covers action
// (see AnyCovers).
func (c Chain) Covers(action string) bool {
	for _, l := range c {
		if AnyCovers(l.Scope, action) {
			return true
		}
	}
	return false
}

// Actor returns the actor of the innermost layer, the one a process runs
// as; nil for an empty chain.
func (c Chain) Actor() *Actor {
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1].Actor
}

// CheckNarrowed checks req for every layer of chain, each with its own actor
// (req.Actor is replaced) and scope plus the same host policies, and
// returns the first refusal. An empty chain is checked as one layer with
// req.Actor and an empty scope.
func CheckNarrowed(chain []Layer, callerHost, targetHost []*Policy, req Request, strict bool) error {
	if len(chain) == 0 {
		return Check(nil, callerHost, targetHost, req, strict)
	}
	for _, l := range chain {
		req.Actor = l.Actor
		if err := Check(l.Scope, callerHost, targetHost, req, strict); err != nil {
			return err
		}
	}
	return nil
}

// Scope is a resolved set of policies, sorted by id, each once.
type Scope []*Policy

// IDs returns the ids of the scope's policies, in order: what travels with
// a message to another node, which resolves them again.
func (s Scope) IDs() []string {
	ids := make([]string, len(s))
	for i, p := range s {
		ids[i] = p.ID
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
			if p == nil || !slices.Contains(p.Groups, g) {
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
	slices.SortFunc(out, func(a, b *Policy) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
