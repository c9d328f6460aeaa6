-- The orchestrator: waits for the counter service, runs the intruder on
-- app:user, prints what each of its attempts returned, then asks the
-- counter what it has received. The terminal host has no policies and the
-- system host's deny names only callers on app:user, so this query gets
-- through.
local io = require("io")
local time = require("time")

local inbox = process.inbox()
local events = process.events()

-- The service registers its name once it runs; wait for it, bounded.
local function wait_for(name)
  for _ = 1, 100 do
    local pid = process.registry.lookup(name)
    if pid then return pid end
    time.sleep("20ms")
  end
  return nil, errors.new{kind = errors.TIMEOUT, message = name .. " was never registered"}
end

local function main()
  local counter, err = wait_for("counter")
  if not counter then return nil, err end
  io.print("counter runs on app:system as " .. counter)

  local intruder, serr = process.spawn_monitored("app:intruder", "app:user", process.pid())
  if serr then return nil, serr end
  io.print("intruder runs on app:user as " .. intruder)

  -- Its EXIT carries the number of attempts; events and inbox are two
  -- channels, but every message it sent is in the inbox before its EXIT
  -- arrives, in the order it sent them.
  local ev = events:receive()
  if ev.from ~= intruder or ev.result.error then
    return nil, errors.new("intruder failed: " .. tostring(ev.result.error))
  end
  io.print(string.format("intruder made %d attempts:", ev.result.value))
  for _ = 1, ev.result.value do
    local res = inbox:receive():payload():data()
    io.print(string.format("  %s -> %s", res.what, res.kind))
    if res.message ~= "" then io.print("      " .. res.message) end
  end

  local ok, cerr = process.send("counter", "count")
  if not ok then return nil, cerr end
  local r = channel.select{inbox:case_receive(), time.after("2s"):case_receive()}
  if r.channel ~= inbox then
    return nil, errors.new{kind = errors.TIMEOUT, message = "the counter did not answer"}
  end
  local c = r.value:payload():data()
  io.print(string.format("counter %s received %d messages and %d events", r.value:from(), c.messages, c.events))
  return 0
end

return {main = main}
