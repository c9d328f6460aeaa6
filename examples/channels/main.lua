-- Channels and coroutines inside one process: producers, fan-in with
-- select, timeouts, non-blocking select, closing, and concurrent sleeps.
local io = require("io")
local time = require("time")

-- A timer never fires early; how much later it fires depends on how busy
-- the machine is. So a duration is printed as "at least N ms", which is
-- the same on every run, and the figure itself only when it is shorter.
local function at_least(d, want_ms)
  local ms = d:milliseconds()
  if ms >= want_ms then
    return "at least " .. want_ms .. "ms"
  end
  return "only " .. ms .. "ms (a timer fired early)"
end

-- 1. A producer coroutine fills a buffered channel and closes it; the
--    consumer reads until receive reports the channel closed.
local function producer_consumer()
  io.print("1. producer and consumer")
  local jobs = channel.new(2)
  coroutine.spawn(function()
    for i = 1, 5 do jobs:send(i * i) end
    jobs:close()
  end)
  local got = {}
  while true do
    local v, ok = jobs:receive()
    if not ok then break end
    got[#got + 1] = v
  end
  io.print("   received " .. table.concat(got, " ") .. ", then the channel was closed")
end

-- 2. Three producers at different speeds; one select loop takes whatever
--    is ready and drops each channel from the case list once it closes.
local function fan_in()
  io.print("2. fan-in with select")
  local names = {"fast", "medium", "slow"}
  local chans, by_chan = {}, {}
  for i, name in ipairs(names) do
    local ch = channel.new()          -- unbuffered: each send waits for the receiver
    chans[i], by_chan[ch] = ch, name
    coroutine.spawn(function(delay)
      for n = 1, 3 do
        time.sleep(delay)
        ch:send(name .. " #" .. n)
      end
      ch:close()
    end, (i * 10) .. "ms")
  end

  local received, closed, open = {}, {}, #chans
  local deadline = time.after("2s")
  while open > 0 do
    local cases = {deadline:case_receive()}
    for _, ch in ipairs(chans) do
      if by_chan[ch] then cases[#cases + 1] = ch:case_receive() end
    end
    local r = channel.select(cases)
    if r.channel == deadline then
      io.print("   gave up waiting")
      break
    elseif r.ok then
      received[#received + 1] = r.value
    else
      closed[by_chan[r.channel]] = true
      by_chan[r.channel] = nil
      open = open - 1
    end
  end
  -- Arrival order between producers varies from run to run; sort to print.
  table.sort(received)
  io.print("   got " .. #received .. " values: " .. table.concat(received, ", "))
  for _, name in ipairs(names) do
    io.print("   " .. name .. " producer closed its channel: " .. tostring(closed[name] == true))
  end
end

-- 3. select with a timeout: nobody ever sends on `never`.
local function timeout()
  io.print("3. select with a timeout")
  local never = channel.new()
  local t0 = time.now()
  local r = channel.select{never:case_receive(), time.after("100ms"):case_receive()}
  if r.channel ~= never then
    io.print("   no value; time.after fired after " .. at_least(time.now():sub(t0), 100))
  end
end

-- 4. select with default = true never blocks.
local function non_blocking()
  io.print("4. non-blocking select")
  local box = channel.new(1)
  local r = channel.select{box:case_receive(), default = true}
  io.print("   empty channel: default = " .. tostring(r.default))

  r = channel.select{box:case_send("parcel"), default = true}
  io.print("   sent with case_send: ok = " .. tostring(r.ok) .. ", value = " .. r.value)

  r = channel.select{box:case_receive(), default = true}
  io.print("   then received: " .. tostring(r.value))

  box:close()
  r = channel.select{box:case_receive(), default = true}
  io.print("   closed channel: ok = " .. tostring(r.ok) .. ", default = " .. tostring(r.default))

  local ok, err = pcall(function() box:send("late") end)
  io.print("   sending on it raises: " .. tostring(not ok) .. " (" .. tostring(err) .. ")")
end

-- 5. Three sleeps in three coroutines run at the same time: all three are
--    asleep at once, so the total is the longest sleep, not the sum.
local function concurrent_sleeps()
  io.print("5. three concurrent sleeps")
  local done = channel.new(3)
  local asleep, most = 0, 0
  local t0 = time.now()
  for i = 1, 3 do
    coroutine.spawn(function()
      asleep = asleep + 1
      most = math.max(most, asleep)
      time.sleep("200ms")
      asleep = asleep - 1
      done:send(i)
    end)
  end
  for _ = 1, 3 do done:receive() end
  io.print("   " .. most .. " coroutines were asleep at the same time")
  io.print("   three 200ms sleeps took " .. at_least(time.now():sub(t0), 200) .. " in total")
end

-- 6. A ticker delivers on its channel until stopped.
local function ticker()
  io.print("6. a ticker")
  local t0 = time.now()
  local tick = time.ticker("20ms")
  for _ = 1, 5 do tick:channel():receive() end
  tick:stop()
  io.print("   five 20ms ticks took " .. at_least(time.now():sub(t0), 100))
end

local function main()
  producer_consumer()
  fan_in()
  timeout()
  non_blocking()
  concurrent_sleeps()
  ticker()
  return 0
end

return {main = main}
