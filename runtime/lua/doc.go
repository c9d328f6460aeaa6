// Package lua runs Wippy Lua entries as processes: a Lua process is a
// proc.Behavior the runtime steps like any other.
//
// # Usage
//
// The node builds one Engine and asks it for behaviours:
//
//	eng, err := lua.New(lua.Config{Catalog: cat, Logger: log, Terminal: term, TerminalHosts: []string{"app:terminal"}})
//	b, err := eng.Behavior("app:worker", args) // cheap: allocates; compiles on a cache miss
//	rt.Spawn(proc.SpawnRequest{Entry: "app:worker", Behavior: b})
//
// The Catalog gives the engine an entry's source (code, method, modules
// allowlist, imports) and reloads it from disk for process.upgrade(nil).
// A loader compiles each source once with Compile (the node's entry loader
// does, so syntax errors are found at load) and hands the Chunk over in
// Source.Chunk; a Source without one is compiled at its first spawn.
// Compiled prototypes are cached per (entry, source version) and shared by
// every process.
//
// # How a process runs
//
// A process owns one small gopher-lua state (minimum options, with the
// globals and registry tables NewState pre-sizes replaced by empty ones);
// its globals read the node's shared libraries through a locked metatable,
// and each library is seen through a per-process read-only proxy. Step
// routes the batch of deliveries (messages to process.listen channels or
// the inbox, EXIT/LINK_DOWN/CANCEL to the events channel, timers to what
// waits on them), then resumes every coroutine that became runnable, on a
// driver state borrowed for the Step, until each is blocked or main
// returns. There is no goroutine per process: a blocking call records what
// it waits for and yields (see coro.go for how this works through pcall,
// xpcall and coroutines). Timers are the runtime's (Env.StartTimer).
//
// Where a yield is impossible (a metamethod, a generic-for iterator, a
// table.sort comparator or another Go->Lua callback), a blocking call waits
// on the worker goroutine inside Env.Blocking, taking deliveries from the
// Env if it implements Receiver; without Receiver it raises (time.sleep
// alone falls back to sleeping the goroutine).
//
// # Invariants
//
//   - One runner per process: the runtime never runs Step or Kill of a
//     process on two goroutines at once (its idle -> ready state CAS). A
//     Lua state is not safe for concurrent use, and nothing in this
//     package locks it; this invariant is what makes it safe. Interrupt is
//     the only method called from other goroutines; it only swaps an atomic
//     pointer the interpreter polls.
//   - Everything the Engine shares between processes (library tables,
//     metatables, prototypes, the Lua helper functions) is never written
//     after New returns, and no Lua code can reach it for writing: proxies,
//     locked metatables, nested tables turned into read-only userdata, no
//     getfenv/setfenv/load/debug.
//   - A thread returned to the engine's pool has no frames and is reset
//     (G, Env, context) before it serves another process.
//   - No package-level mutable state: two engines in one process do not
//     interfere.
//
// # Differences from stock Lua 5.1
//
// print goes to the node's structured log. coroutine.create returns a
// userdata handle (type "userdata", tostring "thread: ..."), not a raw
// thread. A yield across pcall inside a coroutine is allowed (as in 5.2).
// assert raises a non-string message (an error object) as is. _G has a
// locked metatable (no strict-mode setmetatable(_G, ...)) and pairs(_G)
// lists only the process's own globals; library tables are read-only views
// that pairs() sees as empty, and tables nested in them (process.event,
// process.registry, payload.format) are read-only userdata. setmetatable
// accepts tables only, as in 5.1.
//
// Messages moved into a process's inbox and listen channels count against
// its host's max_mailbox until the process receives them (Held); EXIT and
// other events are not bounded. process.listen(topic) also takes the
// messages of that topic still unread in the inbox.
// getfenv, setfenv, load, loadstring, loadfile, dofile, module, package,
// newproxy, debug, collectgarbage and Lua's io are absent; require only
// loads listed modules and imported library entries.
//
// # Limits
//
// The node survives its processes (docs/lua-decisions.md, "Limits"):
// gopher-lua calls the process's context before every instruction, and
// that hook (hook.go) interrupts, grows the call stack up to CallStackSize,
// and prices concatenations; nested pcall/resume calls, which are Go
// recursion, stop at MaxNesting; each process has a memory account
// (memory.go, walk.go) bounded by its host's max_memory; pattern matching
// and the large string builtins are this package's own and stop when the
// process must (strlib.go, package pattern); a turn past the time slice
// runs on one of Config.Lanes lanes, taking turns (lanes.go).
//
// # Hot reload
//
// Engine.Outdate records, for the processes that opted in with
// process.set_options({upgradable = true}), that their code changed, and
// returns the ones to wake (Runtime.Wake); each turns it into one
// OUTDATED event when it next runs, merged into the one still unread in
// its events channel if there is one (outdated.go).
//
// # Security
//
// The runtime checks what a process asks of it (spawn, send, link,
// monitor, terminate, cancel, local names) against the process's actor and
// policies (SPEC section 8); a denial comes back as a PERMISSION_DENIED
// error object. This package adds the checks the runtime cannot see, through
// proc.Env.Authorize: io on the terminal host's id, env.get and env.set on
// the variable name (lualib), process.context for with_context and
// with_options, network.select for a network option, process.security for
// :with_actor and :with_scope, a destination named for
// monitor/link/terminate/cancel (the name, before the runtime checks the
// PID), process.spawn on the entry of an upgrade, and the security
// module's own actions. The security module (securitylib.go, secscope.go)
// answers security.actor(), scope(), can, new_actor, new_scope, policy and
// named_scope, with Scope and Policy objects whose evaluate reads the
// policies alone; :with_actor(a) and :with_scope(s) make the runtime narrow
// the child's context. The ctx module (ctxlib.go) reads the context values
// the process was spawned with (proc.Env.Context).
package lua
