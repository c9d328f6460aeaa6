-- wippyd run --src examples/locks -x locks:main [ROUNDS]   (a client of a cluster)
--
-- system.lock's outcomes, then contenders on every node of the cluster
-- taking turns at one lock ROUNDS times each (default 3), checked: never
-- two holders at once. Then a holder that ends without releasing: its
-- lock is free again.
local system = require("system")
local io = require("io")
local time = require("time")

local function show(what, ok, err)
  io.print(string.format("%-42s %s%s", what, tostring(ok), err and (" " .. err:kind()) or ""))
end

-- The nodes that run the app: every member but clients like this one.
local function servers()
  local list = {}
  for _, m in ipairs(assert(system.cluster.members())) do
    if not (m.meta and m.meta.raft_role == "client") then list[#list + 1] = m.id end
  end
  table.sort(list)
  return list
end

-- Spawns a contender on node. This program's node has just joined: until
-- its connection to that node is up, a spawn there fails, so it tries
-- again for a while.
local function spawn_on(node, ...)
  local err
  for _ = 1, 100 do
    local pid
    pid, err = process.spawn("locks:contender", node .. "@locks:processes", ...)
    if pid then return pid end
    time.sleep("50ms")
  end
  error("spawn on " .. node .. ": " .. tostring(err))
end

-- Spawns a contender on node and returns the first message it sends.
local function ask(node, ...)
  spawn_on(node, ...)
  local r = channel.select{process.inbox():case_receive(), time.after("10s"):case_receive()}
  assert(r.ok and r.value, "no answer from a contender on " .. node)
  return r.value:payload():data()
end

local function main(rounds)
  rounds = tonumber(rounds) or 3
  local me = process.pid()
  -- UNAVAILABLE: the cluster has no Raft leader yet (it is forming).
  local ok, err
  for _ = 1, 100 do
    ok, err = system.lock.acquire("migration")
    if ok ~= nil or err:kind() ~= "UNAVAILABLE" or not err:retryable() then break end
    time.sleep("100ms")
  end
  if ok == nil then
    io.print("system.lock needs a cluster: " .. tostring(err))
    return 1
  end
  local nodes = servers()
  io.print("nodes: " .. table.concat(nodes, ", "))

  show('acquire("migration")', ok, err)
  show('acquire("migration") again, as its holder', system.lock.acquire("migration"))
  local t = ask(nodes[1], "try", "migration", me)
  io.print(string.format("%-42s %s %s", "acquire from a process on " .. nodes[1], tostring(t.acquired), t.kind))
  io.print(string.format("%-42s %s", "release from that process", tostring(t.released)))
  show('release("migration")', system.lock.release("migration"))
  show('release("migration") again', system.lock.release("migration"))

  -- Two contenders per node take turns at "report".
  local inbox, contenders = process.inbox(), 0
  for _, node in ipairs(nodes) do
    for _ = 1, 2 do
      spawn_on(node, "turns", "report", me, rounds)
      contenders = contenders + 1
    end
  end
  local inside, turns, overlaps = nil, 0, 0
  local deadline = time.after("30s")
  while turns < contenders * rounds * 2 do
    local r = channel.select{inbox:case_receive(), deadline:case_receive()}
    if r.channel == deadline then
      io.print("contenders stalled")
      return 1
    end
    local m = r.value
    local who = m:payload():data()
    if m:topic() == "enter" then
      if inside then overlaps = overlaps + 1 end
      inside = who
    elseif m:topic() == "leave" then
      if inside ~= who then overlaps = overlaps + 1 end
      inside = nil
    end
    turns = turns + 1
    process.send(who, "go")
  end
  io.print(string.format("%d contenders on %d nodes held \"report\" %d times, %d times two at once",
    contenders, #nodes, math.floor(turns / 2), overlaps))

  -- A holder that ends without releasing.
  local h = ask(nodes[#nodes], "hold", "job-42", me)
  io.print(string.format("%-42s %s", "a process on " .. nodes[#nodes] .. " took \"job-42\"", tostring(h.acquired)))
  local tries = 0
  while not system.lock.acquire("job-42") do
    tries = tries + 1
    if tries > 500 then
      io.print("job-42 still held")
      return 1
    end
    time.sleep("10ms")
  end
  io.print("it ended without releasing; \"job-42\" is free again and now ours")
  return 0
end

return {main = main}
