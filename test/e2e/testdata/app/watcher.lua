-- Spawns a sleeper on `host` linked and monitored, with links trapped,
-- tells `report` it is watching, then reports every event it gets.
local time = require("time")

local function main(report, host)
  process.set_options({trap_links = true})
  local pid, err
  for _ = 1, 100 do
    pid, err = process.spawn_linked_monitored("app:sleeper", host)
    if pid then break end
    time.sleep("100ms")
  end
  if not pid then
    process.send(report, "watch_failed", {node = process.pid(), err = tostring(err)})
    return nil, err
  end
  process.send(report, "watching", {watcher = process.pid(), target = pid})
  local events = process.events()
  local seen = {}
  while not (seen.EXIT and seen.LINK_DOWN) do
    local ev = events:receive()
    if ev.from == pid and (ev.kind == process.event.EXIT or ev.kind == process.event.LINK_DOWN) then
      seen[ev.kind] = true
      process.send(report, "event", {watcher = process.pid(), kind = ev.kind, error = tostring(ev.result and ev.result.error)})
    end
  end
  return "done"
end

return {main = main}
