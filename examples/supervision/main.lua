-- Supervision by hand: a monitor sees a worker's EXIT and restarts it, up
-- to a bounded number of times; then links, trapped and untrapped.
local io = require("io")
local time = require("time")

local inbox = process.inbox()
local events = process.events()

local MAX_RESTARTS = 3

local function start_divider()
  local pid, err = process.spawn_monitored("sup:divider", "sup:processes")
  if err then error(err) end
  return pid
end

-- Part 1: feed inputs to a monitored worker; on each crash print the error
-- from its EXIT event and start a fresh one, until the restart budget is
-- spent.
local function monitored(inputs)
  io.print("== spawn_monitored: restart a crashed worker by hand, at most " .. MAX_RESTARTS .. " times")
  local worker = start_divider()
  local restarts = 0
  for _, input in ipairs(inputs) do
    process.send(worker, "divide", input)
    -- Either the answer arrives in the inbox, or the worker's EXIT arrives
    -- on the events channel.
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == inbox then
      io.print(string.format("  100 / %s = %s", tostring(input), tostring(r.value:payload():data())))
    else
      local ev = r.value
      local err = ev.result.error
      io.print(string.format("  input %s: worker %s exited (%s): %s", tostring(input), ev.from, err:kind(), tostring(err)))
      if restarts == MAX_RESTARTS then
        io.print("  restart budget spent after " .. restarts .. " restarts; giving up")
        return
      end
      restarts = restarts + 1
      worker = start_divider()
      io.print(string.format("  restart %d: new worker %s", restarts, worker))
    end
  end
  -- Stop the last worker cleanly: a normal exit has a value, not an error.
  process.send(worker, "stop")
  local ev = events:receive()
  io.print("  last worker stopped normally; it handled " .. tostring(ev.result.value) .. " inputs")
end

-- Part 2: links.
local function linked()
  io.print("== spawn_linked with trap_links = true: a crash arrives as LINK_DOWN")
  process.set_options{trap_links = true}
  io.print("  options: trap_links = " .. tostring(process.get_options().trap_links))

  local pid = process.spawn_linked("sup:crasher", "sup:processes", "linked crasher")
  process.send(pid, "crash")
  local ev = events:receive()
  io.print(string.format("  %s from %s: %s", ev.kind, ev.from, tostring(ev.result.error)))

  -- A normal exit of a linked process sends nothing.
  pid = process.spawn_linked("sup:crasher", "sup:processes", "calm crasher")
  process.send(pid, "finish")
  local r = channel.select{events:case_receive(), time.after("200ms"):case_receive()}
  if r.channel == events then
    io.print("  unexpected event: " .. tostring(r.value.kind))
  else
    io.print("  a linked process that exits normally sends no event")
  end

  io.print("== without trap_links, a linked crash takes the other process down")
  local bystander = process.spawn_monitored("sup:bystander", "sup:processes")
  ev = events:receive()
  io.print(string.format("  bystander %s exited: %s", ev.from, tostring(ev.result.error)))
end

local function main()
  monitored({4, 5, 0, 20, "ten", 8, 0, 50, 0, 1})
  io.print("")
  linked()
  return 0
end

return {main = main}
