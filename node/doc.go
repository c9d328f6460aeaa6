// Package node is the composition root of a wippyd node: it turns a Config
// into a running runtime and, as later parts land, the entry registry and
// Lua engine, the cluster, the name service and the admin endpoint, and
// starts and stops them in order. It holds no algorithms of its own.
//
// cmd/wippyd imports node only: flags and the config file become a Config
// (LoadConfig), New builds the node, Start runs it, Stop stops it.
//
//	cfg, err := node.LoadConfig(node.LoadOptions{File: "wippy.yaml", Env: os.Environ()})
//	n, err := node.New(cfg)
//	err = n.Start()
//	defer n.Stop(ctx)
//
// # Embedding
//
// DefaultConfig suits a deployed node (every interface, fixed ports, an
// admin endpoint, Raft in ./data/raft, info logs). A node inside a Go
// program or a test starts from LoopbackConfig instead: loopback only,
// ephemeral ports, no admin endpoint, Raft in memory, warnings and errors
// only. Two nodes in one process:
//
//	ca := node.LoopbackConfig("a")
//	ca.Cluster.Enabled = true
//	a, _ := node.New(ca)
//	a.Start()
//	cb := node.LoopbackConfig("b")
//	cb.Cluster.Enabled = true
//	cb.Cluster.Membership.JoinAddrs = []string{a.MembershipAddr()}
//	b, _ := node.New(cb)
//	b.Start()
//	err := b.WaitNodes(ctx, "a") // the session is up: sends to a arrive
//
// Start returns before the cluster has formed. A send to a node that is
// known but not connected is dropped and counted, not an error (as in
// Erlang), so wait with WaitNodes before a first send to another node.
// examples/embed is a whole program.
//
// # Hot reload
//
// With Config.Node.Watch and WithSourceDir, Start watches the source tree
// (watch.go: fsnotify, a debounce core) and reloads it after each burst
// of changes (reload.go): the entry loader again, a diff of the trees, the
// new Lua entries served, and the upgradable processes of what changed
// told through lua.Engine.Outdate and Runtime.Wake. A tree that does not
// load changes nothing and is logged; Stop stops the watcher first.
//
// # Observer
//
// The admin endpoint serves a web page (GET /, observer_ui/ embedded) and
// the JSON behind it (observer_http.go, docs/admin.md). observer.go works
// out each view from local reads (runtime.ProcessPage and Process, the
// node's status, names and groups) and a 2 s rate sampler; a view of
// another node is asked of it over the internode transport's observer
// stream (observer_mesh.go, frames in observer_wire.go). Actions need the
// admin token and are logged where they act.
package node
