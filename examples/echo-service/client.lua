-- The terminal side: sends every line of stdin to the echo service by name
-- and prints the reply. The line "crash" makes the service crash instead;
-- the client then waits until its supervisor has restarted it and the name
-- "echo" is registered again, by a new process.
local io = require("io")
local time = require("time")

local inbox = process.inbox()
local events = process.events()

-- Wait until the name is held by a process other than `old` (nil: any),
-- asking every 20ms for at most 5s.
local function wait_for_echo(old)
  for _ = 1, 250 do
    local pid = process.registry.lookup("echo")
    if pid and pid ~= old then return pid end
    time.sleep("20ms")
  end
  return nil, errors.new{kind = errors.TIMEOUT, message = "no process registered \"echo\" within 5s"}
end

-- The next inbox message, or nil after 2s.
local function receive()
  local r = channel.select{inbox:case_receive(), time.after("2s"):case_receive()}
  if r.channel == inbox then return r.value end
  return nil
end

local function main()
  local echo, err = wait_for_echo(nil)
  if not echo then return nil, err end
  -- Monitor it: a crash then arrives as its EXIT event.
  local ok, merr = process.monitor(echo)
  if not ok then return nil, merr end
  io.print("echo service runs as " .. echo)

  local lines, restarts = 0, 0
  while true do
    local line = io.readline()
    if line == nil then break end
    if line == "crash" then
      local sent, serr = process.send("echo", "crash")
      if not sent then return nil, serr end
      local ev = events:receive()
      io.print(string.format("echo service %s crashed: %s", ev.from, tostring(ev.result.error)))
      local new, werr = wait_for_echo(echo)
      if not new then return nil, werr end
      restarts = restarts + 1
      io.print("restarted: new pid differs: " .. tostring(new ~= echo))
      echo = new
      ok, merr = process.monitor(echo)
      if not ok then return nil, merr end
      io.print("echo service runs as " .. echo)
    else
      lines = lines + 1
      local sent, serr = process.send("echo", "line", line)
      if not sent then return nil, serr end
      local reply = receive()
      if not reply then
        return nil, errors.new{kind = errors.TIMEOUT, message = "no reply to " .. line}
      end
      io.print(reply:payload():data())
    end
  end
  io.print(string.format("%d lines echoed, %d restarts", lines, restarts))
  return 0
end

return {main = main}
