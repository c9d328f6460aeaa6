-- Runs on app:user and tries to reach the counter on app:system in every
-- way a process can, sending the outcome of each attempt to the
-- orchestrator on the terminal host (which no policy keeps it from).
local function main(orchestrator)
  local tried = 0
  local function try(what, ok, err)
    local outcome = {what = what, kind = "ok", message = ""}
    if not ok then
      outcome.kind, outcome.message = err:kind(), tostring(err)
    end
    local sent, serr = process.send(orchestrator, "result", outcome)
    if not sent then error(serr) end
    tried = tried + 1
  end

  -- Looking a name up is not aimed at the process: it is allowed.
  local counter, err = process.registry.lookup("counter")
  if not counter then return nil, err end

  -- Refused by the user host's policy (caller-host side).
  try("send by PID", process.send(counter, "hello"))
  try("send by name", process.send("counter", "hello"))
  try("spawn on app:system", process.spawn("app:stowaway", "app:system"))
  try("spawn_linked on app:system", process.spawn_linked("app:stowaway", "app:system"))

  -- Refused by the system host's policy (target-host side).
  try("link", process.link(counter))
  try("monitor", process.monitor(counter))
  try("cancel by name", process.cancel("counter", "go away"))
  try("terminate by PID", process.terminate(counter))
  try("terminate by name", process.terminate("counter"))

  -- Taking the name: only its holder releases it (or a caller the
  -- holder's host allows explicitly), so the intruder cannot register it
  -- for itself and receive what is sent to "counter".
  try("unregister the counter's name", process.registry.unregister("counter"))
  try("register the counter's name", process.registry.register("counter"))

  return tried
end

return {main = main}
