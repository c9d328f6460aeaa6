local io = require("io")

local function main(...)
  for i, a in ipairs({...}) do
    io.print(i, a)
  end
  return 0
end

return {main = main
