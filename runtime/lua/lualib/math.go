package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// ExtendMath adds the Lua 5.3 helpers gopher-lua lacks to a math table:
// tointeger, type, ult, mininteger and maxinteger. Lua numbers here are
// floats only, so "integer" means a float with an integral value within
// ±2^53 (the range where every integer is exact, the same bound that makes
// a number an int in messages); mininteger and maxinteger are -2^53 and
// 2^53. Call it on the node's math table before sharing it.
func ExtendMath(L *lua.LState, t *lua.LTable) {
	t.RawSetString("mininteger", lua.LNumber(-maxSafeInt))
	t.RawSetString("maxinteger", lua.LNumber(maxSafeInt))
	setFuncs(L, t, map[string]lua.LGFunction{
		"tointeger": func(L *lua.LState) int {
			if n, ok := L.Get(1).(lua.LNumber); ok && isLuaInteger(n) {
				L.Push(n)
			} else {
				L.Push(lua.LNil)
			}
			return 1
		},
		"type": func(L *lua.LState) int {
			n, ok := L.CheckAny(1).(lua.LNumber)
			switch {
			case !ok:
				L.Push(lua.LNil)
			case isLuaInteger(n):
				L.Push(lua.LString("integer"))
			default:
				L.Push(lua.LString("float"))
			}
			return 1
		},
		"ult": func(L *lua.LState) int {
			a, b := checkInteger(L, 1), checkInteger(L, 2)
			L.Push(lua.LBool(uint64(a) < uint64(b)))
			return 1
		},
	})
}

func isLuaInteger(n lua.LNumber) bool {
	f := float64(n)
	return f == math.Trunc(f) && math.Abs(f) <= maxSafeInt
}

func checkInteger(L *lua.LState, n int) int64 {
	v := L.CheckNumber(n)
	if !isLuaInteger(v) {
		L.ArgError(n, "number has no integer representation")
	}
	return int64(v)
}
