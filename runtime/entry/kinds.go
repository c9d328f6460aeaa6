package entry

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/sched"
	"github.com/wippyd/wippyd/runtime/security"
)

// kindReader decodes the kind-specific fields of one entry.
type kindReader struct {
	l        *loader
	c        *checker
	f        *fields // the entry's mapping
	e        *Entry
	ns       string
	yamlPath string // fs path of the YAML file
}

// ref resolves r, records it for checking against kinds, and returns the
// full id ("" when r is malformed).
func (k *kindReader) ref(line int, what, r string, kinds ...string) string {
	id, ok := resolve(k.ns, r)
	if !ok {
		k.c.errorf(line, "%s: bad entry reference %q (want name or namespace:name)", what, clip(r))
		return ""
	}
	k.l.refs = append(k.l.refs, ref{from: k.e, line: line, what: what, id: id, kinds: kinds})
	return id
}

func (k *kindReader) refs(f *fields, key string, kinds ...string) []string {
	list, line := f.strings(key, false)
	var out []string
	for i, r := range list {
		if id := k.ref(line, fmt.Sprintf("%s[%d]", join(f.path, key), i), r, kinds...); id != "" {
			out = append(out, id)
		}
	}
	return out
}

func (k *kindReader) lua() {
	f := k.f
	lu := &Lua{}
	k.e.Lua = lu
	uri, srcLine := f.str("source", true)
	if k.e.Kind == KindProcessLua {
		lu.Method = "main"
		if m, line := f.str("method", false); m != "" {
			lu.Method = m
		} else if f.has("method") {
			k.c.errorf(line, "method: must not be empty")
		}
	}
	var modLine int
	lu.Modules, modLine = f.strings("modules", false)
	k.checkModules(lu.Modules, modLine)
	imports, _ := f.pairs("imports")
	if len(imports) > 0 {
		lu.Imports = make(map[string]string, len(imports))
	}
	for _, p := range imports {
		if id := k.ref(p.line, "imports."+p.key, p.val.Value, KindLibraryLua); id != "" {
			lu.Imports[p.key] = id
		}
	}
	if uri == "" {
		return
	}
	p, err := sourcePath(uri, k.yamlPath)
	if err != nil {
		k.c.errorf(srcLine, "%v", err)
		return
	}
	res, ok := k.l.sources[p]
	if !ok {
		res.src, res.err = readSource(k.l.fsys, k.l.compile, uri, p, k.l.display(p), k.l.abs(p))
		k.l.sources[p] = res
	}
	lu.Source = res.src
	lu.Source.URI = uri
	var ce *CodeError
	switch {
	case errors.As(res.err, &ce):
		k.l.probs = append(k.l.probs, Problem{File: res.src.Name, Line: ce.Line, EntryID: k.e.ID, Message: ce.Message})
	case res.err != nil:
		k.c.errorf(srcLine, "%v", res.err)
	}
}

// checkModules checks the names of a modules: list (WithModules).
func (k *kindReader) checkModules(names []string, line int) {
	m := k.l.modules
	if m == nil {
		return
	}
	for _, name := range names {
		switch {
		case slices.Contains(m.Known, name):
		case slices.Contains(m.Unimplemented, name):
			k.l.warns = append(k.l.warns, Problem{File: k.c.file, Line: line, EntryID: k.e.ID,
				Message: fmt.Sprintf("module %s is not implemented by wippyd: require(%q) will fail", name, name)})
		case suggest(name, m.Known) != "":
			k.c.errorf(line, "modules: unknown module %q (did you mean %s?)", clip(name), suggest(name, m.Known))
		default:
			k.c.errorf(line, "modules: unknown module %q", clip(name))
		}
	}
}

