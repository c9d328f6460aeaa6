// Package lualib holds the Lua library modules that need no process
// runtime: value conversion between Lua and msg.Value, error objects and
// the `errors` global, `json`, `payload`, the restricted `os`, `logger`,
// `env`, the pure part of `time`, and the Lua 5.3 math helpers. The Lua
// process behaviour (package runtime/lua) wires them into each process and
// adds the blocking calls (time.sleep, after, timer, ticker).
//
// # Usage
//
// Once per node, with a node-level state used only to allocate:
//
//	lib := lualib.New(nodeL, lualib.Options{Clock: clk, Location: time.UTC})
//	lualib.ExtendMath(nodeL, mathTable)      // before the table is shared
//	for name, t := range lib.Globals() { ... } // errors, payload, os
//	for name, t := range lib.Modules() { ... } // json, time, logger, env
//
// Once per process, after its registry table is in place:
//
//	lib.Bind(L, host) // host implements Host: Logger(), Env()
//
// Go code of the process then converts values with ToValue / FromValue,
// makes error objects with NewError, payloads with NewPayload, times with
// NewTime / NewDuration, reads durations with ParseDuration and turns a
// raised Lua value into an exit error with ErrorFromLua.
//
// # Per-process context
//
// Library functions are shared by every process of a node, so they capture
// nothing per process. What they need from the calling process (its
// slog.Logger carrying PID and entry id, its EnvStore) they find from the
// calling *lua.LState: a state whose context implements Bound carries its
// binding there; otherwise Bind stores one in L.G.Registry under
// RegistryKey, and the registry is shared by all coroutines of that state.
// A state never bound gets a private Lib with default Options and no Host
// on first use (logger lines are dropped, env calls return UNAVAILABLE):
// convenient for tools and tests, but a process must be bound.
//
// # Invariants
//
//   - No package-level mutable state: two nodes (two Libs) in one process
//     do not interfere.
//   - Nothing in a Lib changes after New returns, so its tables, functions
//     and metatables may be read from many goroutines at once. Callers must
//     not write to them either: hand each process read-only views of the
//     module tables, nested tables included (`payload.format` is the only
//     one; all module tables are plain tables, so they can be copied or
//     frozen by walking them). Extend a module by copying it (CopyTable),
//     not in place, once processes run.
//   - Userdata metatables are locked (`__metatable`), so Lua code cannot
//     reach a shared metatable.
//   - Userdata objects (error, Payload, Time, Duration, Location, Logger)
//     belong to one LState; a Payload caches its Lua value.
//   - Values crossing processes are copies: ToValue never keeps a Lua
//     table, FromValue always builds new ones.
//
// Nothing here is safe for concurrent use of one LState; that is the
// process runtime's one-runner-per-process rule.
package lualib
