-- Registers NAME as a CONSISTENT (cluster-wide) name for this process and
-- prints the outcome and how long the call took on one line:
--
--   registered NAME PID in MSms
--   refused NAME KIND in MSms: MESSAGE
--
-- KIND is the error kind: ALREADY_EXISTS when another process holds the
-- name, UNAVAILABLE when no Raft quorum answered within
-- cluster.raft.apply_timeout. With "hold" as the second argument a
-- registered name is kept until stdin ends; the program then exits, and
-- the name is released with it. Exit status 0 when registered, 1 when not.
local io = require("io")
local time = require("time")

local function main(name, mode)
  if not name or name == "" then
    io.eprint("usage: claim:main NAME [hold]")
    return 2
  end
  local t0 = time.now()
  local ok, err = process.registry.register(name, process.pid(), process.registry.CONSISTENT)
  local ms = time.now():sub(t0):milliseconds()
  if not ok then
    io.print(string.format("refused %s %s in %dms: %s", name, err:kind(), ms, tostring(err)))
    return 1
  end
  io.print(string.format("registered %s %s in %dms", name, process.pid(), ms))
  io.flush()
  if mode == "hold" then
    while io.readline() do end
  end
  return 0
end

return {main = main}