func (k *kindReader) host() {
	f := k.f
	h := &Host{Terminal: k.e.Kind == KindTerminalHost, MaxMemory: DefaultMaxMemory}
	k.e.Host = h
	if lc := f.sub("lifecycle", nil); lc != nil {
		h.AutoStart = lc.boolean("auto_start")
		lc.done()
	}
	if hs := f.sub("host", nil); hs != nil {
		h.Workers = hs.countTo("workers", sched.MaxWorkers)
		h.LocalQueueSize = hs.countTo("local_queue_size", sched.MaxLocalQueueSize)
		h.QueueSize = hs.count("queue_size")
		h.MaxProcesses = hs.count("max_processes")
		h.MaxMailbox = hs.count("max_mailbox")
		h.MaxMemory = hs.size("max_memory", DefaultMaxMemory)
		h.CancelTimeout = hs.duration("cancel_timeout", 0)
		hs.done()
	}
	if h.Terminal {
		h.HideLogs = f.boolean("hide_logs")
	}
	if sec := f.sub("security", nil); sec != nil {
		h.Security = k.security(sec)
		sec.done()
	}
}

// security reads policies and groups of a security mapping.
func (k *kindReader) security(f *fields) Security {
	s := Security{Policies: k.refs(f, "policies", KindPolicy, KindPolicyExpr)}
	groups, line := f.strings("groups", false)
	for i, g := range groups {
		k.l.groups = append(k.l.groups, groupRef{from: k.e, line: line, what: fmt.Sprintf("%s[%d]", join(f.path, "groups"), i), name: g})
	}
	s.Groups = groups
	return s
}

func (k *kindReader) service() {
	f := k.f
	s := &Service{
		StartTimeout:    DefaultStartTimeout,
		StopTimeout:     DefaultStopTimeout,
		StableThreshold: DefaultStableThreshold,
		Restart: Restart{InitialDelay: DefaultInitialDelay, MaxDelay: DefaultMaxDelay,
			BackoffFactor: DefaultBackoffFactor, Jitter: DefaultJitter},
	}
	k.e.Service = s
	if p, line := f.str("process", true); p != "" {
		s.Process = k.ref(line, "process", p, KindProcessLua)
	}
	if h, line := f.str("host", true); h != "" {
		s.Host = k.ref(line, "host", h, KindProcessHost, KindTerminalHost)
	}
	if in, line := f.node("input"); in != nil {
		if in.Kind != yaml.SequenceNode {
			f.wrongType("input", line, "a list", in)
		} else {
			for i, item := range in.Content {
				v, _ := k.c.value(item, &valuePath{parent: &valuePath{key: "input"}, index: i}, 1)
				s.Input = append(s.Input, v)
			}
		}
	}
	lc := f.sub("lifecycle", nil)
	if lc == nil {
		return
	}
	defer lc.done()
	s.AutoStart = lc.boolean("auto_start")
	key := "requires"
	if lc.has("depends_on") {
		key = "depends_on"
		if lc.has("requires") {
			lc.get("requires")
			fl, _ := lc.get("depends_on")
			k.c.errorf(fl.line, "lifecycle: give requires or depends_on, not both")
		}
	}
	s.Requires = k.refs(lc, key, KindService)
	s.StartTimeout = k.positive(lc, "start_timeout", DefaultStartTimeout)
	s.StopTimeout = k.positive(lc, "stop_timeout", DefaultStopTimeout)
	s.StableThreshold = lc.duration("stable_threshold", DefaultStableThreshold)
	if r := lc.sub("restart", nil); r != nil {
		k.restart(r, &s.Restart)
		r.done()
	}
	if sec := lc.sub("security", nil); sec != nil {
		s.Actor = k.actor(sec)
		s.Security = k.security(sec)
		sec.done()
	}
}

func (k *kindReader) positive(f *fields, key string, def time.Duration) time.Duration {
	d, line, set := f.durationAt(key, def)
	if set && d == 0 {
		k.c.errorf(line, "%s: must be positive", join(f.path, key))
		return def
	}
	return d
}

