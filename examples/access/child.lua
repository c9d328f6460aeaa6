-- Spawned by main.lua: returns its context values, its actor and what
-- security.can answers for it, so that main can print them.
local ctx = require("ctx")
local security = require("security")

local function keys(t)
  local out = {}
  for k, v in pairs(t) do table.insert(out, k .. "=" .. tostring(v)) end
  table.sort(out)
  return table.concat(out, ", ")
end

local function main(depth)
  local values = ctx.all()
  local id = ctx.get("request_id")
  local _, missing = ctx.get("nope")
  local actor = security.actor()
  local report = {
    context = keys(values),
    request_id = id,
    missing = missing:kind(),
    actor = actor and actor:id() or "none",
    read = security.can("users.read", "users"),
    confidential = security.can("read", "document:1", {classification = "confidential"}),
  }
  if depth > 0 then
    -- A plain spawn passes the context on.
    local grandchild, err = process.exec("app:child", "app:workers", depth - 1)
    if err then return nil, err end
    report.grandchild = grandchild.context
  end
  return report
end

return {main = main}
