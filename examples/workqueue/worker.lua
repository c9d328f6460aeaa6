-- A worker: a member of the group "workers" of the scope queue:pg on its
-- node. Every node runs one (worker.service), and the group lists the
-- workers of all nodes. A job arrives under topic "job" from whoever
-- holds the group's member list; a "report" request arrives by broadcast
-- to the whole group.
local pg = require("pg")
local system = require("system")

local function main()
  local group = assert(pg.open("queue:pg"))
  assert(group:join("workers"))
  local node = system.node.id()
  local jobs, reports, events = process.listen("job"), process.listen("report"), process.events()
  local done = 0
  while true do
    local r = channel.select{jobs:case_receive(), reports:case_receive(), events:case_receive()}
    if r.channel == jobs then
      local job = r.value
      local sum = 0
      for i = 1, job.n do sum = sum + i * i end
      done = done + 1
      process.send(job.reply_to, "result", {id = job.id, sum = sum, node = node})
    elseif r.channel == reports then
      process.send(r.value, "count", {node = node, done = done})
    elseif r.value.kind == process.event.CANCEL then
      -- The node stops: leaving is not needed, the group forgets a
      -- process when it ends.
      return "stopped"
    end
  end
end

return {main = main}
