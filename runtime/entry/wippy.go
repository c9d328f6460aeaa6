package entry

import "slices"

// wippyKinds are the entry kinds of Wippy's entry kinds reference
// (docs: guides/entry-kinds), implemented here or not. An unimplemented
// one is skipped with a warning; a kind that is neither one of these nor
// an implemented kind, but a typo away from an implemented one, is an
// error (a process.luaa would otherwise be skipped and never run).
var wippyKinds = []string{
	"function.lua", "process.lua", "workflow.lua", "library.lua", "module.lua",
	"function.lua.bc", "library.lua.bc", "process.lua.bc", "workflow.lua.bc",
	"http.service", "http.router", "http.endpoint", "http.static",
	"db.sql.sqlite", "db.sql.postgres", "db.sql.mysql", "db.cdc.postgres",
	"store.memory", "store.sql", "store.kv.raft", "store.kv.crdt",
	"queue.driver.memory", "queue.driver.amqp", "queue.driver.sqs", "queue.queue", "queue.consumer",
	"process.host", "process.service", "terminal.host", "pg.scope",
	"temporal.client", "temporal.worker", "config.aws", "cloudstorage.s3",
	"fs.directory", "fs.embed",
	"env.storage.memory", "env.storage.file", "env.storage.os", "env.storage.static", "env.storage.router", "env.variable",
	"template.jet", "template.set",
	"security.policy", "security.policy.expr", "security.token_store",
	"contract.definition", "contract.binding",
	"exec.native", "exec.docker", "function.wat", "function.wasm", "process.wasm",
	"network.socks5", "network.i2p", "network.tailscale",
	"registry.entry", "ns.definition", "ns.requirement", "ns.dependency",
	"view.page", "view.component",
}

// IsWippyKind reports whether kind is one of Wippy's entry kinds.
func IsWippyKind(kind string) bool { return slices.Contains(wippyKinds, kind) }
