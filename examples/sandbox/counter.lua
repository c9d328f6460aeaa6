-- The system process: registers the name "counter" and counts every
-- message and every EXIT or LINK_DOWN event it receives. Links are
-- trapped, so a link that got through would show up as an event rather
-- than take it down. A "count" query is answered with the totals so far,
-- not counting the query itself; a CANCEL ends it.
local function main()
  local ok, err = process.registry.register("counter")
  if not ok then return nil, err end
  process.set_options{trap_links = true}

  local inbox, events = process.inbox(), process.events()
  local messages, seen_events = 0, 0
  while true do
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == events then
      -- A CANCEL asks it to finish (the node sends one when it stops).
      if r.value.kind == process.event.CANCEL then return end
      seen_events = seen_events + 1
    elseif r.value:topic() == "count" then
      process.send(r.value:from(), "count", {messages = messages, events = seen_events})
    else
      messages = messages + 1
    end
  end
end

return {main = main}
