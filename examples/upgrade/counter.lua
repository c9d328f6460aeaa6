-- Version 1 of the counter. Its state travels across upgrades as the
-- argument of main: {count = n, log = {...}}.
local VERSION = "v1"

local function main(state, owner)
  state = state or {count = 0, log = {}}
  -- Registering the name again after an upgrade is a no-op: it is still ours.
  assert(process.registry.register("counter"))
  if owner then process.send(owner, "ready") end

  -- Messages on "go" skip the inbox and arrive here instead.
  local go = process.listen("go")
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "add" then
      local n = m:payload():data()
      state.count = state.count + n
      state.log[#state.log + 1] = string.format("+%d by %s", n, VERSION)
    elseif topic == "get" then
      process.send(m:from(), "count", {count = state.count, version = VERSION, pid = process.pid(), log = state.log})
    elseif topic == "reload" then
      -- Re-read this entry's file and run it in place, with our state.
      process.upgrade(nil, state)
    elseif topic == "upgrade" then
      -- Hold the upgrade until "go" arrives, so that everything sent in
      -- between is surely waiting in the inbox when the code is swapped.
      go:receive()
      process.upgrade("upg:counter_v2", state)
    elseif topic == "stop" then
      return state.count
    end
  end
end

return {main = main}
