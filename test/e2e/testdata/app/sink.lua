-- Receives "n" messages carrying 1, 2, 3, ... and checks that each value
-- is the previous one plus one, and that all come from one sender. On
-- "done" it replies to the given pid.
local function main()
  local inbox = process.inbox()
  local count, last, ordered = 0, 0, true
  local from
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "n" then
      local v = m:payload():data()
      count = count + 1
      if v ~= last + 1 then ordered = false end
      if from == nil then
        from = m:from()
      elseif m:from() ~= from then
        from = "several senders"
      end
      last = v
    elseif topic == "done" then
      process.send(m:payload():data(), "result", {count = count, last = last, ordered = ordered, from = from})
      return count
    end
  end
end

return {main = main}
