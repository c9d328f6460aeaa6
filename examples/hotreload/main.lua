-- Starts the worker, sends it three ticks, and prints what it reports
-- while worker.lua is edited: the OUTDATED event, then the new version's
-- greeting with the count it kept.
local io = require("io")

local function main()
  local worker, err = process.spawn_linked("hot:worker", "hot:processes", process.pid())
  if err then return nil, err end
  local inbox = process.inbox()
  local hello = inbox:receive():payload():data()
  io.print(hello.greeting .. ", count " .. hello.count)
  for _ = 1, 3 do process.send(worker, "tick") end
  io.print("waiting: edit worker.lua (set VERSION = 2) and save")
  while true do
    local m = inbox:receive()
    local data = m:payload():data()
    if m:topic() == "outdated" then
      io.print("the worker's code changed: " .. table.concat(data, ", "))
    elseif m:topic() == "hello" then
      io.print(data.greeting .. ", count " .. data.count)
      if data.greeting:find("version 2") then
        process.cancel(worker)
        return 0
      end
    end
  end
end

return {main = main}
