package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// spawner is the immutable builder process.with_context returns: every
// method returns a new one.
type spawner struct {
	context map[string]msg.Value // context values for the child (not carried yet: see doc.go)
	name    string
	message *proc.Delivery
	actor   *security.Actor // run the child as this actor (narrowing)
}

func (s *spawner) clone() *spawner {
	c := *s
	c.context = make(map[string]msg.Value, len(s.context))
	for k, v := range s.context {
		c.context[k] = v
	}
	return &c
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

// mergeContext adds the string-keyed entries of table n to s.context.
func mergeContext(L *glua.LState, s *spawner, n int) error {
	t := L.CheckTable(n)
	v, err := lualib.ToValue(L, t)
	if err != nil {
		return err
	}
	for _, pr := range v.Pairs() {
		k, ok := pr.Key.AsString()
		if !ok {
			return invalidf("context keys must be strings")
		}
		s.context[k] = pr.Val
	}
	return nil
}

func procWithContext(L *glua.LState) int {
	p := procOf(L)
	if err := p.env.Authorize(security.ActionContext, security.ResourceContext); err != nil {
		return fail(L, glua.LNil, err)
	}
	s := &spawner{context: make(map[string]msg.Value)}
	if err := mergeContext(L, s, 1); err != nil {
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
	if err := mergeContext(L, s, 2); err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.pushSpawner(L, s)
}

// spWithActor implements spawner:with_actor(actor): children run as actor,
// with the caller's scope, and may do only what the caller may too (the
// runtime keeps the caller's context as a layer of theirs). It needs
// process.security, checked here and again by the runtime at the spawn.
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
	payload, err := payloadOf(L, 3)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	s.message = &proc.Delivery{Kind: proc.DeliveryMessage, From: p.self, Topic: topic, Payload: payload}
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
		req.Link, req.Monitor, req.Name, req.Message, req.Actor = link, monitor, s.name, s.message, s.actor
		if exec {
			return p.exec(L, req)
		}
		return p.spawn(L, req)
	}
}

func (l *libs) buildSpawner(B *glua.LState) {
	l.spawnerMeta = userMeta(B, "spawner", nil)
	m := B.CreateTable(0, 10)
	for name, fn := range map[string]glua.LGFunction{
		"with_context": spWithContext, "with_actor": spWithActor, "with_name": spWithName,
		"with_message": spWithMessage,
		"spawn":        spSpawn(false, false, false), "spawn_monitored": spSpawn(false, true, false),
		"spawn_linked": spSpawn(true, false, false), "spawn_linked_monitored": spSpawn(true, true, false),
		"exec": spSpawn(false, true, true),
	} {
		m.RawSetString(name, B.NewFunction(fn))
	}
	l.spawnerMeta.RawSetString("__index", m)
}
