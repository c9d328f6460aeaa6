package lua

import (
	"slices"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Scopes and policies of the security module (en/lua/security/security.md):
// security.scope(), new_scope, policy, named_scope, and the Scope and
// Policy objects. A scope object is an immutable, sorted set of the node's
// compiled policies; spawner:with_scope narrows a child to one.

// luaScope is a Scope object's value: policies sorted by id, each once.
type luaScope struct {
	policies []*security.Policy
}

func (s *luaScope) index(id string) (int, bool) {
	return slices.BinarySearchFunc(s.policies, id, func(p *security.Policy, id string) int {
		return strings.Compare(p.ID(), id)
	})
}

// with returns s plus p (s itself when p is in it already).
func (s *luaScope) with(p *security.Policy) *luaScope {
	i, found := s.index(p.ID())
	if found {
		return s
	}
	return &luaScope{policies: slices.Insert(slices.Clone(s.policies), i, p)}
}

// without returns s less the policy id.
func (s *luaScope) without(id string) *luaScope {
	i, found := s.index(id)
	if !found {
		return s
	}
	return &luaScope{policies: slices.Delete(slices.Clone(s.policies), i, i+1)}
}

func newScope(policies []*security.Policy) *luaScope {
	s := &luaScope{}
	for _, p := range policies {
		if p != nil {
			s = s.with(p)
		}
	}
	return s
}

func (p *process) pushScope(L *glua.LState, s *luaScope) {
	L.Push(&glua.LUserData{Value: s, Metatable: p.eng.lib.scopeMeta})
}

func (p *process) pushPolicy(L *glua.LState, pol *security.Policy) {
	L.Push(&glua.LUserData{Value: pol, Metatable: p.eng.lib.policyMeta})
}

func checkScope(L *glua.LState, n int) *luaScope {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*luaScope); ok {
			return s
		}
	}
	L.ArgError(n, "scope expected (from security.new_scope, security.named_scope or security.scope)")
	return nil
}

func checkPolicy(L *glua.LState, n int) *security.Policy {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if p, ok := ud.Value.(*security.Policy); ok {
			return p
		}
	}
	L.ArgError(n, "policy expected (from security.policy)")
	return nil
}

// notFound is the error of a policy, group or store the node does not
// have: INTERNAL, as the docs' error table gives it.
func notFound(format string, args ...any) *proc.Error {
	return proc.Errorf(proc.KindInternal, msg.False, format, args...)
}

// secScope implements security.scope(): the scope the caller runs with, or
// nil when it has no policies.
func secScope(L *glua.LState) int {
	p := procOf(L)
	pols := p.env.Scope()
	if len(pols) == 0 {
		L.Push(glua.LNil)
		return 1
	}
	p.pushScope(L, newScope(pols))
	return 1
}

// secNewScope implements security.new_scope([policies]).
func secNewScope(L *glua.LState) int {
	p := procOf(L)
	if err := p.env.Authorize(security.ActionScopeCreate, security.ResourceCustom); err != nil {
		return fail(L, glua.LNil, err)
	}
	s := &luaScope{}
	switch t := L.Get(1).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		for i := 1; i <= t.Len(); i++ {
			L.Push(t.RawGetInt(i))
			pol := checkPolicy(L, L.GetTop())
			L.Pop(1)
			s = s.with(pol)
		}
	default:
		L.ArgError(1, "a list of policies expected")
	}
	p.pushScope(L, s)
	return 1
}

// secPolicy implements security.policy(id).
func secPolicy(L *glua.LState) int {
	p := procOf(L)
	id := L.CheckString(1)
	if err := p.env.Authorize(security.ActionPolicyGet, id); err != nil {
		return fail(L, glua.LNil, err)
	}
	pol := p.env.Policy(id)
	if pol == nil {
		return fail(L, glua.LNil, notFound("policy not found: %s", id))
	}
	p.pushPolicy(L, pol)
	return 1
}

// secNamedScope implements security.named_scope(group).
func secNamedScope(L *glua.LState) int {
	p := procOf(L)
	name := L.CheckString(1)
	if err := p.env.Authorize(security.ActionGroupGet, name); err != nil {
		return fail(L, glua.LNil, err)
	}
	pols := p.env.PolicyGroup(name)
	if len(pols) == 0 {
		return fail(L, glua.LNil, notFound("policy group not found: %s", name))
	}
	p.pushScope(L, newScope(pols))
	return 1
}

