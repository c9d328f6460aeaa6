-- Spawned by main on a node of the cluster, in one of three modes:
--   try    acquire LOCK once, release it, report both outcomes
--   hold   acquire LOCK, report, and end without releasing it
--   turns  ROUNDS times: acquire LOCK (retrying: acquire never waits),
--          tell main "enter" and wait for its go-ahead, tell it "leave"
--          and wait again, then release. So main hears each leave before
--          the next holder's enter, and two enters in a row would be two
--          holders at once.
local system = require("system")
local time = require("time")

local function kind(err)
  return err and err:kind() or "none"
end

local function main(mode, lock, main_pid, rounds)
  if mode == "try" then
    local ok, err = system.lock.acquire(lock)
    local released = system.lock.release(lock)
    process.send(main_pid, "tried", {acquired = ok, kind = kind(err), released = released})
  elseif mode == "hold" then
    local ok, err = system.lock.acquire(lock)
    process.send(main_pid, "holding", {acquired = ok, kind = kind(err)})
    -- Ends here, holding the lock: it is released with the process.
  elseif mode == "turns" then
    local inbox = process.inbox()
    for _ = 1, rounds do
      local tries = 0
      while true do
        local ok, err = system.lock.acquire(lock)
        if ok then break end
        if ok == nil then error(err) end -- not "held by another": give up
        tries = tries + 1
        time.sleep(tries < 10 and "2ms" or "10ms")
      end
      process.send(main_pid, "enter", process.pid())
      inbox:receive()
      process.send(main_pid, "leave", process.pid())
      inbox:receive()
      assert(system.lock.release(lock))
    end
  end
  return mode
end

return {main = main}
