package lua

import (
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
)

// Blocking where a yield is impossible waits on the worker goroutine
// (Env.Blocking + Receiver.Receive) instead.
func TestBlockingWithoutYield(t *testing.T) {
	cases := []struct {
		name, code, want string
	}{
		{"sort comparator", `
  local t = {3, 1, 2}
  table.sort(t, function(a, b) time.sleep("10ms"); return a < b end)
  return t`, `[1, 2, 3]`},
		{"index metamethod", `
  local obj = setmetatable({}, {__index = function(_, k) return process.inbox():receive():payload():data() .. k end})
  return obj.x`, `"msgx"`},
		{"generic for iterator", `
  local ch = process.listen("n")
  local got = {}
  for v in function() local v = ch:receive(); if v > 0 then return v end end do table.insert(got, v) end
  return got`, `[1, 2]`},
		{"pcall inside a comparator", `
  local t = {2, 1}
  table.sort(t, function(a, b)
    local ok, r = pcall(function() time.sleep("1ms"); return a < b end)
    return r
  end)
  return t`, `[1, 2]`},
		{"gsub callback", `
  return (string.gsub("ab", "%w", function(c) time.sleep("1ms"); return c:upper() end))`, `"AB"`},
		{"concat metamethod in a coroutine", `
  local mt = {__concat = function(a, b) time.sleep("1ms"); return "joined" end}
  local co = coroutine.wrap(function() return setmetatable({}, mt) .. "x" end)
  return co()`, `"joined"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.cat.add("t:main", "local time = require('time')\nreturn {main = function()\n"+c.code+"\nend}", "time")
			h.env.later = append(h.env.later, msgDelivery("hello", str("msg")), msgDelivery("n", msg.Int(1)), msgDelivery("n", msg.Int(2)), msgDelivery("n", msg.Int(0)))
			h.start("t:main")
			res := h.finish()
			if res.Err != nil || res.Value.String() != c.want {
				t.Fatalf("got %v %v\n%s", res.Value, res.Err, h.logs)
			}
			if h.env.blocking == 0 || h.env.received == 0 {
				t.Fatalf("the wait did not go through Blocking/Receive (%d, %d)", h.env.blocking, h.env.received)
			}
		})
	}
}

func TestBlockingWithoutReceiver(t *testing.T) {
	h := newHarness(t)
	h.env.noRecv = true
	h.cat.add("t:main", `local time = require("time")
return {main = function()
  local t = {2, 1}
  table.sort(t, function(a, b) time.sleep(1000); return a < b end) -- sleeps the goroutine
  local obj = setmetatable({}, {__index = function() return channel.new():receive() end})
  local ok, e = pcall(function() return obj.x end)
  return {t[1], ok, string.find(e, "cannot block here") ~= nil}
end}`, "time")
	h.start("t:main")
	res := h.finish()
	if res.Err != nil || res.Value.String() != `[1, false, true]` || h.env.blocking == 0 {
		t.Fatalf("got %v %v blocking=%d", res.Value, res.Err, h.env.blocking)
	}
}

func TestYieldAcrossMetamethod(t *testing.T) {
	_, res := run(t, `return {main = function()
  local co = coroutine.create(function()
    local obj = setmetatable({}, {__index = function() coroutine.yield(1) end})
    return obj.x
  end)
  local ok, e = coroutine.resume(co)
  error(e, 0)
end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "C-call boundary") {
		t.Fatalf("err = %v", res.Err)
	}
}
