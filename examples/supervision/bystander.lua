-- Links to a crasher and does not trap links: when the crasher fails, the
-- runtime ends this process too, with the error "link down: <pid>".
local function main()
  local pid, err = process.spawn_linked("sup:crasher", "sup:processes", "the bystander's crasher")
  if err then return nil, err end
  process.send(pid, "crash")
  process.inbox():receive()   -- never returns: the link takes this process down first
  return "unreachable"
end

return {main = main}
