package lua

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
)

func TestTerminalIO(t *testing.T) {
	var out, errw bytes.Buffer
	cat := newCatalog()
	eng, err := New(Config{
		Catalog:       cat,
		Terminal:      &Terminal{Stdin: strings.NewReader("first line\r\nsecond\nrest"), Stdout: &out, Stderr: &errw, Args: []string{"-v", "x"}},
		TerminalHosts: []string{"app:term"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cat.add("t:io", `
local io = require("io")
return {main = function()
  io.write("name? ")
  local a = io.readline()
  local b = io.readline()
  local c = io.read(2)
  local d = io.read()
  local e = io.readline()
  io.print("got", a, b)
  io.eprint("oops")
  assert(io.flush())
  return {a, b, c, d, e == nil, io.args()}
end}`, "io")
	for _, host := range []string{"app:term", "app:procs"} {
		env := newFakeEnv()
		env.self.Host = host
		b, err := eng.Behavior("t:io", nil)
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, eng: eng, env: env, b: b, logs: &bytes.Buffer{}}
		res := h.finish()
		if host == "app:procs" {
			if res.Err == nil || !strings.Contains(res.Err.Error(), "not a terminal host") {
				t.Fatalf("off the terminal host: %v %v", res.Value, res.Err)
			}
			continue
		}
		want := `["first line", "second", "re", "st", true, ["-v", "x"]]`
		if res.Err != nil || res.Value.String() != want {
			t.Fatalf("got %v %v", res.Value, res.Err)
		}
		if out.String() != "name? got\tfirst line\tsecond\n" || errw.String() != "oops\n" || env.blocking != 5 {
			t.Fatalf("stdout %q stderr %q blocking %d", out.String(), errw.String(), env.blocking)
		}
	}
	_ = msg.Nil
}
