local function main(label)
  local m = process.inbox():receive()
  if m:topic() == "crash" then
    error(label .. " crashed on purpose")
  end
  return label .. " finished"
end

return {main = main}
