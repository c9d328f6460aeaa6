package lualib

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// chunk runs code (an expression, or a chunk with a return) and returns its
// first result.
func chunk(t *testing.T, L *lua.LState, code string) lua.LValue {
	t.Helper()
	if !strings.Contains(code, "return") {
		code = "return " + code
	}
	top := L.GetTop()
	if err := L.DoString(code); err != nil {
		t.Fatalf("%q: %v", code, err)
	}
	v := L.Get(top + 1)
	L.SetTop(top)
	return v
}

func TestToValue(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	cases := []struct {
		code string
		kind msg.Kind
		want string // msg.Value.String()
	}{
		{"nil", msg.KindNil, "nil"},
		{"true", msg.KindBool, "true"},
		{"1", msg.KindInt, "1"},
		{"-0", msg.KindInt, "0"},
		{"1.5", msg.KindFloat, "1.5"},
		{"2^53", msg.KindInt, "9007199254740992"},
		{"-2^53", msg.KindInt, "-9007199254740992"},
		{"2^53 + 2", msg.KindFloat, "9.007199254740994e+15"},
		{"1e300", msg.KindFloat, "1e+300"},
		{"1/0", msg.KindFloat, "+Inf"},
		{"0/0", msg.KindFloat, "NaN"},
		{"'hé\\0'", msg.KindString, `"hé\x00"`},
		{"{}", msg.KindList, "[]"},
		{"{1, 'a', true}", msg.KindList, `[1, "a", true]`},
		{"{[1]=1, [2]=2, [3]=3}", msg.KindList, "[1, 2, 3]"},
		{"{a=1, b={x={}}}", msg.KindMap, `{"a": 1, "b": {"x": []}}`},
		{"{[1]='a', [3]='c'}", msg.KindMap, `{1: "a", 3: "c"}`},
		{"{[0]='z'}", msg.KindMap, `{0: "z"}`},
		{"{[-1]='n'}", msg.KindMap, `{-1: "n"}`},
		{"{1, x=2}", msg.KindMap, `{1: 1, "x": 2}`},
		{"{[2^40]=1}", msg.KindMap, `{1099511627776: 1}`},
		{"local s = {1}; return {s, s}", msg.KindList, "[[1], [1]]"},
		{"errors.new{message='gone', kind=errors.NOT_FOUND, retryable=true, details={id=7}}", msg.KindError, "error(NOT_FOUND: gone)"},
		{"{e = errors.new('x')}", msg.KindMap, `{"e": error(UNKNOWN: x)}`},
		{"payload.new({1})", msg.KindList, "[1]"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			v, err := ToValue(L, chunk(t, L, c.code))
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind() != c.kind || v.String() != c.want {
				t.Fatalf("got %s %s, want %s %s", v.Kind(), v, c.kind, c.want)
			}
		})
	}
}

func TestToValueErrorDetails(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	v, err := ToValue(L, chunk(t, L, "errors.new{message='m', kind=errors.TIMEOUT, retryable=false, details={id=7, tags={'a'}}}"))
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := v.AsError()
	if !ok || ev.Kind != proc.KindTimeout || ev.Message != "m" || ev.Retryable != msg.False ||
		ev.Details.String() != `{"id": 7, "tags": ["a"]}` {
		t.Fatalf("got %+v", ev)
	}
}

func TestToValueInvalid(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	deep := func(n int) string {
		return "local t = {}; local c = t; for i = 1, " + strconv.Itoa(n-1) + " do c.x = {}; c = c.x end; return t"
	}
	cases := []struct {
		code     string
		sentinel error
		text     string
	}{
		{"print", ErrUnsupported, "function"},
		{"{a = {b = {1, 2, print}}}", ErrUnsupported, "function at .a.b[3]"},
		{"{['a b'] = print}", ErrUnsupported, `at ["a b"]`},
		{"coroutine.create(print)", ErrUnsupported, "coroutine"},
		{"require('time').now()", ErrUnsupported, "Time"},
		{"{[true] = 1}", ErrKey, "boolean key"},
		{"{x = {[1.5] = 1}}", ErrKey, "number key 1.5 at .x"},
		{"{[{}] = 1}", ErrKey, "table key"},
		{"local t = {}; t.self = t; return t", ErrCycle, "at .self"},
		{"local t = {1}; t[2] = {t}; return t", ErrCycle, "at [2][1]"},
		{deep(msg.MaxDepth + 1), ErrTooDeep, "more than 64 levels"},
		// 61 tables, then an error (1 level) whose details nest 3: 65.
		{"local t = {}; local c = t; for i = 1, 60 do c.x = {}; c = c.x end; " +
			"c.e = errors.new{message='m', details={a={b={}}}}; return t", ErrTooDeep, "more than 64 levels"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			_, err := ToValue(L, chunk(t, L, c.code))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *proc.Error
			if !errors.As(err, &pe) || pe.Kind != proc.KindInvalid || pe.Retryable != msg.False {
				t.Fatalf("error %#v is not an INVALID *proc.Error", err)
			}
			if !errors.Is(err, c.sentinel) || !contains(err.Error(), c.text) {
				t.Fatalf("error %q: want %v containing %q", err, c.sentinel, c.text)
			}
		})
	}
}

