-- Hello on the terminal: arguments arrive both as parameters of main and
-- through io.args(); the number main returns is the exit status.
local io = require("io")

local function main(...)
  local names = {...}
  if #names == 0 then
    io.print("hello, world")
  else
    for i, name in ipairs(names) do
      io.print(string.format("hello, %s (argument %d)", name, i))
    end
  end

  local args = io.args()
  if #args == 0 then
    io.print("io.args() is empty")
  else
    io.print("io.args() has " .. #args .. " argument(s): " .. table.concat(args, ", "))
  end
  io.write("running as ", process.pid(), "\n")
  return 0
end

return {main = main}
