// Package entry loads a wippyd source tree: the YAML entry files of a Wippy
// app and the Lua code they name, into a validated Registry.
//
// Use Load(dir, compile) for a directory on disk (what `wippyd run --src`
// does) or LoadFS for an fs.FS (tests, an embedded app). compile is the Lua
// engine's compiler (package node passes it): each Lua source file is
// compiled once at load, and the engine runs what it made without
// compiling again. This package does not know the language. Every *.yaml and *.yml file
// under the root is read, recursively; names starting with a dot are
// skipped. A file holds
//
//	version: "1.0"
//	namespace: app
//	entries:
//	  - name: worker
//	    kind: process.lua
//	    source: file://worker.lua
//
// and each entry gets the id namespace:name. References between entries
// are full ids or bare names in the file's own namespace; the Registry
// stores them resolved to full ids.
//
// Loading is all or nothing: every problem of the tree (bad YAML, missing,
// unknown or mistyped fields, dangling references, cycles, duplicate ids,
// missing source files, Lua syntax errors) is collected and returned as one
// *LoadErrors, sorted by file and line, each printed as
// "file:line: entry-id: message". Kinds that Wippy has and wippyd does not
// implement are skipped with a warning (Registry.Warnings); a reference to
// a skipped entry is an error.
//
// Invariants of a returned Registry: every reference names an entry of an
// accepted kind; requires and imports have no cycles; Services() lists each
// service after those it requires; every Lua source compiled (when Load
// was given a compiler).
//
// A Registry never changes after loading and is safe for concurrent use.
// Entries it returns are shared and must not be modified. Reload reads one
// Lua source again for a hot upgrade and returns it without touching the
// Registry.
package entry
