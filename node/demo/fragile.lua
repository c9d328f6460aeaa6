local function main()
  local m = process.inbox():receive()
  if m:topic() == "crash" then
    error("something went wrong")
  end
  return "all good"
end
return {main = main}
