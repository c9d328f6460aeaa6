-- Receives "n" messages carrying 1, 2, 3, ... and checks that each value
-- is the previous one plus one. On "done" it replies to the given pid.
local function main()
  local inbox = process.inbox()
  local count, last, ordered = 0, 0, true
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "n" then
      local v = m:payload():data()
      count = count + 1
      if v ~= last + 1 then ordered = false end
      last = v
    elseif topic == "done" then
      process.send(m:payload():data(), "result", {count = count, last = last, ordered = ordered})
      return count
    end
  end
end

return {main = main}
