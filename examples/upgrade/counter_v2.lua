-- Version 2 of the counter: same state and protocol, plus "double".
local VERSION = "v2"

local function main(state)
  state = state or {count = 0, log = {}}
  assert(process.registry.register("counter"))

  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "add" then
      local n = m:payload():data()
      state.count = state.count + n
      state.log[#state.log + 1] = string.format("+%d by %s", n, VERSION)
    elseif topic == "double" then
      state.count = state.count * 2
      state.log[#state.log + 1] = "x2 by " .. VERSION
    elseif topic == "get" then
      process.send(m:from(), "count", {count = state.count, version = VERSION, pid = process.pid(), log = state.log})
    elseif topic == "reload" then
      process.upgrade(nil, state)
    elseif topic == "stop" then
      return state.count
    end
  end
end

return {main = main}
