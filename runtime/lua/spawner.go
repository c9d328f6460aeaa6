package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// spawner is the immutable builder process.with_context and
// process.with_options return: every method returns a new one.
type spawner struct {
	context map[string]msg.Value // context values for the child, over the caller's
	options map[string]msg.Value // spawn-time options (see spawnOptions)
	name    string
	message *proc.Delivery
	actor   *security.Actor    // run the child as this actor (narrowing)
	scope   []*security.Policy // with this scope (narrowing); nil keeps the caller's
}

// spawnOptions are the options with_options knows. Wippy's "network"
// selects a network.* entry for the child's outbound connections; wippyd
// has no network entries, so it is accepted, checked (network.select) and
// has no effect. Any other option is INVALID, so a misspelt one is found.
var spawnOptions = map[string]msg.Kind{"network": msg.KindString}

func (s *spawner) clone() *spawner {
	c := *s
	c.context = cloneValues(s.context)
	c.options = cloneValues(s.options)
	return &c
}

func cloneValues(m map[string]msg.Value) map[string]msg.Value {
	out := make(map[string]msg.Value, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func checkSpawner(L *glua.LState) *spawner {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*spawner); ok {
			return s
		}
	}
	L.ArgError(1, "spawner expected")
	return nil
}

func (p *process) pushSpawner(L *glua.LState, s *spawner) int {
	L.Push(&glua.LUserData{Value: s, Metatable: p.eng.lib.spawnerMeta})
	return 1
}

// mergeTable adds the string-keyed entries of table n to m.
func mergeTable(L *glua.LState, m map[string]msg.Value, n int, what string) error {
	t := L.CheckTable(n)
	v, err := lualib.ToValue(L, t)
	if err != nil {
		return err
	}
	for _, pr := range v.Pairs() {
		k, ok := pr.Key.AsString()
		if !ok {
			return invalidf("%s keys must be strings", what)
		}
		m[k] = pr.Val
	}
	return nil
}

// mergeOptions adds table n to s.options: known options of the right kind,
// network checked as network.select.
func (p *process) mergeOptions(L *glua.LState, s *spawner, n int) error {
	add := map[string]msg.Value{}
	if err := mergeTable(L, add, n, "option"); err != nil {
		return err
	}
	for k, v := range add {
		kind, ok := spawnOptions[k]
		switch {
		case !ok:
			return invalidf("unknown spawn option %q (wippyd knows: network)", k)
		case v.Kind() != kind:
			return invalidf("spawn option %s must be a %s, got %s", k, kind, v.Kind())
		}
		if net, _ := v.AsString(); k == "network" {
			if err := p.env.Authorize(security.ActionNetwork, net); err != nil {
				return err
			}
		}
		s.options[k] = v
	}
	return nil
}

func newSpawner() *spawner {
	return &spawner{context: map[string]msg.Value{}, options: map[string]msg.Value{}}
}

// procWithContext implements process.with_context(values).
func procWithContext(L *glua.LState) int {
	p := procOf(L)
	if err := p.env.Authorize(security.ActionContext, security.ResourceContext); err != nil {
		return fail(L, glua.LNil, err)
	}
	s := newSpawner()
	if err := mergeTable(L, s.context, 1, "context"); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

// procWithOptions implements process.with_options(options): a spawner
// that carries spawn-time options (process.context, as the docs give it).
func procWithOptions(L *glua.LState) int {
	p := procOf(L)
	if err := p.env.Authorize(security.ActionContext, security.ResourceContext); err != nil {
		return fail(L, glua.LNil, err)
	}
	s := newSpawner()
	if err := p.mergeOptions(L, s, 1); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

func spWithContext(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	if err := p.env.Authorize(security.ActionContext, security.ResourceContext); err != nil {
		return fail(L, glua.LNil, err)
	}
	if err := mergeTable(L, s.context, 2, "context"); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

func spWithOptions(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	if err := p.mergeOptions(L, s, 2); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

// spWithActor implements spawner:with_actor(actor): children run as actor,
// with the caller's scope (or the spawner's :with_scope), and may do only
// what the caller may too (the runtime keeps the caller's context as a
// layer of theirs). It needs process.security, checked here and again by
// the runtime at the spawn.
func spWithActor(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	a := checkActor(L, 2)
	if err := p.env.Authorize(security.ActionSecurity, security.ResourceSecurity); err != nil {
		return fail(L, glua.LNil, err)
	}
	s.actor = a
	return p.pushSpawner(L, s)
}

// spWithScope implements spawner:with_scope(scope): children run with
// scope's policies in place of the caller's, as a narrowing: every layer
// of the caller's context must still allow what they do. An empty scope
// keeps the caller's. Like :with_actor, it needs process.security.
func spWithScope(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	sc := checkScope(L, 2)
	if err := p.env.Authorize(security.ActionSecurity, security.ResourceSecurity); err != nil {
		return fail(L, glua.LNil, err)
	}
	s.scope = sc.policies
	return p.pushSpawner(L, s)
}

func spWithName(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	s.name = L.CheckString(2)
	return p.pushSpawner(L, s)
}

func spWithMessage(L *glua.LState) int {
	p := procOf(L)
	s := checkSpawner(L).clone()
	topic := L.CheckString(2)
	if err := validTopic(topic); err != nil {
		return fail(L, glua.LNil, err)
	}
	s.message = &proc.Delivery{Kind: proc.DeliveryMessage, From: p.self, Topic: topic}
	if err := payloadInto(&s.message.Payload, L, 3); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

func spSpawn(link, monitor, exec bool) glua.LGFunction {
	return func(L *glua.LState) int {
		p := procOf(L)
		s := checkSpawner(L)
		req, err := spawnReq(L, 2)
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		req.Link, req.Monitor, req.Name, req.Message = link, monitor, s.name, s.message
		req.Actor, req.Scope = s.actor, s.scope
		if len(s.context) > 0 {
			req.Context = msg.StringMap(s.context)
		}
		if exec {
			return p.exec(L, req)
		}
		return p.spawn(L, req)
	}
}

func (l *libs) buildSpawner(B *glua.LState) {
	l.spawnerMeta = userMeta(B, "spawner", nil)
	m := B.CreateTable(0, 12)
	for name, fn := range map[string]glua.LGFunction{
		"with_context": spWithContext, "with_options": spWithOptions, "with_actor": spWithActor,
		"with_scope": spWithScope, "with_name": spWithName, "with_message": spWithMessage,
		"spawn": spSpawn(false, false, false), "spawn_monitored": spSpawn(false, true, false),
		"spawn_linked": spSpawn(true, false, false), "spawn_linked_monitored": spSpawn(true, true, false),
		"exec": spSpawn(false, true, true),
	} {
		m.RawSetString(name, B.NewFunction(fn))
	}
	l.spawnerMeta.RawSetString("__index", m)
}
