local function main()
  local m = process.inbox():receive()
  process.send(m:from(), "greeting", "hello, " .. m:payload():data() .. "!")
end
return {main = main}
