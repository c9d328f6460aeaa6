-- Keeps n hostile processes running on app:sandbox, each on a bomb of its
-- own (hostile.lua), and starts a new one for each that ends.
local kinds = {"resume", "rep", "hundred", "pattern", "flood", "recurse", "format", "gsub", "concat", "tables", "meta"}

return {main = function(n)
  local sink = process.spawn("app:sink", "app:sandbox")
  local kind = {}
  local function start(k)
    local pid = process.spawn_monitored("app:hostile", "app:sandbox", k, sink)
    kind[pid] = k
  end
  for i = 1, n do start(kinds[(i - 1) % #kinds + 1]) end
  local events = process.events()
  while true do
    local ev = events:receive()
    if ev.kind == process.event.EXIT and kind[ev.from] then
      local k = kind[ev.from]
      kind[ev.from] = nil
      start(k)
    end
  end
end}
