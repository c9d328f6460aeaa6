-- The echo service: registers the name "echo" and replies to each line
-- with the line and how many lines this run of the service has answered.
-- Told to crash, it raises an error; its supervisor starts a fresh one,
-- whose count starts again at 1. A CANCEL (the node stopping) ends it
-- normally.
local function main()
  local ok, err = process.registry.register("echo")
  if not ok then return nil, err end

  local inbox, events = process.inbox(), process.events()
  local answered = 0
  while true do
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == events then
      if r.value.kind == process.event.CANCEL then return answered end
    elseif r.value:topic() == "line" then
      answered = answered + 1
      process.send(r.value:from(), "reply", string.format("echo #%d: %s", answered, r.value:payload():data()))
    elseif r.value:topic() == "crash" then
      error(string.format("crashing on request (%d lines answered)", answered))
    end
  end
end

return {main = main}
