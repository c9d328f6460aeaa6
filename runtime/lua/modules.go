package lua

import "slices"

// modules are what an entry's modules: may list for require() to load,
// and globals the always-global libraries (listing one is harmless). A
// test checks both against what the engine builds.
var (
	modules = []string{"ctx", "env", "io", "json", "logger", "pg", "security", "system", "time"}
	globals = []string{"channel", "coroutine", "errors", "math", "os", "payload", "process", "string", "table"}
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

// Modules lists, sorted, the modules require() loads when an entry lists
// them in modules:.
func Modules() []string { return slices.Clone(modules) }

// Globals lists, sorted, the always-global libraries: an entry need not
// list them in modules:, and may.
func Globals() []string { return slices.Clone(globals) }

// WippyModules lists, sorted, the modules of Wippy's Lua API, this
// engine's and those it does not have (require of one of those fails).
func WippyModules() []string { return slices.Clone(wippyModules) }
