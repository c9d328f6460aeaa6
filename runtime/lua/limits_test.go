package lua

import (
	"strings"
	"testing"
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
