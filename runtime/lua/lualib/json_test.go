package lualib

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/proc"
)

func TestJSONEncode(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	cases := []struct{ code, want string }{
		{"nil", "null"},
		{"true", "true"},
		{"1", "1"},
		{"-0", "0"},
		{"1.5", "1.5"},
		{"1e20", "100000000000000000000"},
		{"1e21", "1e+21"},
		{"1e-7", "1e-7"},
		{"0.000001", "0.000001"},
		{"2^53", "9007199254740992"},
		{"0/0", "null"},
		{"1/0", "null"},
		{"-1/0", "null"},
		{`"a\"b\\c\n\t\1\127é"`, `"a\"b\\c\n\t\u0001\u007fé"`},
		{`"\255x"`, `"\ufffdx"`},
		{"{}", "[]"},
		{"{1, 'two', {3}}", `[1,"two",[3]]`},
		{"{b = 1, a = {c = true, B = false}, ['1'] = 0}", `{"1":0,"a":{"B":false,"c":true},"b":1}`},
		{"{name = 'ada', tags = {'x', 'y'}}", `{"name":"ada","tags":["x","y"]}`},
		{"errors.new{message = 'm', kind = errors.NOT_FOUND}", `{"kind":"NOT_FOUND","message":"m"}`},
		{"errors.new{message = 'm', retryable = true, details = {id = 7}}", `{"details":{"id":7},"kind":"UNKNOWN","message":"m","retryable":true}`},
		{"require('time').unix(1, 5):utc()", `"1970-01-01T00:00:01.000000005Z"`},
		{"require('time').parse_duration('1.5s')", "1500000000"},
		{"require('time').utc", `"UTC"`},
		{"payload.new({a = 1})", `{"a":1}`},
		{"{p = payload.new({a = 1}):transcode(payload.format.JSON)}", `{"p":{"a":1}}`},
		{"local s = {1}; return {s, s}", "[[1],[1]]"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			got, err := EncodeJSON(L, chunk(t, L, c.code))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestJSONEncodeErrors(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	deep := func(n int) string {
		return "local t = {}; local c = t; for i = 1, " + strconv.Itoa(n-1) + " do c[1] = {}; c = c[1] end; return t"
	}
	cases := []struct {
		code     string
		sentinel error
	}{
		{"{1, x = 2}", ErrMixedKeys},
		{"{[1] = 1, [3] = 3}", ErrMixedKeys},
		{"{[0] = 1}", ErrMixedKeys},
		{"{[true] = 1}", ErrKey},
		{"{[1.5] = 1}", ErrKey},
		{"local t = {}; t.t = t; return t", ErrCycle},
		{"local t = {}; t[1] = {t}; return t", ErrCycle},
		{deep(maxJSONDepth + 1), ErrTooDeep},
		{"{f = print}", ErrUnsupported},
		{"coroutine.create(print)", ErrUnsupported},
		{"require('logger'):named('x')", ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			_, err := EncodeJSON(L, chunk(t, L, c.code))
			var pe *proc.Error
			if !errors.As(err, &pe) || pe.Kind != proc.KindInternal || !errors.Is(err, c.sentinel) {
				t.Fatalf("got %v, want INTERNAL %v", err, c.sentinel)
			}
		})
	}
	if _, err := EncodeJSON(L, chunk(t, L, deep(maxJSONDepth))); err != nil {
		t.Fatalf("depth %d must encode: %v", maxJSONDepth, err)
	}
}

func TestJSONModule(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	runCases(t, L, []luaCase{
		{"encode returns string", `
			local json = require("json")
			local s, err = json.encode({name = "ada", tags = {"x", "y"}})
			eq(err, nil); eq(s, '{"name":"ada","tags":["x","y"]}')`},
		{"encode error", `
			local s, err = require("json").encode({1, x = 1})
			eq(s, nil); eq(err:kind(), errors.INTERNAL)`},
		{"decode", `
			local v, err = require("json").decode('{"a": [1, 2.5, "s", true, null, {"b": null}], "n": -3e2}')
			eq(err, nil); eq(v.n, -300); eq(v.a[1], 1); eq(v.a[2], 2.5); eq(v.a[3], "s"); eq(v.a[4], true)
			eq(v.a[5], nil); eq(next(v.a[6]), nil)`},
		{"decode scalars", `
			local json = require("json")
			eq(json.decode("null"), nil); eq(json.decode(" 7 "), 7); eq(json.decode('"\\u00e9\\n"'), "é\n")
			eq(json.decode("[]")[1], nil); eq(json.decode("1e400"), 1/0)`},
		{"decode duplicate keys keeps last", `eq(require("json").decode('{"a":1,"a":2}').a, 2)`},
		{"decode errors", `
			local json = require("json")
			for _, s in ipairs{"", "{", "[1,]", "{'a':1}", "tru", "1 2", "[1] x", '{"a" 1}', "nul"} do
			  local v, err = json.decode(s)
			  assert(v == nil and err, "no error for " .. s)
			  eq(err:kind(), errors.INTERNAL, s)
			  assert(err:message():find("invalid json"), err:message())
			end`},
		{"decode depth", `
			local json = require("json")
			local ok = json.decode(string.rep("[", 128) .. string.rep("]", 128))
			assert(ok)
			local v, err = json.decode(string.rep("[", 129) .. string.rep("]", 129))
			eq(v, nil); eq(err:kind(), errors.INTERNAL)`},
		{"decode non-string raises", `eq(pcall(require("json").decode, {}), false)`},
		{"round trip", `
			local json = require("json")
			local s = json.encode({z = {1, 2, {y = "q"}}, a = false})
			eq(json.encode(json.decode(s)), s)`},
	})
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `[1.5e3,"x\u00e9",true]`, `"\ud800"`, `{}`, `[[[]]]`, `1e999`, `{"1":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		defer L.Close()
		v, err := DecodeJSON(L, s)
		if err != nil {
			return
		}
		// Whatever decodes either encodes (and then is stable) or fails
		// cleanly (sparse arrays from null, mixed keys like {"1":..}).
		e1, err := EncodeJSON(L, v)
		if err != nil {
			return
		}
		v2, err := DecodeJSON(L, e1)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", e1, err)
		}
		e2, err := EncodeJSON(L, v2)
		if err != nil || e2 != e1 {
			t.Fatalf("unstable: %q -> %q (%v)", e1, e2, err)
		}
		if strings.ContainsRune(e1, '\n') {
			t.Fatalf("raw newline in %q", e1)
		}
	})
}
