package lua

import (
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// expect runs code and compares its exit value's string form.
func expect(t *testing.T, code, want string) {
	t.Helper()
	if got := value(t, code).String(); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestPcallTransparent(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local ch = channel.new()
  coroutine.spawn(function() time.sleep("10ms"); ch:send("hello") end)
  local ok, v = pcall(function() return ch:receive() end)
  local ok2, err = pcall(function()
    time.sleep("5ms")
    error("after sleep")
  end)
  return {ok, v, ok2, string.find(err, "after sleep") ~= nil}
end}`, `[true, "hello", false, true]`)
}

func TestPcallResults(t *testing.T) {
	expect(t, `return {main = function()
  local n1 = select("#", pcall(function() end))
  local n2 = select("#", pcall(function() return nil, nil end))
  local ok, a, b = pcall(function(x, y) return y, x end, 1, 2)
  local bad, msg = pcall(nil)
  return {n1, n2, a, b, bad, type(msg)}
end}`, `[1, 3, 2, 1, false, "string"]`)
}

func TestNestedPcallBlocking(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local out = {}
  local ok, v = pcall(function()
    return pcall(function()
      time.sleep("1ms")
      table.insert(out, "inner")
      local ok2, e = pcall(error, "deep")
      time.sleep("1ms")
      return e
    end)
  end)
  return {ok, v, out[1]}
end}`, `[true, true, "inner"]`)
}

func TestXpcall(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local ok, v = xpcall(function() time.sleep("1ms"); error({code = 7}) end, function(e) time.sleep("1ms"); return e.code * 2 end)
  local ok2, a, b = xpcall(function() return 1, 2 end, print)
  return {ok, v, ok2, a, b}
end}`, `[false, 14, true, 1, 2]`)
}

func TestCoroutineGenerators(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local gen = coroutine.wrap(function(n)
    for i = 1, n do
      time.sleep("1ms")            -- blocks inside a user coroutine
      coroutine.yield(i * 10)
    end
    return "done"
  end)
  local out = {gen(3), gen(), gen(), gen()}
  local co = coroutine.create(function(a)
    local b = coroutine.yield(a + 1)
    local ok, e = pcall(function()
      local c = coroutine.yield(b * 2)  -- yield across pcall inside the coroutine
      error("x" .. c)
    end)
    return e
  end)
  local r1 = {coroutine.resume(co, 1)}
  local r2 = {coroutine.resume(co, 5)}
  local s = coroutine.status(co)
  local r3 = {coroutine.resume(co, "y")}
  local r4 = {coroutine.resume(co)}
  return {out, r1, r2, s, r3[1], string.find(r3[2], "xy") ~= nil, coroutine.status(co), r4}
end}`, `[[10, 20, 30, "done"], [true, 2], [true, 10], "suspended", true, true, "dead", [false, "cannot resume dead coroutine"]]`)
}

func TestCoroutineStatusRunning(t *testing.T) {
	expect(t, `return {main = function()
  local main_running = coroutine.running()
  local co
  co = coroutine.create(function()
    local inner = coroutine.create(function() return coroutine.status(co) end)
    local _, s = coroutine.resume(inner)
    return coroutine.status(co), s, coroutine.running() == co
  end)
  local ok, a, b, c = coroutine.resume(co)
  return {main_running == nil, a, b, c, tostring(co):sub(1, 7)}
end}`, `[true, "running", "normal", true, "thread:"]`)
}

func TestYieldOutsideCoroutine(t *testing.T) {
	_, res := run(t, `return {main = function() coroutine.yield(1) end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "outside a coroutine") {
		t.Fatalf("err = %v", res.Err)
	}
	_, res = run(t, `return {main = function() local ok, e = pcall(coroutine.yield, 1); error(e, 0) end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "outside a coroutine") {
		t.Fatalf("err = %v", res.Err)
	}
}

func TestWrapRaises(t *testing.T) {
	expect(t, `return {main = function()
  local f = coroutine.wrap(function() error("inside") end)
  local ok, e = pcall(f)
  return {ok, string.find(e, "inside") ~= nil}
end}`, `[false, true]`)
}

func TestSpawnConcurrent(t *testing.T) {
	// Three sleeps in three coroutines take the time of one.
	h, res := run(t, `
local time = require("time")
return {main = function()
  local done = channel.new(3)
  local t0 = time.now()
  for i = 1, 3 do
    coroutine.spawn(function(n) time.sleep("200ms"); done:send(n) end, i)
  end
  local sum = 0
  for i = 1, 3 do sum = sum + done:receive() end
  return {sum, time.now():sub(t0):milliseconds()}
end}`)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	items := res.Value.Items()
	if n, _ := items[0].AsInt(); n != 6 {
		t.Fatalf("sum = %v", items[0])
	}
	if ms, _ := items[1].AsInt(); ms != 200 {
		t.Fatalf("three concurrent sleeps took %v ms on the fake clock; logs: %s", items[1], h.logs)
	}
}

func TestSpawnErrorLogged(t *testing.T) {
	h, res := run(t, `
local time = require("time")
return {main = function()
  coroutine.spawn(function() error("spawned failure") end)
  time.sleep("1ms")
  return "alive"
end}`)
	if res.Err != nil || res.Value.String() != `"alive"` {
		t.Fatalf("res = %v %v", res.Value, res.Err)
	}
	if !strings.Contains(h.logs.String(), "spawned failure") || !strings.Contains(h.logs.String(), "pid=") {
		t.Fatalf("log = %s", h.logs)
	}
}

func TestSpawnDiscardedWithMain(t *testing.T) {
	h, res := run(t, `
local time = require("time")
return {main = function()
  coroutine.spawn(function() time.sleep("1h") end)
  coroutine.spawn(function() channel.new():receive() end)
  return 1
end}`)
	if res.Err != nil || len(h.env.timers) != 0 {
		t.Fatalf("err %v, timers left %d", res.Err, len(h.env.timers))
	}
}

func TestSleepUsesRuntimeTimers(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `
local time = require("time")
return {main = function() time.sleep("150ms"); return "woke" end}`, "time")
	h.start("t:main")
	if st := h.settle(); st != proc.StatusBlock {
		t.Fatalf("status %v, want block", st)
	}
	if len(h.env.timers) != 1 {
		t.Fatalf("%d timers", len(h.env.timers))
	}
	for _, at := range h.env.timers {
		if d := at.Sub(h.env.now); d != 150*time.Millisecond {
			t.Fatalf("timer in %v", d)
		}
	}
	res := h.finish()
	if res.Value.String() != `"woke"` {
		t.Fatal(res.Value)
	}
}

func TestMainValueArgs(t *testing.T) {
	got := value(t, `return {main = function(a, t) return a .. t.k end}`, str("v="), msg.StringMap(map[string]msg.Value{"k": str("1")}))
	if got.String() != `"v=1"` {
		t.Fatal(got)
	}
}