func TestToValueDepthLimit(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	code := "local t = {}; local c = t; for i = 1, 63 do c.x = {}; c = c.x end; return t"
	v, err := ToValue(L, chunk(t, L, code))
	if err != nil {
		t.Fatal(err)
	}
	if v.Depth() != msg.MaxDepth {
		t.Fatalf("depth %d", v.Depth())
	}
}

func TestToValueCopies(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	if err := L.DoString("src = {a = {1, 2}}"); err != nil {
		t.Fatal(err)
	}
	v, err := ToValue(L, L.GetGlobal("src"))
	if err != nil {
		t.Fatal(err)
	}
	if err := L.DoString("src.a[1] = 99; src.b = true"); err != nil {
		t.Fatal(err)
	}
	if v.String() != `{"a": [1, 2]}` {
		t.Fatalf("value changed with the table: %s", v)
	}
	L.SetGlobal("back", FromValue(L, v))
	runCases(t, L, []luaCase{{"fresh table", `
		assert(back ~= src and back.a ~= src.a)
		eq(back.a[1], 1); eq(#back.a, 2); eq(back.b, nil)`}})
}

func TestFromValue(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	p := pid.PID{Node: "n1", Host: "app:processes", Seq: 4}
	L.SetGlobal("v", FromValue(L, msg.List(
		msg.Nil, // a list hole at 1
		msg.Bool(true),
		msg.Int(-7),
		msg.Float(0.25),
		msg.String("s"),
		msg.Bytes([]byte{0, 255}),
		msg.PIDValue(p),
		msg.MustMap(msg.Pair{Key: msg.Int(10), Val: msg.String("ten")}, msg.Pair{Key: msg.String("k"), Val: msg.List()}),
		msg.Error(msg.ErrorValue{Kind: "", Message: "boom", Retryable: msg.True, Details: msg.StringMap(map[string]msg.Value{"n": msg.Int(1)})}),
	)))
	runCases(t, L, []luaCase{
		{"scalars", `
			eq(v[1], nil); eq(v[2], true); eq(v[3], -7); eq(v[4], 0.25); eq(v[5], "s")
			eq(v[6], "\0\255"); eq(#v[6], 2)
			eq(v[7], "{n1@app:processes|0x00004}")`},
		{"map", `eq(v[8][10], "ten"); eq(type(v[8].k), "table"); eq(next(v[8].k), nil)`},
		{"error", `
			local e = v[9]
			eq(e:kind(), "UNKNOWN"); eq(e:message(), "boom"); eq(e:retryable(), true)
			eq(e:details().n, 1); eq(tostring(e), "boom")`},
	})
}

// TestRoundTrip converts Lua values to msg.Value and back, and checks the
// second conversion gives the same value.
func TestRoundTrip(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	for _, code := range []string{
		"{1, 2.5, 'x', {a = {b = true}}, {[5] = 'five', [-1] = 0}}",
		"{e = errors.new{message='m', kind='TIMEOUT', retryable=true, details={1, 2}}}",
		"{[1] = {}, [2] = {n = 2^53}}",
	} {
		v1, err := ToValue(L, chunk(t, L, code))
		if err != nil {
			t.Fatal(err)
		}
		v2, err := ToValue(L, FromValue(L, v1))
		if err != nil {
			t.Fatal(err)
		}
		if !msg.Equal(v1, v2) {
			t.Fatalf("%s: %s != %s", code, v1, v2)
		}
	}
}

// ToValueInto writes what ToValue returns, over whatever *dst held, and
// msg.Nil with the error; a scalar costs no allocation.
func TestToValueInto(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	for _, code := range []string{"nil", "true", "false", "42", "1.5", "'s'", "{1, {a = 'b'}}", "print"} {
		v := chunk(t, L, code)
		want, werr := ToValue(L, v)
		got := msg.String("stale")
		err := ToValueInto(&got, L, v)
		if (err == nil) != (werr == nil) || !msg.Equal(got, want) {
			t.Fatalf("%s: %v, %v; ToValue: %v, %v", code, got, err, want, werr)
		}
		if err != nil && !msg.Equal(got, msg.Nil) {
			t.Fatalf("%s: %v with the error", code, got)
		}
	}
	var dst msg.Value
	for _, v := range []lua.LValue{lua.LTrue, lua.LNumber(7), lua.LString("x"), lua.LNil} {
		if n := testing.AllocsPerRun(100, func() { ToValueInto(&dst, L, v) }); n != 0 {
			t.Fatalf("%v: %v allocations", v, n)
		}
	}
}

func BenchmarkToValueIntoScalar(b *testing.B) {
	var dst msg.Value
	for b.Loop() {
		ToValueInto(&dst, nil, lua.LTrue)
	}
}
