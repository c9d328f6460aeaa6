-- Waits for a "stop" message; its node being killed ends it too.
local function main()
  local inbox = process.inbox()
  while true do
    if inbox:receive():topic() == "stop" then return "stopped" end
  end
end

return {main = main}
