-- Imported by the worker: a change here outdates the worker too.
return {text = function(version) return "hello from version " .. version end}
