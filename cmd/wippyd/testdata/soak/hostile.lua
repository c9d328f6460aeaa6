-- A hostile process: runs one of issue 13's bombs over and over.
local bombs = {
  -- coroutine.resume nested until the nesting cap.
  resume = function()
    local function f()
      local co = coroutine.create(f)
      local ok, e = coroutine.resume(co)
      if not ok then error(e, 0) end
    end
    f()
  end,
  rep = function() return string.rep("x", 2^31 - 1) end,
  -- 100 MB strings, kept.
  hundred = function()
    local t = {}
    for i = 1, 100 do t[i] = string.rep("x", 100 * 2^20) end
  end,
  -- Backtracks for minutes: only terminate or the node's stop ends it.
  pattern = function() return string.find(("a"):rep(30), ("a*"):rep(30) .. "b") end,
  -- Fills a process that never reads (max_mailbox 1000).
  flood = function(sink) for i = 1, 100000 do process.send(sink, "flood", i) end end,
  -- Metamethod recursion (Go recursion) in each of many nested pcalls.
  meta = function()
    local f
    local function g(level, n)
      local t = setmetatable({}, {__index = function(t, k)
        if k == 0 then return f(level + 1) end
        return t[k - 1]
      end})
      return t[n]
    end
    f = function(level)
      local ok, r = pcall(g, level, 19000)
      if not ok then error(r, 0) end
      return r
    end
    return f(0)
  end,
  recurse = function()
    local function r(n) return 1 + r(n + 1) end
    return r(1)
  end,
  format = function() return string.format("%d %s %99.99f", nil, {}, 1) end,
  gsub = function() return (("a"):rep(30e6):gsub("a", "%0%0")) end,
  concat = function()
    local s = ("x"):rep(1000)
    while true do s = s .. s end
  end,
  -- Grows until the memory bound ends the process (it is started again).
  tables = function()
    local t, i = {}, 0
    while true do i = i + 1; t[i] = {i, tostring(i)} end
  end,
}

return {main = function(kind, sink)
  local bomb = bombs[kind]
  while true do pcall(bomb, sink) end
end}
