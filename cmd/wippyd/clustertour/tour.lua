-- A tour of a cluster, run on n1: a remote spawn, a cluster-wide name, a
-- message by name across nodes, a node stopped hard, monitors firing
-- noconnection, and the name taken over on another node.
local io = require("io")
local time = require("time")

local inbox, events = process.inbox(), process.events()

-- The next message with topic, within 10s (others stay queued).
local function expect(topic)
  local deadline = time.after("10s")
  while true do
    local r = channel.select{inbox:case_receive(), deadline:case_receive()}
    if r.channel == deadline then error("no '" .. topic .. "' within 10s") end
    if r.value:topic() == topic then return r.value:payload():data() end
  end
end

-- Send "hello" to the name "keeper" until a process on node answers. A
-- node's replica of the names may lag the cluster for a moment: the name
-- may not be there yet, or still name a process on a dead node, whose
-- messages are dropped; so ask again until the answer comes.
local function hello(node)
  for _ = 1, 50 do
    process.send("keeper", "hello", true)
    local deadline = time.after("200ms")
    while true do
      local r = channel.select{inbox:case_receive(), deadline:case_receive()}
      if r.channel == deadline then break end
      local m = r.value
      if m:topic() == "hi" and m:payload():data().node == node then return m:payload():data() end
    end
  end
  error("no answer from 'keeper' on " .. node)
end

local function main()
  io.print("2. this program runs on n1 as " .. process.pid())

  local keeper, err = process.spawn_monitored("tour:keeper", "n2@app:processes", process.pid())
  if err then return nil, err end
  io.print("3. it spawned a keeper on n2: " .. keeper .. " (a remote spawn, monitored)")
  expect("registered")
  io.print("4. the keeper registered the cluster-wide name 'keeper' (CONSISTENT: through Raft, first write wins)")

  local standby, err2 = process.spawn("tour:standby", "n3@app:processes", process.pid(), keeper)
  if err2 then return nil, err2 end
  expect("watching")
  io.print("5. a standby on n3, " .. standby .. ", monitors the keeper")

  local hi = hello("n2")
  io.print("6. sent 'hello' to the name 'keeper' from n1: answered by " .. hi.pid .. " on " .. hi.node)

  process.send("operator", "stop hard", "n2")
  expect("stopped")
  io.print("7. n2 stopped hard: cut off with no goodbye, as a crash or a pulled cable")
  local ev = events:receive()
  io.print("8. n1's monitor of the keeper fired: EXIT from " .. ev.from .. ", error " .. tostring(ev.result.error))
  io.print("   the standby's fired too: " .. expect("keeper down"))

  local new = expect("took over")
  io.print("9. the cluster released the dead node's name; the standby took 'keeper' over: " .. new)
  hi = hello("n3")
  io.print("10. sent 'hello' to 'keeper' again from n1: answered by " .. hi.pid .. " on " .. hi.node)
  io.print("done: sends, names and monitors work across nodes as on one; a node that dies is a noconnection, not a hang.")
  return 0
end

return {main = main}
