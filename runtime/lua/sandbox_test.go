package lua

import (
	"strings"
	"testing"
)

func TestAbsentGlobals(t *testing.T) {
	expect(t, `return {main = function()
  local names = {"getfenv", "setfenv", "newproxy", "module", "package", "load", "loadstring",
                 "dofile", "loadfile", "debug", "collectgarbage", "rawlen", "io", "_printregs", "json", "time"}
  local present = {}
  for _, n in ipairs(names) do if _G[n] ~= nil then table.insert(present, n) end end
  return {#present, present[1] or "none", string.dump == nil, os.execute == nil, os.exit == nil}
end}`, `[0, "none", true, true, true]`)
}

func TestPresentGlobals(t *testing.T) {
	expect(t, `return {main = function()
  local names = {"process", "channel", "errors", "payload", "print", "require", "string", "table", "math",
                 "coroutine", "os", "assert", "error", "ipairs", "pairs", "next", "pcall", "xpcall", "rawequal",
                 "rawget", "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack"}
  local missing = {}
  for _, n in ipairs(names) do if _G[n] == nil then table.insert(missing, n) end end
  return {#missing, missing[1] or "none", _VERSION, _G._G == _G, ("abc"):upper(), math.huge > 1e308,
          math.tointeger(3.0), math.type(1), math.type(1.5), os.platform, type(coroutine.spawn)}
end}`, `[0, "none", "Lua 5.1", true, "ABC", true, 3, "integer", "float", "wippy", "function"]`)
}

func TestAssert(t *testing.T) {
	expect(t, `return {main = function()
  local a, b = assert(1, "m")
  local ok1, e1 = pcall(assert, false)
  local ok2, e2 = pcall(assert, nil, "custom")
  local ok3, e3 = pcall(assert, nil, errors.new{message = "obj", kind = errors.INVALID})
  return {a, b, e1, e2, e3:kind(), e3:message(), pcall(setmetatable, 1, {})}
end}`, `[1, "m", "assertion failed!", "custom", "INVALID", "obj", false, "bad argument #1 to f (table expected, got number)"]`)
}

func TestLibrariesReadOnly(t *testing.T) {
	expect(t, `return {main = function()
  local function fails(f) local ok, e = pcall(f); return not ok and string.find(e, "read%-only") ~= nil end
  local r = {
    fails(function() string.x = 1 end),
    fails(function() math.pi = 3 end),
    fails(function() process.event.EXIT = "x" end),
    fails(function() process.registry.LOCAL = 9 end),
    getmetatable(string), getmetatable(""), getmetatable(process.event),
    (pcall(setmetatable, string, {})),
    (pcall(rawset, process.event, "x", 1)),
  }
  return r
end}`, `[true, true, true, true, "locked", "locked", "locked", false, false]`)
}

// Two processes on one engine: what one writes through rawset, table.insert
// or its globals is invisible to the other.
func TestIsolationBetweenProcesses(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:writer", `return {main = function()
  rawset(string, "leak", 1)
  rawset(math, "floor", nil)
  table.insert(table, "junk")
  leaked_global = true
  _G.print = nil
  return {string.leak, math.floor ~= nil}
end}`)
	h.cat.add("t:reader", `return {main = function()
  return {string.leak == nil, math.floor(1.5), #table, leaked_global == nil, print ~= nil}
end}`)
	h.start("t:writer")
	if res := h.finish(); res.Err != nil || res.Value.String() != `[1, true]` {
		t.Fatalf("writer: %v %v", res.Value, res.Err)
	}
	h.start("t:reader")
	if res := h.finish(); res.Err != nil || res.Value.String() != `[true, 1, 0, true, true]` {
		t.Fatalf("reader: %v %v", res.Value, res.Err)
	}
}

func TestRequire(t *testing.T) {
	h := newHarness(t)
	lib := h.cat.add("t:util", `
local json = require("json")   -- the library's own modules
local count = 0
return {bump = function() count = count + 1; return count end, enc = function(v) return json.encode(v) end}`, "json")
	lib.Method = ""
	src := h.cat.add("t:main", `return {main = function()
  local time = require("time")
  local u1, u2 = require("util"), require("util")
  u1.bump()
  local ok, e = pcall(require, "json")      -- not listed by t:main
  local ok2, e2 = pcall(require, "sql")     -- Wippy's, not here
  local ok3, e3 = pcall(require, "nosuch")
  return {u2.bump(), u1 == u2, require("process") == process, require("time") == time, ok,
          e, ok2, e2, ok3, e3, u1.enc({1})}
end}`, "time")
	src.Imports = map[string]string{"util": "t:util"}
	h.start("t:main")
	res := h.finish()
	want := `[2, true, true, true, false, ` +
		`"module 'json' not found: list it in the modules: of t:main (modules: [json])", false, ` +
		`"module 'sql' not found: wippyd does not implement it", false, "module 'nosuch' not found", "[1]"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v\nwant %s", res.Value, res.Err, want)
	}
}

func TestPrintToLog(t *testing.T) {
	h, res := run(t, `return {main = function() print("hello", 42, nil, {}) end}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if !strings.Contains(h.logs.String(), `msg="hello\t42\tnil\ttable: `) || !strings.Contains(h.logs.String(), "entry=t:main") {
		t.Fatalf("log: %s", h.logs)
	}
}

func TestCompileError(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:bad", `return {main = function() local x = end}`)
	if _, err := h.eng.Behavior("t:bad", nil); err == nil || !strings.Contains(err.Error(), "t:bad") {
		t.Fatalf("err = %v", err)
	}
	if _, err := h.eng.Behavior("t:none", nil); err == nil {
		t.Fatal("unknown entry accepted")
	}
}

func TestProtoCache(t *testing.T) {
	h := newHarness(t)
	src := h.cat.add("t:main", `return {main = function() return 1 end}`)
	p1, _ := h.eng.compile(src)
	p2, _ := h.eng.compile(src)
	if p1 != p2 {
		t.Fatal("same source compiled twice")
	}
	src2 := *src
	src2.Code = []byte(`return {main = function() return 2 end}`)
	p3, _ := h.eng.compile(&src2)
	if p3 == p1 {
		t.Fatal("changed source not recompiled")
	}
}

// A method the chunk does not provide ends the process with an error that
// names the entry, its file and the function it lacks.
func TestMissingMethod(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{`return {main = function() end, other = function() end, n = 1}`,
			`lua: method not found: t:m (method: mian): t:m.lua: the table it returns has no function "mian" (it has main, other)`},
		{`return 42`, `lua: method not found: t:m (method: mian): t:m.lua: it returns number, not a table of functions or a function`},
	} {
		h := newHarness(t)
		h.cat.add("t:m", c.code).Method = "mian"
		h.start("t:m")
		if res := h.finish(); res.Err == nil || res.Err.Error() != c.want {
			t.Errorf("got %v, want %s", res.Err, c.want)
		}
	}
}
