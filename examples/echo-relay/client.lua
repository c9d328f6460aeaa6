-- The terminal side: start the relay, send it every line of stdin, then
-- collect one reply per line and print them in input order.
local io = require("io")

local inbox = process.inbox()
local events = process.events()

-- wait for the next message with the given topic
local function expect(topic)
  while true do
    local m = inbox:receive()
    if m:topic() == topic then return m end
  end
end

local function main(pool)
  pool = tonumber(pool) or 3

  -- The relay tells us when its name is registered and its pool is up;
  -- only then is process.send("relay", ...) sure to find it.
  local relay, err = process.spawn_monitored("relay:relay", "relay:processes", process.pid(), pool)
  if err then return nil, err end
  expect("ready")
  io.print(string.format("relay is up with %d workers", pool))

  -- Send everything first: the workers handle lines concurrently.
  local sent = 0
  while true do
    local line = io.readline()
    if line == nil then break end
    sent = sent + 1
    local ok, serr = process.send("relay", "line", {seq = sent, text = line})
    if not ok then return nil, serr end
  end

  -- Replies come from several workers, so their arrival order varies;
  -- keep them by sequence number and print them in input order.
  local replies = {}
  for _ = 1, sent do
    local r = expect("reply"):payload():data()
    replies[r.seq] = r
  end
  for seq = 1, sent do
    local r = replies[seq]
    io.print(string.format("%d. worker %d: %s", seq, r.worker, r.text))
  end

  -- Ask the relay to stop; it stops its workers and returns how many lines
  -- each one handled, which arrives as the value of its EXIT event.
  process.send("relay", "stop")
  local ev = events:receive()
  if ev.from ~= relay or ev.result.error then
    return nil, errors.new("relay failed: " .. tostring(ev.result.error))
  end
  local counts = {}
  for i, n in ipairs(ev.result.value) do
    counts[#counts + 1] = string.format("worker %d: %d", i, n)
  end
  io.print(string.format("relayed %d lines (%s)", sent, table.concat(counts, ", ")))
  return 0
end

return {main = main}
