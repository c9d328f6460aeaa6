package raftreg

import (
	"context"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Disabled is the cluster-wide table of a node that has none (standalone,
// or cluster.raft.enabled: false): every call fails with UNAVAILABLE, not
// retryable, "no cluster registry" (registry.ErrNoClusterRegistry);
// Resolve finds nothing and the releases do nothing. The zero value is
// ready to use.
//
// The runtime itself needs no name service on a standalone node (it
// answers CONSISTENT calls the same way when Config.Names is nil); Disabled
// is for code that wants a registry.Registry regardless.
type Disabled struct{}

var _ registry.Registry = Disabled{} // and runtime.NameService, asserted in package node

func noRegistry(name string) error { return wrap(registry.ErrNoClusterRegistry, name) }

// Register implements registry.Registry.
func (Disabled) Register(_ context.Context, name string, _ pid.PID) error { return noRegistry(name) }

// Unregister implements registry.Registry.
func (Disabled) Unregister(_ context.Context, name string, _ pid.PID) error { return noRegistry(name) }

// Lookup implements registry.Registry.
func (Disabled) Lookup(_ context.Context, name string) (pid.PID, error) {
	return pid.PID{}, noRegistry(name)
}

// List implements registry.Registry.
func (Disabled) List(context.Context) ([]registry.Entry, error) { return nil, noRegistry("") }

// Watch implements registry.Registry.
func (Disabled) Watch(context.Context) (registry.Watcher, error) { return nil, noRegistry("") }

// Resolve implements runtime.NameService.
func (Disabled) Resolve(string) (pid.PID, bool) { return pid.PID{}, false }

// ReleasePID implements runtime.NameService.
func (Disabled) ReleasePID(pid.PID) {}

// ReleaseNode implements runtime.NameService.
func (Disabled) ReleaseNode(string) {}

// OnRevoke implements runtime.NameService.
func (Disabled) OnRevoke(func(string, pid.PID)) {}

// OnClaim implements runtime.NameService.
func (Disabled) OnClaim(func(string, pid.PID)) {}
