local io = require("io")
-- Prints whether a string of mib MiB can be made, or the error.
return {main = function(mib)
  local ok, e = pcall(string.rep, "x", tonumber(mib) * 2^20)
  io.print(ok and "made" or tostring(e))
  return 0
end}
