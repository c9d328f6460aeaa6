-- version 1 of the counter; process.upgrade swaps it for counter_v2
local function main(count)
  count = count or 0
  process.registry.register("counter")
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "add" then
      count = count + m:payload():data()
    elseif topic == "get" then
      process.send(m:payload():data(), "count", {version = 1, count = count, pid = process.pid()})
    elseif topic == "upgrade" then
      process.upgrade("app:counter_v2", count)
    end
  end
end
return {main = main}
