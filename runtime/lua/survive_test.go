package lua

import (
	"errors"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/proc"
)

// The node must survive its processes: each bomb here used to take the
// whole test binary down (a fatal Go stack overflow, an out-of-memory
// abort) or hang it.

// TestNestedResumeBomb: 340,000 coroutine.resume calls nested in one
// another recursed in Go until the runtime aborted; nesting is capped.
func TestNestedResumeBomb(t *testing.T) {
	v := value(t, `return {main = function()
  local function f()
    local co = coroutine.create(f)
    local ok, e = coroutine.resume(co)
    if not ok then error(e, 0) end
  end
  local ok, e = pcall(f)
  return {ok, e}
end}`).Items()
	if ok, _ := v[0].AsBool(); ok {
		t.Fatalf("bomb returned %v", v)
	}
	if s, _ := v[1].AsString(); !strings.Contains(s, "stack overflow") {
		t.Fatalf("error %q", s)
	}
}

func TestNestedPcallBomb(t *testing.T) {
	expect(t, `return {main = function()
  local depth = 0
  local function g() depth = depth + 1; local _, e = pcall(g); return e end
  local ok, e = pcall(g)
  local function h() coroutine.wrap(h)() end
  local okw, ew = pcall(h)
  return {ok, depth, string.find(e, "stack overflow") ~= nil, okw, string.find(ew, "stack overflow") ~= nil}
end}`, `[true, 200, true, false, true]`)
}

// TestDeepRecursion: Lua-to-Lua recursion used to stop at about 198 frames.
func TestDeepRecursion(t *testing.T) {
	expect(t, `return {main = function()
  local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
  local ok, e = pcall(f, 25000)
  local co = coroutine.wrap(function() return f(15000) end)
  local t = setmetatable({}, {__index = function(t, k) return t[k] end})
  local okm, em = pcall(function() return t.x end)
  return {f(19000), ok, string.match(e, "stack overflow") ~= nil, co(), okm, string.match(em, "stack overflow") ~= nil}
end}`, `[19000, false, true, 15000, false, true]`)
}

// TestNestedMetamethodRecursion: each nested pcall runs a thread of its
// own, and metamethod recursion in each is Go recursion; 199 nested pcalls
// each recursing 19,000 deep would pass Go's 1 GB stack and abort the
// runtime. Frames of nested threads count together against the limit.
func TestNestedMetamethodRecursion(t *testing.T) {
	expect(t, `return {main = function()
  local f
  local function g(level, n)
    local t = setmetatable({}, {__index = function(t, k)
      if k == 0 then return f(level + 1) end
      return t[k - 1]
    end})
    return t[n]
  end
  f = function(level)
    if level == 199 then return level end
    local ok, r = pcall(g, level, 19000)
    if not ok then error(r, 0) end
    return r
  end
  local ok, e = pcall(f, 0)
  return {ok, string.find(e, "stack overflow") ~= nil}
end}`, `[false, true]`)
}

// limited runs code on an engine whose processes may hold at most limit
// bytes.
func limited(t *testing.T, limit int64, code string) proc.Result {
	t.Helper()
	_, res := runWith(t, func(c *Config) { c.MaxMemory = limit }, code)
	return res
}

func memoryExit(t *testing.T, res proc.Result, what string) {
	t.Helper()
	var pe *proc.Error
	if !errors.As(res.Err, &pe) || pe.Kind != proc.KindInternal || !strings.Contains(pe.Message, "memory limit") ||
		!strings.Contains(pe.Message, what) {
		t.Fatalf("exit %v (%#v), want an INTERNAL memory limit error about %q", res.Err, res.Err, what)
	}
}

func TestMemoryLimitBuiltins(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ name, code, what string }{
		{"rep", `return string.rep("x", 2^31 - 1)`, "string.rep needs 2.0 GiB"},
		{"rep sep", `return string.rep("x", 2^20, ("y"):rep(2^10))`, "string.rep needs 1.0 GiB"},
		{"concat", `local s = ("x"):rep(1000); while true do s = s .. s end`, "concatenation needs"},
		{"concat many", `local s = ("x"):rep(8 * 2^20); return s..s..s..s..s..s..s..s..s..s`, "concatenation needs 80.0 MiB"},
		{"gsub", `return (("x"):rep(2^20):gsub("x", ("y"):rep(100)))`, "string.gsub needs"},
		{"format", `local s = ("x"):rep(2^20); return string.format(("%s"):rep(100), ` +
			strings.Repeat("s, ", 99) + `s)`, "string.format needs"},
		{"table.concat", `local s, t = ("x"):rep(2^20), {}; for i = 1, 100 do t[i] = s end; return table.concat(t)`, "table.concat needs 100.0 MiB"},
		{"hundred MB strings", `local t = {}; for i = 1, 100 do t[i] = string.rep("x", 100 * 2^20) end`, "string.rep needs 100.0 MiB"},
		{"json.decode", `local json = require("json"); local text = "[" .. ("1,"):rep(12 * 2^20) .. "1]"; return json.decode(text)`, "json.decode needs 96.0 MiB"},
		{"kept strings", `local t = {}; for i = 1, 100 do t[i] = string.rep("x", 2^20 + i) end`, "string.rep needs 1.0 MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := limited(t, 64*mib, "return {main = function() "+c.code+" end}")
			memoryExit(t, res, c.what)
		})
	}
}

// TestMemoryLimitCatchable: a builtin refused allocates nothing, so its
// error can be caught and the process goes on.
func TestMemoryLimitCatchable(t *testing.T) {
	_, res := runWith(t, func(c *Config) { c.MaxMemory = 16 << 20 }, `return {main = function()
  local ok, e = pcall(string.rep, "x", 2^31 - 1)
  local dropped = 0
  for i = 1, 40 do local s = string.rep("y", 4 * 2^20); dropped = dropped + #s end
  return {ok, e:kind(), e:retryable(), dropped}
end}`)
	if res.Err != nil || res.Value.String() != `[false, "INTERNAL", false, 167772160]` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

// TestMemoryLimitHeld: growth that no builtin prices (tables, closures,
// coroutines) is found by the periodic measure; the process fails and pcall
// cannot catch it.
func TestMemoryLimitHeld(t *testing.T) {
	for _, c := range []struct{ name, code string }{
		{"tables", `local t, i = {}, 0; while true do i = i + 1; t[i] = {i, tostring(i)} end`},
		{"closures", `local t, i = {}, 0; while true do i = i + 1; local x = i; t[i] = function() return x end end`},
		{"coroutines", `local t = {}; while true do local co = coroutine.create(function() coroutine.yield() end); coroutine.resume(co); t[#t+1] = co end`},
		{"strings", `local t, i = {}, 0; while true do i = i + 1; t[i] = ("x"):rep(1000) .. i end`},
		{"channel", `local ch, i = channel.new(2^40), 0; while true do i = i + 1; ch:send({i}) end`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := limited(t, 8<<20, "return {main = function() local ok, e = pcall(function() "+c.code+" end); return 'caught: ' .. tostring(e) end}")
			memoryExit(t, res, "the process holds")
		})
	}
}
