-- The well-behaved process: answers every ping.
return {main = function()
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    process.send(m:from(), "pong", m:payload():data())
  end
end}