// secTokenStore implements security.token_store(id): wippyd has no token
// stores (security.token_store entries are skipped at load), so every id
// is one the node does not have.
func secTokenStore(L *glua.LState) int {
	id := L.CheckString(1)
	if id == "" {
		return fail(L, glua.LNil, invalidf("empty token store id"))
	}
	return fail(L, glua.LNil, notFound("token store not found: %s (wippyd has no token stores)", id))
}

func scopeWith(L *glua.LState) int {
	p := procOf(L)
	p.pushScope(L, checkScope(L, 1).with(checkPolicy(L, 2)))
	return 1
}

func scopeWithout(L *glua.LState) int {
	p := procOf(L)
	s := checkScope(L, 1)
	var id string
	if _, ok := L.Get(2).(*glua.LUserData); ok {
		id = checkPolicy(L, 2).ID()
	} else {
		id = L.CheckString(2)
	}
	p.pushScope(L, s.without(id))
	return 1
}

func scopeContains(L *glua.LState) int {
	_, found := checkScope(L, 1).index(L.CheckString(2))
	L.Push(glua.LBool(found))
	return 1
}

func scopePolicies(L *glua.LState) int {
	p := procOf(L)
	s := checkScope(L, 1)
	t := L.CreateTable(len(s.policies), 0)
	for _, pol := range s.policies {
		p.pushPolicy(L, pol)
		t.Append(L.Get(-1))
		L.Pop(1)
	}
	L.Push(t)
	return 1
}

func scopeEvaluate(L *glua.LState) int {
	return evaluateWith(L, checkScope(L, 1).policies)
}

func policyEvaluate(L *glua.LState) int {
	return evaluateWith(L, []*security.Policy{checkPolicy(L, 1)})
}

// evaluateWith implements :evaluate(actor, action, resource [, meta]) of
// scopes and policies: "allow", "deny" or "undefined", by the policies
// alone (no host policies, no strict mode, no facts of the caller's).
func evaluateWith(L *glua.LState, pols []*security.Policy) int {
	var actor *security.Actor
	if L.Get(2) != glua.LNil {
		actor = checkActor(L, 2)
	}
	req := security.Request{Actor: actor, Action: security.Action(L.CheckString(3)), Resources: []string{L.CheckString(4)}}
	if t, ok := L.Get(5).(*glua.LTable); ok {
		var err error
		if req.Meta, err = metaOf(t, "evaluate meta"); err != nil {
			L.ArgError(5, err.Error())
		}
	} else if L.Get(5) != glua.LNil {
		L.ArgError(5, "meta must be a table")
	}
	L.Push(glua.LString(outcomeWord(security.Evaluate(pols, req, false).Outcome)))
	return 1
}

func outcomeWord(o security.Outcome) string {
	switch o {
	case security.Allowed:
		return "allow"
	case security.Denied:
		return "deny"
	}
	return "undefined"
}

func policyID(L *glua.LState) int {
	L.Push(glua.LString(checkPolicy(L, 1).ID()))
	return 1
}

func policyToString(L *glua.LState) int {
	L.Push(glua.LString("policy: " + checkPolicy(L, 1).ID()))
	return 1
}

func scopeToString(L *glua.LState) int {
	s := checkScope(L, 1)
	ids := make([]string, len(s.policies))
	for i, p := range s.policies {
		ids[i] = p.ID()
	}
	L.Push(glua.LString("scope: [" + strings.Join(ids, ", ") + "]"))
	return 1
}

func (l *libs) buildScopes(B *glua.LState) {
	l.scopeMeta = userMeta(B, "scope", map[string]glua.LGFunction{"__tostring": scopeToString})
	m := B.CreateTable(0, 5)
	for name, fn := range map[string]glua.LGFunction{"with": scopeWith, "without": scopeWithout,
		"contains": scopeContains, "policies": scopePolicies, "evaluate": scopeEvaluate} {
		m.RawSetString(name, B.NewFunction(fn))
	}
	l.scopeMeta.RawSetString("__index", m)
	l.policyMeta = userMeta(B, "policy", map[string]glua.LGFunction{"__tostring": policyToString})
	m = B.CreateTable(0, 2)
	m.RawSetString("id", B.NewFunction(policyID))
	m.RawSetString("evaluate", B.NewFunction(policyEvaluate))
	l.policyMeta.RawSetString("__index", m)
}