func (k *kindReader) restart(r *fields, rs *Restart) {
	rs.MaxAttempts = r.count("max_attempts")
	key := "initial_delay"
	if r.has("delay") {
		key = "delay"
		if r.has("initial_delay") {
			r.get("initial_delay")
			fl, _ := r.get("delay")
			k.c.errorf(fl.line, "%s: give initial_delay or delay, not both", r.path)
		}
	}
	rs.InitialDelay = r.duration(key, DefaultInitialDelay)
	var maxSet bool
	var line int
	rs.MaxDelay, line, maxSet = r.durationAt("max_delay", DefaultMaxDelay)
	if rs.MaxDelay < rs.InitialDelay {
		if !maxSet {
			line = r.line
		}
		k.c.errorf(line, "%s: max_delay %s is less than initial_delay %s", r.path, rs.MaxDelay, rs.InitialDelay)
	}
	if rs.BackoffFactor = r.number("backoff_factor", DefaultBackoffFactor); rs.BackoffFactor < 1 {
		fl, _ := r.get("backoff_factor")
		k.c.errorf(fl.line, "%s.backoff_factor: must be at least 1, got %g", r.path, rs.BackoffFactor)
	}
	if rs.Jitter = r.number("jitter", DefaultJitter); rs.Jitter < 0 || rs.Jitter > 1 {
		fl, _ := r.get("jitter")
		k.c.errorf(fl.line, "%s.jitter: must be between 0 and 1, got %g", r.path, rs.Jitter)
	}
}

func (k *kindReader) actor(sec *fields) *security.Actor {
	af := sec.sub("actor", nil)
	if af == nil {
		return nil
	}
	defer af.done()
	a := &security.Actor{Meta: map[string]any{}}
	a.ID, _ = af.str("id", true)
	if mn, line := af.node("meta"); mn != nil {
		mf := k.c.mapping(mn, join(af.path, "meta"))
		if mf == nil {
			return a
		}
		for _, fl := range mf.list {
			if fl.line == 0 {
				fl.line = line
			}
			v, _ := k.c.value(fl.val, &valuePath{key: join(mf.path, fl.key)}, 2)
			a.Meta[fl.key] = plainValue(v)
		}
	}
	return a
}

// policy reads a security.policy entry and compiles it: the entry holds
// the compiled policy, so a policy that loads is one the node can use.
func (k *kindReader) policy() {
	before := len(*k.c.probs)
	spec := k.policySpec()
	if len(*k.c.probs) > before {
		return
	}
	p, err := security.Compile(spec)
	if err != nil {
		for _, e := range unjoin(err) {
			var ee *security.ExprError
			if errors.As(e, &ee) {
				k.c.errorf(k.exprLine(ee.Line), "policy.expression: %s (column %d)", ee.Message, ee.Column)
				continue
			}
			k.c.errorf(k.f.line, "policy: %v", e)
		}
		return
	}
	k.e.Policy = p
}

// exprLine is the line of the YAML file that holds line n of the policy's
// expression: a block scalar ("|" or ">") starts on the line after its
// key, any other on the key's own.
func (k *kindReader) exprLine(n int) int {
	pf := k.f.sub("policy", nil)
	if pf == nil {
		return k.f.line
	}
	fl, ok := pf.get("expression")
	if !ok {
		return pf.line
	}
	v := deref(fl.val)
	if v == nil {
		return fl.line
	}
	first := v.Line
	if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		first++
	}
	return first + n - 1
}

