package lua

import (
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

func TestStackLimits(t *testing.T) {
	_, res := run(t, `return {main = function()
  local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
  local ok, e = pcall(f, 100000)
  local t = {}
  for i = 1, 50000 do t[i] = i end
  local n = select("#", unpack(t))
  return {ok, f(150), n}
end}`)
	if res.Err != nil || !strings.HasPrefix(res.Value.String(), "[false, 150, 50000]") {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

func TestGeneratorInForLoop(t *testing.T) {
	// A generator blocking inside a generic for waits on the worker (the
	// iterator is called from Go); user yields work as usual.
	expect(t, `
local time = require("time")
return {main = function()
  local out = {}
  for v in coroutine.wrap(function() for i = 1, 3 do time.sleep("1ms"); coroutine.yield(i) end end) do
    table.insert(out, v)
  end
  local ok, r = pcall(function()
    local ch = channel.new(1)
    coroutine.spawn(function() local v, e = process.exec("bad:x", ""); ch:send(e:kind()) end)
    return channel.select{ch:case_receive(), time.after("1s"):case_receive()}.value
  end)
  return {out, ok, r}
end}`, `[[1, 2, 3], true, "NOT_FOUND"]`)
}

// States start with a value stack of initialSlots; every way of filling
// it grows it up to RegistryMaxSize, and past that the code gets
// gopher-lua's "registry overflow" error (today a Go function's push past
// the limit ends the process instead of reaching pcall: either is accepted
// here, a crash or a silent success is not).
func TestValueStackGrowsFromSmall(t *testing.T) {
	small := func(c *Config) { c.RegistryMaxSize = 4096 }
	_, res := runWith(t, small, `return {main = function()
  local t = {}
  for i = 1, 3000 do t[i] = i end
  local n = select("#", unpack(t))
  local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end
  local co = coroutine.wrap(function(...) return select("#", ...), f(200) end)
  local cn, cd = co(unpack(t, 1, 1000))
  return {n, f(300), cn, cd}
end}`)
	if res.Err != nil || res.Value.String() != "[3000, 300, 1000, 200]" {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	_, res = runWith(t, small, `return {main = function()
  local t = {}
  for i = 1, 10000 do t[i] = i end
  local ok, e = pcall(unpack, t)
  return {ok, tostring(e)}
end}`)
	caught := res.Err == nil && strings.Contains(res.Value.String(), "registry overflow") && strings.HasPrefix(res.Value.String(), "[false")
	if !caught && (res.Err == nil || !strings.Contains(res.Err.Error(), "registry overflow")) {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

func TestReleaseShrinksValueStack(t *testing.T) {
	h := newHarness(t)
	L := h.eng.getState()
	if n := len(registryOf(L).array); n != initialSlots {
		t.Fatalf("new state has %d slots, want %d", n, initialSlots)
	}
	for i := 0; i < 1000; i++ {
		L.Push(glua.LNumber(i))
	}
	if n := len(registryOf(L).array); n < 1000 {
		t.Fatalf("stack did not grow: %d slots", n)
	}
	h.eng.release(L)
	if n, g := len(registryOf(L).array), registryOf(L).growBy; n != initialSlots || g != h.eng.opts.RegistryGrowStep {
		t.Fatalf("released state keeps %d slots, grows by %d", n, g)
	}
}
