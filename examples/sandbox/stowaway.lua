-- Would say hello to the counter, if it were ever allowed to run on
-- app:system.
local function main()
  process.send("counter", "hello from a stowaway")
end

return {main = main}
