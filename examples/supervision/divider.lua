-- A worker that divides 100 by each number it receives and sends the
-- result back. It has two ways to fail: a Lua error (division by zero is
-- refused by hand, since Lua would return inf), and returning an error
-- object for input that is not a number.
local function main()
  local inbox = process.inbox()
  local handled = 0
  while true do
    local m = inbox:receive()
    if m:topic() == "stop" then
      return handled
    end
    local n = m:payload():data()
    if type(n) ~= "number" then
      return nil, errors.new{kind = errors.INVALID, message = "not a number: " .. tostring(n)}
    end
    if n == 0 then
      error("division by zero")
    end
    handled = handled + 1
    process.send(m:from(), "result", 100 / n)
  end
end

return {main = main}
