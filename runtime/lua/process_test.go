package lua

import (
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestMainResult(t *testing.T) {
	cases := []struct {
		name string
		code string
		want msg.Value
		err  string
	}{
		{"value", `return {main = function(a, b) return a + b end}`, msg.Int(5), ""},
		{"nothing", `return {main = function() end}`, msg.Nil, ""},
		{"bare function", `return function() return "bare" end`, str("bare"), ""},
		{"table", `return {main = function() return {x = 1, y = {1, 2}} end}`,
			msg.MustMap(msg.Pair{Key: str("x"), Val: msg.Int(1)}, msg.Pair{Key: str("y"), Val: msg.List(msg.Int(1), msg.Int(2))}), ""},
		{"nil, err", `return {main = function() return nil, errors.new("bad thing") end}`, msg.Nil, "bad thing"},
		{"raise", `return {main = function() error("boom") end}`, msg.Nil, "boom"},
		{"raise object", `return {main = function() error(errors.new{message = "typed", kind = errors.NOT_FOUND}) end}`, msg.Nil, "typed"},
		{"no method", `return {other = function() end}`, msg.Nil, "main"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, res := run(t, c.code, msg.Int(2), msg.Int(3))
			if c.err != "" {
				if res.Err == nil || !strings.Contains(res.Err.Error(), c.err) {
					t.Fatalf("err = %v, want it to contain %q", res.Err, c.err)
				}
				return
			}
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if !msg.Equal(res.Value, c.want) {
				t.Fatalf("value = %v, want %v", res.Value, c.want)
			}
		})
	}
}

func TestErrorObjectExit(t *testing.T) {
	_, res := run(t, `return {main = function() return nil, errors.new{message = "gone", kind = errors.NOT_FOUND, retryable = true} end}`)
	e := proc.AsError(res.Err)
	if e == nil || e.Kind != proc.KindNotFound || e.Message != "gone" || e.Retryable != msg.True {
		t.Fatalf("exit error = %#v", e)
	}
}
