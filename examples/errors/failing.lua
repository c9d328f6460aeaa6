-- Ends with an error, in one of three ways.
local function main(how)
  if how == "object" then
    return nil, errors.new{
      kind = errors.CONFLICT,
      message = "order 17 was changed by someone else",
      retryable = true,
      details = {order = 17, version = 3},
    }
  elseif how == "string" then
    return nil, "plain text reason"
  elseif how == "raise" then
    error("raised with error()")
  end
  return "no error"
end

return {main = main}
