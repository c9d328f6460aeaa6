package lua

import (
	"strings"
	"testing"
)

func TestChannelUnbuffered(t *testing.T) {
	expect(t, `return {main = function()
  local ch = channel.new()
  local log = {}
  coroutine.spawn(function()
    for i = 1, 3 do ch:send(i); table.insert(log, "sent" .. i) end
    ch:close()
  end)
  local got = {}
  while true do
    local v, ok = ch:receive()
    if not ok then break end
    table.insert(got, v)
    table.insert(log, "got" .. v)
  end
  local v, ok = ch:receive()
  return {got, v == nil, ok, #log}
end}`, `[[1, 2, 3], true, false, 6]`)
}

func TestChannelBuffered(t *testing.T) {
	expect(t, `return {main = function()
  local ch = channel.new(2)
  ch:send("a"); ch:send("b")        -- does not block
  local r = channel.select{ch:case_send("c"), default = true}
  local first = ch:receive()
  ch:close()
  local a, oka = ch:receive()        -- drains after close
  local b, okb = ch:receive()
  return {first, r.default, r.ok, a, oka, b == nil, okb}
end}`, `["a", true, true, "b", true, true, false]`)
}

func TestChannelIdentity(t *testing.T) {
	expect(t, `return {main = function()
  local ch = channel.new()
  local r = channel.select{ch:case_send(1), default = true}
  local t = {}
  t[process.inbox()] = 1
  return {process.inbox() == process.inbox(), process.events() == process.events(),
          process.inbox() ~= process.events(), t[process.inbox()], r.default, tostring(ch):sub(1, 8)}
end}`, `[true, true, true, 1, true, "channel:"]`)
}

func TestSendOnClosedRaises(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local ch = channel.new()
  ch:close()
  ch:close() -- a no-op
  local ok, e = pcall(function() ch:send(1) end)
  -- a sender blocked when the channel gets closed raises too
  local ch2 = channel.new()
  coroutine.spawn(function() time.sleep("1ms"); ch2:close() end)
  local ok2, e2 = pcall(function() ch2:send(1) end)
  return {ok, string.find(e, "closed") ~= nil, ok2, e2}
end}`, `[false, true, false, "t:main.lua:11: send on closed channel"]`)
}

func TestSelect(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local a, b = channel.new(), channel.new()
  coroutine.spawn(function() time.sleep("5ms"); b:send("from b") end)
  local r = channel.select{a:case_receive(), b:case_receive()}
  local timeout = time.after("10ms")
  local r2 = channel.select{a:case_receive(), timeout:case_receive()}
  -- a send case completes when a receiver arrives
  coroutine.spawn(function() time.sleep("1ms"); local v = a:receive(); b:send(v .. "!") end)
  local r3 = channel.select{a:case_send("x")}
  local back = b:receive()
  -- closed receive case
  a:close()
  local r4 = channel.select{a:case_receive()}
  return {r.channel == b, r.value, r.ok, r2.channel == timeout, r3.channel == a, r3.value, back, r4.ok, r4.value == nil}
end}`, `[true, "from b", true, true, true, "x", "x!", false, true]`)
}

func TestSelectRandom(t *testing.T) {
	// Both cases are always ready; each must win sometimes.
	expect(t, `return {main = function()
  local a, b = channel.new(1000), channel.new(1000)
  for i = 1, 200 do a:send(i); b:send(i) end
  local na, nb = 0, 0
  for i = 1, 200 do
    local r = channel.select{a:case_receive(), b:case_receive()}
    if r.channel == a then na = na + 1 else nb = nb + 1 end
  end
  return {na > 20, nb > 20, na + nb}
end}`, `[true, true, 200]`)
}

func TestSelectErrors(t *testing.T) {
	_, res := run(t, `return {main = function() channel.select{1} end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "not a case") {
		t.Fatalf("err = %v", res.Err)
	}
	_, res = run(t, `return {main = function() channel.select{} end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "no cases") {
		t.Fatalf("err = %v", res.Err)
	}
	_, res = run(t, `return {main = function() process.inbox():close() end}`)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "mailbox") {
		t.Fatalf("err = %v", res.Err)
	}
}

func TestSelectWaitersRemoved(t *testing.T) {
	// A select that loses on one channel must not leave a waiter there: a
	// later send on it would otherwise wake a task that moved on.
	expect(t, `
local time = require("time")
return {main = function()
  local a, b = channel.new(), channel.new()
  coroutine.spawn(function() time.sleep("1ms"); b:send(1) end)
  channel.select{a:case_receive(), b:case_receive()}
  local r = channel.select{a:case_send("x"), default = true}
  return {r.default == true}
end}`, `[true]`)
}

func TestTimerAndTicker(t *testing.T) {
	expect(t, `
local time = require("time")
return {main = function()
  local t0 = time.now()
  local tick = time.ticker("100ms")
  for _ = 1, 3 do tick:channel():receive() end
  tick:stop()
  local elapsed = time.now():sub(t0):milliseconds()
  local tm = time.timer("50ms")
  local same = tm:response() == tm:channel()
  local stopped = tm:stop()
  local again = tm:stop()
  tm:reset("20ms")
  tm:response():receive()
  local bad, err = time.timer(0)
  local ok, e = pcall(time.sleep, "nonsense")
  return {elapsed, same, stopped, again, bad == nil, err:kind(), ok}
end}`, `[300, true, true, false, true, "INVALID", false]`)
}
