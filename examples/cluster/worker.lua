-- One job of a round: the sum of squares of [from, to], after a short
-- pause so that a node can be killed while its jobs are running. The
-- result goes to the coordinator.
local time = require("time")

local function main(coordinator, round, job, from, to)
  time.sleep("1500ms")
  local sum = 0
  for i = from, to do sum = sum + i * i end
  process.send(coordinator, "result", {round = round, job = job, sum = sum, pid = process.pid()})
  return "ok"
end

return {main = main}
