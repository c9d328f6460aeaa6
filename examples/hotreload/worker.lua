-- The worker: counts the ticks main sends, and when its code changes on
-- disk (wippyd run --watch) upgrades to the new code, keeping the count.
local greeting = require("greeting")

local VERSION = 1

local function main(boss, count)
  process.set_options({upgradable = true})
  process.send(boss, "hello", {greeting = greeting.text(VERSION), count = count or 0})
  count = count or 0
  local inbox, events = process.inbox(), process.events()
  while true do
    local r = channel.select{inbox:case_receive(), events:case_receive()}
    if r.channel == inbox then
      count = count + 1
    elseif r.value.kind == process.event.OUTDATED then
      process.send(boss, "outdated", r.value.sources)
      -- The docs' reaction: a hot swap, carrying the state over.
      process.upgrade(nil, boss, count)
    elseif r.value.kind == process.event.CANCEL then
      return count
    end
  end
end

return {main = main}
