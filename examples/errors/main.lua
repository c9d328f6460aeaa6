-- Error objects: making them, wrapping them, testing their kind, and how
-- they travel between processes and out of main.
local io = require("io")

local function show(label, err)
  local retry = err:retryable()
  io.print(string.format("   %-26s kind=%s retryable=%s message=%q",
    label, err:kind(), tostring(retry), err:message()))
end

local function main()
  io.print("1. making errors")
  show("errors.new(string)", errors.new("disk full"))
  local missing = errors.new{
    message = "user 42 not found",
    kind = errors.NOT_FOUND,
    retryable = false,
    details = {id = 42},
  }
  show("errors.new{...}", missing)
  io.print("   details.id = " .. missing:details().id)

  io.print("2. wrapping keeps kind, retryable and details")
  local wrapped = errors.wrap(missing, "load profile")
  show("errors.wrap", wrapped)
  io.print("   tostring: " .. tostring(wrapped))
  io.print("   concatenated: " .. "request failed: " .. wrapped)
  io.print("   errors.is(wrapped, NOT_FOUND) = " .. tostring(errors.is(wrapped, errors.NOT_FOUND)))
  io.print("   errors.is(wrapped, INVALID)   = " .. tostring(errors.is(wrapped, errors.INVALID)))
  io.print("   details.id = " .. wrapped:details().id)

  io.print("3. errors the runtime returns")
  local ok, err = process.send("nobody-has-this-name", "hello")
  show("send to an unknown name", err)
  ok, err = process.send(process.pid(), "@reserved")
  show("send with an @ topic", err)
  local _, serr = process.spawn("errs:no_such_entry", "errs:processes")
  show("spawn of a missing entry", serr)

  io.print("4. raised errors and pcall")
  local pok, perr = pcall(function() error(missing) end)
  io.print("   pcall caught an error object: " .. tostring(not pok and errors.is(perr, errors.NOT_FOUND)))
  pok, perr = pcall(function() error("plain string") end)
  io.print("   pcall caught a string: " .. tostring(perr))

  io.print("5. errors crossing processes (EXIT events and exec)")
  local events = process.events()
  for _, how in ipairs({"object", "string", "raise"}) do
    local pid = process.spawn_monitored("errs:failing", "errs:processes", how)
    local ev = events:receive()
    assert(ev.from == pid)
    show("child (" .. how .. ")", ev.result.error)
  end
  local value, xerr = process.exec("errs:failing", "errs:processes", "object")
  io.print("   exec: value = " .. tostring(value) .. ", order = " .. tostring(xerr:details().order))
  value, xerr = process.exec("errs:failing", "errs:processes", "none")
  io.print("   exec: value = " .. tostring(value) .. ", err = " .. tostring(xerr))

  io.print("6. main returns nil, err: exit status 1, the error on stderr")
  return nil, errors.wrap(missing, "errors example gives up")
end

return {main = main}
