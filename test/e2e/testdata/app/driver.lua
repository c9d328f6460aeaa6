-- The test program. It runs on a client node and
--  1. spawns a sink on n2 (linked), sends it COUNT numbered messages and
--     prints how many arrived and whether in order;
--  2. links (trapped) and monitors a sleeper on n3 itself, and has a
--     watcher on n1 and one on n2 do the same, then prints "ready";
--  3. after the test kills n3, prints each EXIT / LINK_DOWN it or the
--     watchers get, as "<node> <kind>: <error>", and "done".
local io = require("io")
local time = require("time")

local inbox = process.inbox()
local events = process.events()

-- stdout is buffered: flush each line so the test sees it at once.
local function say(line)
  io.print(line)
  io.flush()
end

local function node_of(pid)
  return string.match(pid, "^{([^@|]+)@") or "?"
end

-- The next message with the given topic (others are kept for later),
-- or nil after the timeout.
local pending = {}
local function expect(topic, timeout)
  for i, m in ipairs(pending) do
    if m:topic() == topic then
      table.remove(pending, i)
      return m
    end
  end
  local deadline = time.after(timeout)
  while true do
    local r = channel.select{inbox:case_receive(), deadline:case_receive()}
    if r.channel == deadline then return nil end
    if r.value:topic() == topic then return r.value end
    pending[#pending + 1] = r.value
  end
end

-- A remote spawn retried while the node is not routable yet.
local function spawn_retry(fn, ...)
  local pid, err
  for _ = 1, 100 do
    pid, err = fn(...)
    if pid then return pid end
    time.sleep("100ms")
  end
  return nil, err
end

local function main(count)
  count = tonumber(count) or 100000
  process.set_options({trap_links = true})

  -- 1. ordered messages to a remote sink
  local sink, err = spawn_retry(process.spawn_linked, "app:sink", "n2@app:processes")
  if not sink then return nil, "spawn sink on n2: " .. tostring(err) end
  say("sink on " .. node_of(sink))
  local t0 = time.now()
  for i = 1, count do
    local ok, serr = process.send(sink, "n", i)
    if not ok then return nil, "send " .. i .. ": " .. tostring(serr) end
  end
  process.send(sink, "done", process.pid())
  local m = expect("result", "30s")
  if not m then return nil, "no result from the sink within 30s" end
  local res = m:payload():data()
  say(string.format("received %d in order: %s, last %d, all from me: %s",
    res.count, tostring(res.ordered), res.last, tostring(res.from == process.pid())))
  say(string.format("elapsed_ms %d", math.floor(time.now():sub(t0):milliseconds())))

  -- 2. links and monitors to processes on n3
  local sleeper
  sleeper, err = spawn_retry(process.spawn_linked_monitored, "app:sleeper", "n3@app:processes")
  if not sleeper then return nil, "spawn sleeper on n3: " .. tostring(err) end
  for _, node in ipairs({"n1", "n2"}) do
    local w, werr = spawn_retry(process.spawn, "app:watcher", node .. "@app:processes", process.pid(), "n3@app:processes")
    if not w then return nil, "spawn watcher on " .. node .. ": " .. tostring(werr) end
  end
  for _ = 1, 2 do
    local w = expect("watching", "20s")
    if not w then return nil, "watchers did not report within 20s" end
    local d = w:payload():data()
    say(string.format("%s watches %s", node_of(d.watcher), node_of(d.target)))
  end
  say("ready")

  -- 3. after n3 is killed: 2 events here, 2 from each watcher
  local left, from_watchers = 2, 4
  local deadline = time.after("20s")
  while left > 0 or from_watchers > 0 do
    local cases = {deadline:case_receive()}
    if left > 0 then cases[#cases + 1] = events:case_receive() end
    if from_watchers > 0 then cases[#cases + 1] = inbox:case_receive() end
    local r = channel.select(cases)
    if r.channel == deadline then
      return nil, string.format("timed out waiting: %d own events, %d watcher events left", left, from_watchers)
    elseif r.channel == events then
      local ev = r.value
      if ev.from == sleeper and (ev.kind == process.event.EXIT or ev.kind == process.event.LINK_DOWN) then
        left = left - 1
        say(string.format("client %s: %s", ev.kind, tostring(ev.result and ev.result.error)))
      else
        -- e.g. the sink's link firing: it exited normally, so nothing is due
        say(string.format("unexpected event %s from %s", tostring(ev.kind), tostring(ev.from)))
      end
    else
      local msg = r.value
      if msg:topic() == "event" then
        local d = msg:payload():data()
        from_watchers = from_watchers - 1
        say(string.format("%s %s: %s", node_of(d.watcher), d.kind, d.error))
      end
    end
  end
  say("done")
  return 0
end

return {main = main}
