-- A short tour of the process model: spawn, messages, a crash seen by a
-- monitor and a restart by hand, names, and a hot upgrade.
local io = require("io")

local inbox = process.inbox()
local events = process.events()

-- wait for the next message with a given topic (other messages stay queued
-- in order for later receives)
local function expect(topic)
  while true do
    local m = inbox:receive()
    if m:topic() == topic then return m end
  end
end

local function main()
  io.print("wippyd: a tour of processes, messages, monitors, names and upgrades")
  io.print("I am " .. process.pid())

  -- 1. spawn a process and talk to it
  local greeter, err = process.spawn("app:greeter", "app:processes")
  if err then return nil, err end
  process.send(greeter, "hello", "tour")
  local reply = expect("greeting")
  io.print("1. spawned " .. greeter .. "; it replied: " .. reply:payload():data())

  -- 2. a monitored process crashes; we see its EXIT and start another
  local fragile = process.spawn_monitored("app:fragile", "app:processes")
  process.send(fragile, "crash")
  local ev = events:receive()
  io.print("2. " .. ev.from .. " crashed; the monitor saw EXIT with error: " .. tostring(ev.result.error))
  local again = process.spawn_monitored("app:fragile", "app:processes")
  process.send(again, "finish")
  ev = events:receive()
  io.print("   restarted it by hand as " .. again .. "; it finished with: " .. tostring(ev.result.value))

  -- 3. a named process, found by name
  local counter = process.spawn("app:counter", "app:processes")
  process.send(counter, "add", 40)
  process.send(counter, "get", process.pid())   -- replies once it has registered its name
  expect("count")
  local found = process.registry.lookup("counter")
  process.send("counter", "add", 2)
  process.send("counter", "get", process.pid())
  local c = expect("count"):payload():data()
  io.print("3. 'counter' is " .. tostring(found) .. "; sending by name, it counted to " .. c.count)

  -- 4. upgrade it in place: same PID, same name, state carried over
  process.send("counter", "upgrade")
  process.send("counter", "get", process.pid())
  c = expect("count"):payload():data()
  io.print("4. upgraded to version " .. c.version .. " in place: still " .. c.pid .. ", count " .. c.count)

  process.terminate(counter)
  io.print("done: every process here was a few KB of Lua state, and none held a thread while waiting.")
  return 0
end

return {main = main}
