package lualib

import (
	"errors"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestErrorsModule(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	runCases(t, L, []luaCase{
		{"constants", `
			for _, k in ipairs{"UNKNOWN", "INVALID", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
			    "TIMEOUT", "CANCELED", "UNAVAILABLE", "INTERNAL", "CONFLICT", "RATE_LIMITED"} do
			  eq(errors[k], k, k)
			end`},
		{"new string", `
			local e = errors.new("boom")
			eq(type(e), "userdata"); eq(e:kind(), errors.UNKNOWN); eq(e:message(), "boom")
			eq(e:retryable(), nil); eq(e:details(), nil); eq(e:stack(), "")`},
		{"new table", `
			local e = errors.new{message = "no such job", kind = errors.NOT_FOUND, retryable = false, details = {id = 7}}
			eq(e:kind(), "NOT_FOUND"); eq(e:message(), "no such job"); eq(e:retryable(), false)
			eq(e:details().id, 7)
			assert(e:details() ~= e:details(), "details are fresh copies")`},
		{"new two-argument form", `
			local e = errors.new(errors.INVALID, "bad input")
			eq(e:kind(), "INVALID"); eq(e:message(), "bad input")`},
		{"new from error copies", `
			local a = errors.new{message = "m", kind = errors.TIMEOUT}
			local b = errors.new(a)
			eq(b:kind(), "TIMEOUT"); eq(b:message(), "m")`},
		{"new retryable true", `eq(errors.new{message = "m", retryable = true}:retryable(), true)`},
		{"tostring and concat", `
			local e = errors.new("spawn failed")
			eq(tostring(e), "spawn failed")
			eq("x: " .. e, "x: spawn failed")
			eq(e .. "!", "spawn failed!")
			eq(e .. 1, "spawn failed1")
			eq(e .. e, "spawn failedspawn failed")`},
		{"equality", `
			local a = errors.new{message = "m", kind = errors.TIMEOUT, retryable = true}
			local b = errors.new{message = "m", kind = errors.TIMEOUT}
			local c = errors.new{message = "m", kind = errors.INVALID}
			assert(a == b, "same kind and message"); assert(a ~= c, "other kind")
			assert(a ~= "m", "an error is not its message")`},
		{"wrap", `
			local inner = errors.new{message = "no row", kind = errors.NOT_FOUND, retryable = false, details = {t = "jobs"}}
			local w = errors.wrap(inner, "load job")
			eq(w:message(), "load job: no row"); eq(w:kind(), "NOT_FOUND"); eq(w:retryable(), false)
			eq(w:details().t, "jobs"); eq(inner:message(), "no row")
			local ww = errors.wrap(w, "handler")
			eq(tostring(ww), "handler: load job: no row")`},
		{"wrap string", `
			local w = errors.wrap("disk full", "save")
			eq(w:kind(), "UNKNOWN"); eq(w:message(), "save: disk full")`},
		{"wrap nil", `eq(errors.wrap(nil, "ctx"), nil)`},
		{"is", `
			local e = errors.new{message = "m", kind = errors.NOT_FOUND}
			eq(errors.is(e, errors.NOT_FOUND), true); eq(errors.is(e, errors.INVALID), false)
			eq(errors.is("m", errors.UNKNOWN), false); eq(errors.is(nil, errors.UNKNOWN), false)
			eq(errors.is(errors.wrap(e, "x"), "NOT_FOUND"), true)
			eq(errors.is(e, errors.new{message = "m", kind = "NOT_FOUND"}), true)`},
		{"raise and catch", `
			local ok, e = pcall(error, errors.new{message = "raised", kind = errors.CONFLICT})
			eq(ok, false); eq(e:kind(), "CONFLICT")`},
		{"metatable locked", `eq(getmetatable(errors.new("m")), "locked")`},
	})
}

func TestErrorsNewBadArgs(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	for code, want := range map[string]string{
		"errors.new()":                                 "string or table expected",
		"errors.new(1)":                                "string or table expected",
		"errors.new{kind = 'INVALID'}":                 "field 'message' must be a string",
		"errors.new{message = 'm', kind = 1}":          "field 'kind' must be a string",
		"errors.new{message = 'm', retryable = 'yes'}": "field 'retryable' must be a boolean",
		"errors.new{message = 'm', details = 'x'}":     "field 'details' must be a table",
		"errors.new{message = 'm', details = {print}}": "unsupported value: function at [1]",
		"errors.new('INVALID', {})":                    "message string expected",
		"errors.is(errors.new('m'), 1)":                "kind string or error object expected",
		"errors.new('m'):kind(); local x = {}; x.kind = errors.new('m').kind; x:kind()": "error object expected",
	} {
		if got := raises(L, code); !contains(got, want) {
			t.Errorf("%s: raised %q, want %q", code, got, want)
		}
	}
}

func TestErrorGoHelpers(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	in := &proc.Error{Kind: proc.KindUnavailable, Message: "full", Retryable: msg.True, Details: msg.StringMap(map[string]msg.Value{"n": msg.Int(3)})}
	v := NewError(L, in)
	in.Message = "changed" // NewError copied
	got, ok := CheckError(L, v)
	if !ok || got.Kind != proc.KindUnavailable || got.Message != "full" || got.Retryable != msg.True || got.Details.String() != `{"n": 3}` {
		t.Fatalf("CheckError = %+v, %v", got, ok)
	}
	got.Message = "x"
	if again, _ := CheckError(L, v); again.Message != "full" {
		t.Fatal("CheckError returned the stored error, not a copy")
	}
	if _, ok := CheckError(L, lua.LString("full")); ok {
		t.Fatal("a string is not an error object")
	}
	if NewError(L, nil) != lua.LNil {
		t.Fatal("NewError(nil) must be nil")
	}
	if e := NewError(L, &proc.Error{Message: "no kind"}); e.(*lua.LUserData).Value.(*proc.Error).Kind != proc.KindUnknown {
		t.Fatal("empty kind must become UNKNOWN")
	}
}

func TestErrorFromLua(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	cases := []struct {
		code      string
		kind, msg string
		retryable msg.Tri
	}{
		{"error('boom')", proc.KindUnknown, "<string>:1: boom", msg.Unknown},
		{"error('boom', 0)", proc.KindUnknown, "boom", msg.Unknown},
		{"error(errors.new{message = 'x', kind = errors.TIMEOUT, retryable = true})", proc.KindTimeout, "x", msg.True},
		{"error({message = 'tbl', kind = 'CONFLICT', retryable = false})", proc.KindConflict, "tbl", msg.False},
		{"error({code = 1})", proc.KindUnknown, `{"code": 1}`, msg.Unknown},
		{"error(42)", proc.KindUnknown, "42", msg.Unknown},
		{"error(nil)", proc.KindUnknown, "nil", msg.Unknown},
		{"error(require('time').unix(0):utc())", proc.KindUnknown, "1970-01-01T00:00:00Z", msg.Unknown},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			err := L.DoString(c.code)
			var api *lua.ApiError
			if !errors.As(err, &api) {
				t.Fatalf("no ApiError: %v", err)
			}
			e := ErrorFromLua(L, api.Object)
			if e.Kind != c.kind || e.Message != c.msg || e.Retryable != c.retryable {
				t.Fatalf("got %q %q %v", e.Kind, e.Message, e.Retryable)
			}
		})
	}
}

func TestPushError(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	L.SetGlobal("fail", L.NewFunction(func(L *lua.LState) int {
		return PushError(L, proc.Errorf(proc.KindTimeout, msg.True, "slow: %w", errors.New("io")))
	}))
	L.SetGlobal("failplain", L.NewFunction(func(L *lua.LState) int { return PushError(L, errors.New("plain")) }))
	runCases(t, L, []luaCase{{"push", `
		local v, err = fail(); eq(v, nil); eq(err:kind(), "TIMEOUT"); eq(err:retryable(), true); eq(err:message(), "slow: io")
		local v2, err2 = failplain(); eq(v2, nil); eq(err2:kind(), "UNKNOWN"); eq(tostring(err2), "plain")`}})
}
