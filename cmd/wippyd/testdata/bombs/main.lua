local io = require("io")

local bombs = {
  -- fatal error: out of memory
  rep = function() io.print(#string.rep("x", 2^31 - 1)) end,
  -- fatal error: out of memory
  hundred = function()
    local t = {}
    for i = 1, 100 do t[i] = string.rep("x", 100 * 2^20) end
  end,
  -- fatal error: stack overflow (Go's)
  resume = function()
    local function f()
      local co = coroutine.create(f)
      local ok, e = coroutine.resume(co)
      if not ok then error(e, 0) end
    end
    io.print(pcall(f))
  end,
  -- stopped at about 198 frames
  deep = function()
    local function r(n) if n == 0 then return 0 end return 1 + r(n - 1) end
    local _, e = pcall(r, 1e6)
    io.print(r(10000), e:match("stack overflow$"))
  end,
}

return {main = function(what)
  bombs[what]()
  return 0
end}
