-- Never reads its mailbox.
local time = require("time")
return {main = function() while true do time.sleep("1h") end end}
