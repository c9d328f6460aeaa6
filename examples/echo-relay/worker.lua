-- A worker: upper-cases each line it is given and replies to whoever the
-- relay named; when told to stop it returns how many lines it handled.
local function main(index)
  local inbox = process.inbox()
  local handled = 0
  while true do
    local m = inbox:receive()
    if m:topic() == "job" then
      local job = m:payload():data()
      handled = handled + 1
      process.send(job.reply_to, "reply", {seq = job.seq, worker = index, text = string.upper(job.text)})
    elseif m:topic() == "stop" then
      return handled
    end
  end
end

return {main = main}
