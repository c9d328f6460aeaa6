-- wippyd run --src examples/workqueue -x queue:submit [WORKERS] [JOBS]
--
-- Waits until the group "workers" has WORKERS members (default 1), on any
-- node: a monitor gives the members now and then every join and leave,
-- with nothing lost in between. Then it hands out JOBS jobs (default 6)
-- round-robin, collects every result, and asks each worker with a single
-- broadcast how many jobs it ran.
local pg = require("pg")
local io = require("io")
local time = require("time")

local function sorted_keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- Waits for `want` members of "workers"; returns their PIDs, sorted.
local function wait_for_workers(group, want)
  local sub, members = assert(group:monitor("workers"))
  local have = {}
  for _, pid in ipairs(members) do have[tostring(pid)] = true end
  local deadline = time.after("15s")
  while #sorted_keys(have) < want do
    local r = channel.select{sub:channel():case_receive(), deadline:case_receive()}
    if r.channel == deadline then
      sub:close()
      return nil, string.format("%d of %d workers after 15s", #sorted_keys(have), want)
    end
    local ev = r.value
    for _, pid in ipairs(ev.data.PIDs) do
      have[tostring(pid)] = ev.kind == "member.joined" or nil
    end
  end
  sub:close()
  return sorted_keys(have)
end

local function main(workers, jobs)
  workers, jobs = tonumber(workers) or 1, tonumber(jobs) or 6
  local group = assert(pg.open("queue:pg"))
  local list, err = wait_for_workers(group, workers)
  if not list then
    io.print("no workers: " .. err)
    return 1
  end
  local nodes = {}
  for _, pid in ipairs(list) do nodes[string.match(pid, "^{([^@|]+)@")] = true end
  io.print(string.format("workers: %d, on %s", #list, table.concat(sorted_keys(nodes), ", ")))

  for id = 1, jobs do
    local worker = list[(id - 1) % #list + 1]
    process.send(worker, "job", {reply_to = process.pid(), id = id, n = id * 100})
  end
  local results, inbox = {}, process.inbox()
  local deadline = time.after("15s")
  for _ = 1, jobs do
    local r = channel.select{inbox:case_receive(), deadline:case_receive()}
    if r.channel == deadline then
      io.print("results missing after 15s")
      return 1
    end
    local res = r.value:payload():data()
    results[res.id] = res
  end
  for id = 1, jobs do
    io.print(string.format("job %d: the squares of 1..%d sum to %d (ran on %s)", id, id * 100, results[id].sum, results[id].node))
  end

  -- One broadcast reaches every worker, on every node; each answers.
  assert(group:broadcast("workers", "report", process.pid()))
  local counts = {}
  for _ = 1, #list do
    local r = channel.select{inbox:case_receive(), deadline:case_receive()}
    if r.channel == deadline then
      io.print("reports missing after 15s")
      return 1
    end
    local c = r.value:payload():data()
    counts[#counts + 1] = string.format("%s ran %d", c.node, c.done)
  end
  table.sort(counts)
  io.print("workers report: " .. table.concat(counts, ", "))
  return 0
end

return {main = main}
