package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The `ctx` module (en/lua/core/context.md): the context values a process
// was spawned with. A child's context is its parent's with what the
// spawner's :with_context added laid over it (SpawnRequest.Context), so
// request-scoped values follow the work as the actor does; a remote
// spawn carries them. Every process has a context, possibly empty, so the
// docs' "no context available" (INTERNAL) never happens here.

// ctxGet implements ctx.get(key): the value, or nil and an error (INVALID
// for an empty key, NOT_FOUND for a key the context lacks).
func ctxGet(L *glua.LState) int {
	p := procOf(L)
	key := L.CheckString(1)
	if key == "" {
		return fail(L, glua.LNil, invalidf("ctx.get: empty key"))
	}
	v, ok := p.env.Context().Get(key)
	if !ok {
		return fail(L, glua.LNil, proc.Errorf(proc.KindNotFound, msg.False, "ctx.get: no context value %q", key))
	}
	p.charge(msgBytes(v)) // a fresh Lua copy each call, as for a message
	L.Push(p.toLua(v))
	return 1
}

// ctxAll implements ctx.all(): a new table of every context value.
func ctxAll(L *glua.LState) int {
	p := procOf(L)
	c := p.env.Context()
	p.charge(msgBytes(c))
	t := L.CreateTable(0, c.Len())
	for _, pr := range c.Pairs() {
		k, _ := pr.Key.AsString()
		t.RawSetString(k, p.toLua(pr.Val))
	}
	L.Push(t)
	return 1
}

func (l *libs) buildCtx(B *glua.LState) {
	t := B.CreateTable(0, 2)
	t.RawSetString("get", B.NewFunction(ctxGet))
	t.RawSetString("all", B.NewFunction(ctxAll))
	l.addRequired(B, "ctx", t)
}
