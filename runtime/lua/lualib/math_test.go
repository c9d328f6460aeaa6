package lualib

import "testing"

func TestExtendMath(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	runCases(t, L, []luaCase{
		{"type", `
			eq(math.type(1), "integer"); eq(math.type(-3), "integer"); eq(math.type(1.0), "integer")
			eq(math.type(1.5), "float"); eq(math.type(2^53), "integer"); eq(math.type(2^54), "float")
			eq(math.type(1/0), "float"); eq(math.type(0/0), "float"); eq(math.type("1"), nil)
			eq(pcall(math.type), false)`},
		{"tointeger", `
			eq(math.tointeger(3), 3); eq(math.tointeger(3.5), nil); eq(math.tointeger("3"), nil)
			eq(math.tointeger(1/0), nil); eq(math.tointeger(-2^53), -2^53)`},
		{"bounds", `
			eq(math.maxinteger, 2^53); eq(math.mininteger, -2^53)
			eq(math.type(math.maxinteger), "integer"); eq(math.type(math.mininteger), "integer")`},
		{"ult", `
			eq(math.ult(1, 2), true); eq(math.ult(2, 1), false); eq(math.ult(1, -1), true)
			eq(math.ult(-1, 1), false); eq(pcall(math.ult, 1.5, 2), false)`},
		{"existing math untouched", `eq(math.floor(2.5), 2); eq(math.max(1, 3), 3)`},
	})
}
