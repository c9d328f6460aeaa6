-- Pings app:ponger every 10 ms for the given seconds while app:keeper keeps
-- 20 hostile processes busy, then prints the round trips as JSON.
local io = require("io")
local json = require("json")
local time = require("time")

local function main(seconds, hostiles)
  seconds, hostiles = tonumber(seconds) or 10, tonumber(hostiles) or 20
  local keeper = process.spawn("app:keeper", "app:processes", hostiles)
  local ponger = process.spawn("app:ponger", "app:processes")
  local pongs = process.listen("pong")
  local rtts, lost = {}, 0
  local start = time.now()
  while time.now():sub(start):seconds() < seconds do
    local t0 = time.now()
    process.send(ponger, "ping", #rtts)
    local r = channel.select{pongs:case_receive(), time.after("1s"):case_receive()}
    if r.channel == pongs then
      rtts[#rtts + 1] = time.now():sub(t0):microseconds()
    else
      lost = lost + 1
    end
    time.sleep("10ms")
  end
  table.sort(rtts)
  local function at(q) return rtts[math.max(1, math.ceil(#rtts * q))] end
  io.print(json.encode({count = #rtts, lost = lost, p50_us = at(0.5), p99_us = at(0.99), max_us = rtts[#rtts]}))
  return 0
end

return {main = main}
