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
package node
