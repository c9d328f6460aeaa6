package lua

import (
	"fmt"
	"math"
	"reflect"
	"sort"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/security"
)

// The `security` module (SPEC section 8, LUA-API section 11b): the
// caller's actor, actors for spawner:with_actor, and permission queries.
// The checks themselves are the runtime's; this module only asks.

// Bounds of a meta table (an actor's, or the facts security.can is given):
// an actor's meta travels with every message its processes send to other
// nodes, and both are read by every policy check.
const (
	maxMetaValues = 256 // values in all, nested ones included
	maxMetaDepth  = 4   // tables within tables
)

// pushActor pushes an actor object, or nil.
func (p *process) pushActor(L *glua.LState, a *security.Actor) {
	if a == nil {
		L.Push(glua.LNil)
		return
	}
	L.Push(&glua.LUserData{Value: a, Metatable: p.eng.lib.actorMeta})
}

// checkActor returns the actor object at n, raising for anything else.
func checkActor(L *glua.LState, n int) *security.Actor {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if a, ok := ud.Value.(*security.Actor); ok {
			return a
		}
	}
	L.ArgError(n, "actor expected (from security.new_actor or security.actor)")
	return nil
}

func secActor(L *glua.LState) int {
	p := procOf(L)
	p.pushActor(L, p.env.Actor())
	return 1
}

// secNewActor implements security.new_actor(id, meta): meta is a table of
// string keys to strings, numbers, booleans or lists of those.
func secNewActor(L *glua.LState) int {
	p := procOf(L)
	id := L.CheckString(1)
	if id == "" {
		return fail(L, glua.LNil, invalidf("actor id must be a non-empty string"))
	}
	if err := p.env.Authorize(security.ActionActorCreate, id); err != nil {
		return fail(L, glua.LNil, err)
	}
	a := &security.Actor{ID: id}
	switch t := L.Get(2).(type) {
	case *glua.LNilType:
	case *glua.LTable:
		meta, err := metaOf(t, "actor meta")
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		a.Meta = meta
	default:
		return fail(L, glua.LNil, invalidf("actor meta must be a table, got %s", t.Type()))
	}
	p.pushActor(L, a)
	return 1
}

// metaOf converts a Lua table of meta values to the Go map policies
// read: string keys; values strings, booleans, numbers (an int64 when
// integral), or tables of those (a list with keys 1..n, otherwise a map
// with string keys), at most maxMetaDepth deep and maxMetaValues in all.
func metaOf(t *glua.LTable, what string) (map[string]any, error) {
	budget := maxMetaValues
	v, err := metaValue(t, 1, &budget)
	if err != nil {
		return nil, invalidf("%s: %v", what, err)
	}
	m, ok := v.(map[string]any)
	switch {
	case ok:
		return m, nil
	case isEmpty(t):
		return map[string]any{}, nil
	}
	return nil, invalidf("%s: keys must be strings", what)
}

func metaValue(v glua.LValue, depth int, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("more than %d values", maxMetaValues)
	}
	t, ok := v.(*glua.LTable)
	if !ok {
		return metaScalar(v)
	}
	if depth > maxMetaDepth {
		return nil, fmt.Errorf("tables nested deeper than %d", maxMetaDepth)
	}
	if n := t.Len(); n > 0 || isEmpty(t) {
		list := make([]any, 0, n)
		for i := 1; i <= n; i++ {
			e, err := metaValue(t.RawGetInt(i), depth+1, budget)
			if err != nil {
				return nil, err
			}
			list = append(list, e)
		}
		return list, nil
	}
	m := map[string]any{}
	var err error
	t.ForEach(func(k, e glua.LValue) {
		if err != nil {
			return
		}
		ks, isStr := k.(glua.LString)
		if !isStr {
			err = fmt.Errorf("keys must be strings, got %s", k.Type())
			return
		}
		var x any
		if x, err = metaValue(e, depth+1, budget); err == nil {
			m[string(ks)] = x
		}
	})
	return m, err
}

func isEmpty(t *glua.LTable) bool {
	k, _ := t.Next(glua.LNil)
	return k == glua.LNil
}

// metaScalar converts a Lua scalar to the Go value policy conditions
// compare: a string, a bool, an int64 (integral numbers) or a float64.
func metaScalar(v glua.LValue) (any, error) {
	switch x := v.(type) {
	case glua.LString:
		return string(x), nil
	case glua.LBool:
		return bool(x), nil
	case glua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int64(f), nil
		}
		return f, nil
	}
	return nil, fmt.Errorf("values must be strings, numbers, booleans or tables of those, got %s", v.Type())
}

// metaToLua converts an actor meta value back to Lua.
func metaToLua(L *glua.LState, v any) glua.LValue {
	switch x := v.(type) {
	case string:
		return glua.LString(x)
	case bool:
		return glua.LBool(x)
	case int:
		return glua.LNumber(x)
	case int64:
		return glua.LNumber(x)
	case float64:
		return glua.LNumber(x)
	case []string:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(glua.LString(e))
		}
		return t
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, e := range x {
			t.Append(metaToLua(L, e))
		}
		return t
	case map[string]any:
		return metaMapToLua(L, x)
	case nil:
		return glua.LNil
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return glua.LNumber(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return glua.LNumber(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return glua.LNumber(rv.Float())
	}
	return glua.LString(fmt.Sprint(v))
}

func actorID(L *glua.LState) int {
	L.Push(glua.LString(checkActor(L, 1).ID))
	return 1
}

// actorMetaFn returns a fresh table: changing it never changes the actor,
// which other processes may share.
func actorMetaFn(L *glua.LState) int {
	L.Push(metaMapToLua(L, checkActor(L, 1).Meta))
	return 1
}

// metaMapToLua converts a meta map to a new table, keys in order.
func metaMapToLua(L *glua.LState, m map[string]any) *glua.LTable {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := L.CreateTable(0, len(keys))
	for _, k := range keys {
		t.RawSetString(k, metaToLua(L, m[k]))
	}
	return t
}

func actorToString(L *glua.LState) int {
	L.Push(glua.LString("actor: " + checkActor(L, 1).ID))
	return 1
}

// secCan implements security.can(action, resource [, meta]).
func secCan(L *glua.LState) int {
	p := procOf(L)
	action, resource := L.CheckString(1), L.CheckString(2)
	var meta map[string]any
	if t, ok := L.Get(3).(*glua.LTable); ok {
		var err error
		if meta, err = metaOf(t, "security.can meta"); err != nil {
			L.ArgError(3, err.Error())
		}
	} else if L.Get(3) != glua.LNil {
		L.ArgError(3, "meta must be a table")
	}
	L.Push(glua.LBool(p.env.Can(security.Action(action), resource, meta)))
	return 1
}

func (l *libs) buildSecurity(B *glua.LState) {
	l.actorMeta = userMeta(B, "actor", map[string]glua.LGFunction{"__tostring": actorToString})
	methods := B.CreateTable(0, 2)
	methods.RawSetString("id", B.NewFunction(actorID))
	methods.RawSetString("meta", B.NewFunction(actorMetaFn))
	l.actorMeta.RawSetString("__index", methods)
	l.buildScopes(B)
	t := B.CreateTable(0, 9)
	for name, fn := range map[string]glua.LGFunction{"actor": secActor, "new_actor": secNewActor, "can": secCan,
		"scope": secScope, "new_scope": secNewScope, "policy": secPolicy, "named_scope": secNamedScope,
		"token_store": secTokenStore} {
		t.RawSetString(name, B.NewFunction(fn))
	}
	l.addRequired(B, "security", t)
}
