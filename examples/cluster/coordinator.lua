-- Runs on every node as a service. Only one process in the cluster holds
-- the CONSISTENT name "coordinator"; the others retry every second and take
-- over once the name is free (its holder ended or its node died).
--
-- The coordinator runs rounds: it splits 1..JOBS*STEP into JOBS ranges,
-- spawns one monitored worker per range, round-robin over the nodes
-- system.cluster.members() lists, and adds up the results. A worker whose node dies is reported by its monitor
-- with a `noconnection` error; its job is spawned again on the next node.
--
-- A coordinator whose node was cut off from the others does not know that
-- they declared its node dead, released the name and let a standby take
-- over: it keeps running rounds on the nodes it still reaches. When the
-- partition heals, the cluster tells it with a CANCEL whose reason is
-- "name revoked: coordinator"; it steps down and waits as a standby.
local time = require("time")
local logger = require("logger")
local system = require("system")

local JOBS, STEP = 6, 1000

-- Set by a CANCEL event: cancelled when the node stops the service,
-- revoked when the cluster took the name back.
local cancelled, revoked = false, false

local function on_cancel(ev)
  if string.find(ev.reason or "", "^name revoked") then
    revoked = true
  else
    cancelled = true
  end
end

-- Sleep for d; cut short (false) by a CANCEL.
local function pause(d)
  local events, t = process.events(), time.after(d)
  while true do
    local r = channel.select{events:case_receive(), t:case_receive()}
    if r.channel == t then return true end
    if r.value.kind == process.event.CANCEL then
      on_cancel(r.value)
      return false
    end
  end
end

local function node_of(pid)
  return string.match(tostring(pid), "^{([^@|]+)@") or "?"
end

-- The nodes to hand work to: the members this node sees up, itself
-- included, read at the start of each round (a local read, never waiting
-- on the network). Clients (`wippyd run -x` programs such as claim) are
-- members too but run none of this app's processes.
local function nodes()
  local list = {}
  for _, m in ipairs(system.cluster.members() or {}) do
    if not (m.meta and m.meta.raft_role == "client") then list[#list + 1] = m.id end
  end
  table.sort(list)
  return list
end

-- Wait for the name; ALREADY_EXISTS (someone else has it) and UNAVAILABLE
-- (no Raft quorum yet) both mean: try again later.
local function claim()
  local me = process.pid()
  local waiting = false
  while true do
    local ok, err = process.registry.register("coordinator", me, process.registry.CONSISTENT)
    if ok then
      logger:info("became coordinator")
      return true
    end
    if not waiting then
      logger:info("standby", {reason = tostring(err)})
      waiting = true
    end
    if not pause("1s") and cancelled then return false end
  end
end

-- Spawn job j of round n, trying each node from `start` on; returns the
-- worker's pid.
local function spawn_job(list, n, j, start)
  local from, to = (j - 1) * STEP + 1, j * STEP
  for k = 0, #list - 1 do
    local node = list[(start + k - 1) % #list + 1]
    local pid, err = process.spawn_monitored("app:worker", node .. "@app:processes", process.pid(), n, j, from, to)
    if pid then return pid end
    logger:warn("spawn failed", {job = j, node = node, error = tostring(err)})
  end
  return nil
end

local function round(n, list)
  local inbox, events = process.inbox(), process.events()
  local running, sums, by_node, respawned = {}, {}, {}, 0
  local left = JOBS
  for j = 1, JOBS do
    local pid = spawn_job(list, n, j, j)
    if not pid then return nil, "no node accepted job " .. j end
    running[pid] = {job = j, next = j + 1}
  end
  local deadline = time.after("20s")
  while left > 0 do
    local r = channel.select{inbox:case_receive(), events:case_receive(), deadline:case_receive()}
    if r.channel == deadline then
      return nil, string.format("round %d: %d jobs unfinished after 20s", n, left)
    elseif r.channel == inbox then
      local m = r.value
      if m:topic() == "result" then
        local d = m:payload():data()
        -- A worker of an abandoned round (failed, or stepped down from)
        -- may still report: only this round's results count.
        if d.round == n and sums[d.job] == nil then
          sums[d.job] = d.sum
          left = left - 1
          local node = node_of(d.pid)
          by_node[node] = (by_node[node] or 0) + 1
        end
      end
    else
      local ev = r.value
      local w = running[ev.from]
      if ev.kind == process.event.CANCEL then
        on_cancel(ev)
        return nil, "cancelled"
      elseif w and ev.kind == process.event.EXIT then
        running[ev.from] = nil
        local err = ev.result and ev.result.error
        if err and sums[w.job] == nil then
          logger:warn("worker lost", {job = w.job, node = node_of(ev.from), error = tostring(err)})
          local pid = spawn_job(list, n, w.job, w.next)
          if not pid then return nil, "no node accepted job " .. w.job end
          running[pid] = {job = w.job, next = w.next + 1}
          respawned = respawned + 1
        end
      end
    end
  end
  local total = 0
  for j = 1, JOBS do total = total + sums[j] end
  local spread = {}
  for node, c in pairs(by_node) do spread[#spread + 1] = node .. "=" .. c end
  table.sort(spread)
  logger:info("round done", {round = n, total = total, jobs_by_node = table.concat(spread, ","), respawned = respawned})
  return total
end

-- Hold the name and run rounds until the service stops or the name is
-- revoked; then claim it again, as a standby. Round numbers keep counting
-- across claims so that late results of an old round are never mistaken
-- for new ones.
local function main()
  local n = 0
  while claim() do
    while not (cancelled or revoked) do
      n = n + 1
      local _, err = round(n, nodes())
      if err and not (cancelled or revoked) then logger:error("round failed", {error = err}) end
      if not (cancelled or revoked) then pause("2s") end
    end
    if cancelled then break end
    logger:warn("stepped down", {reason = "name revoked"})
    revoked = false
  end
  return "stopped"
end

return {main = main}
