-- The keeper and its standby: one source, two entries (method: keeper,
-- method: standby).
local time = require("time")

local function node_of(pid)
  return string.match(tostring(pid), "^{([^@|]+)@") or "?"
end

-- Answer every "hello" with this process's node, until cancelled.
local function serve()
  local inbox, events = process.inbox(), process.events()
  while true do
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == events then
      if r.value.kind == process.event.CANCEL then return "cancelled" end
    elseif r.value:topic() == "hello" then
      process.send(r.value:from(), "hi", {node = node_of(process.pid()), pid = tostring(process.pid())})
    end
  end
end

-- Claim the cluster-wide name: the first register through Raft wins. A
-- name held by another process (ALREADY_EXISTS), or no Raft leader yet
-- (UNAVAILABLE), means: try again shortly.
local function claim(name)
  while true do
    local ok, err = process.registry.register(name, process.pid(), process.registry.CONSISTENT)
    if ok then return end
    time.sleep("100ms")
  end
end

local function keeper(tour)
  claim("keeper")
  process.send(tour, "registered", tostring(process.pid()))
  return serve()
end

-- Monitor the keeper; when it goes (here: its node dies), tell the tour,
-- take the name over once the cluster has released it, and serve.
local function standby(tour, keeper_pid)
  process.monitor(keeper_pid)
  process.send(tour, "watching", true)
  local events = process.events()
  while true do
    local ev = events:receive()
    if ev.kind == process.event.EXIT and tostring(ev.from) == tostring(keeper_pid) then
      process.send(tour, "keeper down", tostring(ev.result.error))
      break
    elseif ev.kind == process.event.CANCEL then
      return "cancelled"
    end
  end
  claim("keeper")
  process.send(tour, "took over", tostring(process.pid()))
  return serve()
end

return {keeper = keeper, standby = standby}
