-- The relay: a named process that fans lines out to a pool of workers,
-- round robin, telling each worker where to send its reply.
local function main(client, size)
  local ok, err = process.registry.register("relay")
  if not ok then return nil, err end

  local workers = {}
  for i = 1, size do
    local pid, serr = process.spawn_monitored("relay:worker", "relay:processes", i)
    if serr then return nil, serr end
    workers[i] = pid
  end
  process.send(client, "ready")

  local inbox = process.inbox()
  local next_worker = 1
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "line" then
      local job = m:payload():data()
      job.reply_to = m:from()
      process.send(workers[next_worker], "job", job)
      next_worker = next_worker % #workers + 1
    elseif topic == "stop" then
      break
    end
  end

  -- Stop the workers and gather what each returned from its main.
  for _, pid in ipairs(workers) do
    process.send(pid, "stop")
  end
  local index = {}
  for i, pid in ipairs(workers) do index[pid] = i end
  local handled, left, events = {}, #workers, process.events()
  while left > 0 do
    local ev = events:receive()
    local i = index[ev.from]
    if ev.kind == process.event.EXIT and i then
      if ev.result.error then return nil, ev.result.error end
      handled[i] = ev.result.value
      left = left - 1
    end
  end
  return handled
end

return {main = main}
