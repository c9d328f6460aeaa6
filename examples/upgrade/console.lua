-- Reads commands from stdin, one per line, and sends them to the counter
-- by its registered name:
--   add N | double | get | reload | upgrade | go | quit
-- Only "get" waits, for the counter's answer.
local io = require("io")

local inbox = process.inbox()
local events = process.events()

-- The counter is monitored: when it has died (say a reload failed), its
-- name is gone and its EXIT event says why.
local function counter_exited()
  local ev = events:receive()
  io.print("counter exited: " .. tostring(ev.result.error))
  return 1
end

-- Sends to the counter by name; false when the counter is gone.
local function tell(topic, value)
  local ok, err = process.send("counter", topic, value)
  if not ok and not errors.is(err, errors.NOT_FOUND) then error(err) end
  return ok
end

local function main()
  local first, err = process.spawn_monitored("upg:counter", "upg:processes", nil, process.pid())
  if err then return nil, err end
  local m = inbox:receive()
  if m:topic() ~= "ready" then return nil, "unexpected message " .. m:topic() end
  io.print("counter started as " .. first)

  while true do
    local line = io.readline()
    if line == nil or line == "quit" then break end
    local cmd, arg = line:match("^(%S+)%s*(.*)$")
    if cmd == nil then
      -- blank line: nothing to do
    elseif cmd == "get" then
      if not tell("get") then return counter_exited() end
      -- Either the answer, or the counter's EXIT if it died on the way.
      local r = channel.select{inbox:case_receive(), events:case_receive()}
      if r.channel == events then
        io.print("counter exited: " .. tostring(r.value.result.error))
        return 1
      end
      local c = r.value:payload():data()
      io.print(string.format("> get: %d (version %s, same pid: %s)", c.count, c.version, tostring(c.pid == first)))
      io.print("  history: " .. table.concat(c.log, ", "))
    else
      local value = nil
      if cmd == "add" then value = tonumber(arg) or 1 end
      if not tell(cmd, value) then return counter_exited() end
      io.print("> " .. line)
    end
  end

  if not tell("stop") then return counter_exited() end
  local ev = events:receive()
  if ev.result.error then
    io.print("counter exited: " .. tostring(ev.result.error))
    return 1
  end
  io.print("counter stopped at " .. tostring(ev.result.value))
  return 0
end

return {main = main}
