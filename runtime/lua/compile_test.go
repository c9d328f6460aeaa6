package lua

import (
	"errors"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
)

// Bad code is a SyntaxError at the line a reader would look at.
func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, code string
		line       int
		msg        string
	}{
		{"unexpected token", "local x = 1\nlocal function f(\n  return x\nend\n", 3, "lua syntax error: syntax error near 'return'"},
		{"end of file", "local function f()\n  return 1\n", 2, "lua syntax error: syntax error at end of file"},
		{"compile error", "local x = 1\ngoto nowhere\n", 2, "lua compile error: no visible label 'nowhere' for <goto> at line 2"},
		{"long token clipped", "x = 1 \"" + strings.Repeat("y", 60) + "\"\n", 1, "near '" + strings.Repeat("y", 40) + "...'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, err := Compile([]byte(c.code), "bad.lua")
			se, ok := errors.AsType[*SyntaxError](err)
			if ch != nil || !ok {
				t.Fatalf("Compile = %v, %v; want a *SyntaxError", ch, err)
			}
			if se.Line != c.line || !strings.Contains(se.Message, c.msg) {
				t.Fatalf("got line %d %q, want line %d %q", se.Line, se.Message, c.line, c.msg)
			}
		})
	}
}

// A Source that carries a Chunk runs it: the engine does not compile Code
// again (here Code does not even parse).
func TestEngineRunsTheGivenChunk(t *testing.T) {
	ch, err := Compile([]byte(`return {main = function(a) return a * 2 end}`), "t/main.lua")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	src := h.cat.add("t:main", "this is not lua")
	src.Chunk = ch
	h.start("t:main", msg.Int(21))
	if res := h.finish(); res.Err != nil || !msg.Equal(res.Value, msg.Int(42)) {
		t.Fatalf("result %v, %v; want 42", res.Value, res.Err)
	}
	// Without a Chunk the engine compiles Code itself and reports bad code
	// as ErrCompile with the SyntaxError inside.
	h.cat.add("t:bad", "return {")
	_, err = h.eng.Behavior("t:bad", nil)
	if !errors.Is(err, ErrCompile) || !errors.As(err, new(*SyntaxError)) {
		t.Fatalf("Behavior of bad code: %v", err)
	}
}
