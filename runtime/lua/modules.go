package lua

import (
	"maps"
	"slices"
)

// wippyModules are Wippy's modules (docs: lua/**, the require of each
// page), whether this engine has them or not.
var wippyModules = []string{
	"archive", "base64", "cdc", "cloudstorage", "compress", "contract", "crypto", "ctx", "env",
	"eval_runner", "events", "excel", "exec", "expr", "fs", "funcs", "hash", "html", "http",
	"http_client", "hub", "io", "json", "logger", "metrics", "pg", "queue", "registry", "security",
	"sql", "store", "system", "templates", "text", "time", "treesitter", "tty", "uuid", "websocket",
	"yaml",
}

// Modules returns, sorted, the modules require() loads when an entry
// lists them in modules:, and the always-global libraries (an entry need
// not list them, and may), as an engine builds them (about 1.5 ms).
func Modules() (requirable, global []string) {
	l, err := newLibs(&Engine{})
	if err != nil {
		panic(err) // the engine's own Lua helpers do not compile
	}
	return slices.Sorted(maps.Keys(l.required)), slices.Sorted(maps.Keys(l.globals))
}

// WippyModules lists, sorted, the modules of Wippy's Lua API, this
// engine's and those it does not have (require of one of those fails).
func WippyModules() []string { return slices.Clone(wippyModules) }