// unjoin returns the errors err joins, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (k *kindReader) policySpec() security.PolicySpec {
	f := k.f
	p := security.PolicySpec{ID: k.e.ID}
	groups, _ := f.strings("groups", false)
	p.Groups = groups
	for _, g := range groups {
		k.l.inGroup[g] = true
	}
	pf := f.sub("policy", nil)
	if pf == nil {
		if !f.has("policy") {
			f.missing("policy")
		}
		return p
	}
	defer pf.done()
	p.Actions = k.nonEmpty(pf, "actions")
	p.Resources = k.nonEmpty(pf, "resources")
	switch eff, line := pf.str("effect", true); eff {
	case "":
	case string(security.Allow), string(security.Deny):
		p.Effect = security.Effect(eff)
	default:
		k.c.errorf(line, "policy.effect: unknown effect %q (want allow or deny)", clip(eff))
	}
	if k.e.Kind == KindPolicyExpr {
		expr, line := pf.str("expression", true)
		if pf.has("expression") && strings.TrimSpace(expr) == "" {
			k.c.errorf(line, "policy.expression: must not be empty")
		}
		p.Expression = expr
		return p
	}
	list, line := pf.node("conditions")
	if list == nil {
		return p
	}
	if list.Kind != yaml.SequenceNode {
		pf.wrongType("conditions", line, "a list", list)
		return p
	}
	for i, item := range list.Content {
		cf := k.c.mapping(item, fmt.Sprintf("policy.conditions[%d]", i))
		if cf == nil {
			continue
		}
		if cond, ok := k.condition(cf); ok {
			p.Conditions = append(p.Conditions, cond)
		}
		cf.done()
	}
	return p
}

// nonEmpty reads a required string-or-list field that may not be empty.
func (k *kindReader) nonEmpty(f *fields, key string) []string {
	list, line := f.strings(key, true)
	switch {
	case !f.has(key):
		f.missing(key)
	case list == nil:
		// null, or a type problem already reported
		if n, _ := f.node(key); n == nil {
			f.missing(key)
		}
	case len(list) == 0:
		k.c.errorf(line, "%s: must not be empty", join(f.path, key))
	}
	return list
}

// condition reads one policy condition. Its checks are the ones Compile
// makes, reported at the line of the field at fault.
func (k *kindReader) condition(cf *fields) (security.Condition, bool) {
	var c security.Condition
	ok := true
	field, line := cf.str("field", true)
	if field != "" && !security.ValidField(field) {
		k.c.errorf(line, "%s.field: unknown field %q (want actor.id, actor.meta.*, action, resource or meta.*)", cf.path, clip(field))
		ok = false
	}
	c.Field = field
	op, opLine := cf.str("operator", true)
	c.Operator = security.Operator(op)
	switch {
	case op == "":
		ok = false
	case !c.Operator.Valid():
		k.c.errorf(opLine, "%s.operator: unknown operator %q (want %s)", cf.path, clip(op), operatorList())
		ok = false
	}
	hasValue, hasFrom := cf.has("value"), cf.has("value_from")
	presence := c.Operator == security.OpExists || c.Operator == security.OpNexists
	switch {
	case hasValue && hasFrom:
		k.c.errorf(cf.line, "%s: give value or value_from, not both", cf.path)
		cf.get("value")
		cf.get("value_from")
		return c, false
	case presence && hasFrom:
		fl, _ := cf.get("value_from")
		k.c.errorf(fl.line, "%s.value_from: operator %s takes no value_from", cf.path, op)
		return c, false
	case !hasValue && !hasFrom && !presence:
		k.c.errorf(cf.line, "%s: missing value or value_from", cf.path)
		return c, false
	case hasFrom:
		from, fromLine := cf.str("value_from", true)
		if from != "" && !security.ValidField(from) {
			k.c.errorf(fromLine, "%s.value_from: unknown field %q (want actor.id, actor.meta.*, action, resource or meta.*)", cf.path, clip(from))
			ok = false
		}
		c.ValueFrom = from
		return c, ok && from != ""
	case !hasValue:
		return c, ok // exists or nexists with no value: true
	}
	v, vLine, _ := cf.value("value")
	c.Value = plainValue(v)
	switch c.Operator {
	case security.OpIn, security.OpNin:
		if v.Kind() != msg.KindList {
			k.c.errorf(vLine, "%s.value: operator %s wants a list", cf.path, op)
			ok = false
		}
	case security.OpExists, security.OpNexists:
		if v.Kind() != msg.KindBool {
			k.c.errorf(vLine, "%s.value: operator %s wants true or false", cf.path, op)
			ok = false
		}
	case security.OpMatches, security.OpNmatches:
		s, isStr := v.AsString()
		if !isStr {
			k.c.errorf(vLine, "%s.value: operator %s wants a regular expression string", cf.path, op)
			return c, false
		}
		if _, err := regexp.Compile(s); err != nil {
			k.c.errorf(vLine, "%s.value: bad regular expression: %v", cf.path, err)
			return c, false
		}
	}
	return c, ok
}

// operatorList names the condition operators for messages.
func operatorList() string {
	ops := security.Operators()
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

// plainValue turns a YAML value into the Go value policy conditions and
// actor meta hold: a scalar, or a list ([]any) or map (map[string]any) of
// such values.
func plainValue(v msg.Value) any {
	switch v.Kind() {
	case msg.KindBool:
		b, _ := v.AsBool()
		return b
	case msg.KindInt:
		i, _ := v.AsInt()
		return i
	case msg.KindFloat:
		f, _ := v.AsFloat()
		return f
	case msg.KindString:
		s, _ := v.AsString()
		return s
	case msg.KindList:
		var out []any
		for _, it := range v.Items() {
			out = append(out, plainValue(it))
		}
		return out
	case msg.KindMap:
		out := make(map[string]any, v.Len())
		for _, pr := range v.Pairs() {
			k, _ := pr.Key.AsString() // YAML mapping keys are strings
			out[k] = plainValue(pr.Val)
		}
		return out
	case msg.KindNil:
		return nil
	}
	return v.String()
}

func (k *kindReader) env() {
	f := k.f
	v := &EnvVariable{}
	k.e.Env = v
	name, line := f.str("variable", false)
	if f.has("variable") && (name == "" || strings.ContainsAny(name, "=\x00")) {
		k.c.errorf(line, "variable: bad environment variable name %q", clip(name))
	}
	v.Variable = name
	if f.has("default") {
		n, dline := f.node("default")
		switch {
		case n == nil: // null: no default
		case n.Kind != yaml.ScalarNode:
			f.wrongType("default", dline, "a string", n)
		default:
			v.Default, v.HasDefault = n.Value, true
		}
	}
	if !f.has("variable") && !f.has("default") {
		k.c.errorf(f.line, "needs variable, default, or both")
	}
}

// pgInert are the pg.scope fields of Wippy's that have no effect here:
// the internode transport already keeps each peer's traffic in order and
// replays it across reconnects, a broadcast never waits for a member, and
// a subscription's events are never dropped (see docs/cluster.md).
var pgInert = []string{
	"protocol_timeout", "broadcast_timeout", "circuit_breaker_failures", "circuit_breaker_reset_time",
	"max_retries", "retry_base_delay", "retry_max_delay", "action_queue_size", "action_queue_max_size",
	"monitor_buffer",
}

func (k *kindReader) pgScope() {
	f := k.f
	s := &PGScope{AntiEntropy: DefaultAntiEntropy}
	k.e.PG = s
	if lc := f.sub("lifecycle", nil); lc != nil {
		lc.boolean("auto_start") // a scope serves from the node's start
		lc.done()
	}
	s.AntiEntropy = f.duration("anti_entropy_interval", DefaultAntiEntropy)
	s.MaxGroups = f.count("max_groups")
	s.MaxMembersPerGroup = f.count("max_members_per_group")
	for _, key := range pgInert {
		fl, ok := f.get(key)
		if !ok {
			continue
		}
		if strings.HasSuffix(key, "_timeout") || strings.HasSuffix(key, "_time") || strings.HasSuffix(key, "_delay") {
			f.duration(key, 0)
		} else {
			f.count(key)
		}
		k.l.warns = append(k.l.warns, Problem{File: k.c.file, Line: fl.line, EntryID: k.e.ID,
			Message: fmt.Sprintf("%s has no effect in wippyd (see docs/cluster.md)", key)})
	}
}
