package runtime

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Names (SPEC section 9). The LOCAL scope is the table below; the cluster
// scopes are the NameService's (node composes it from registry/eventual
// and registry/raftreg). Every read is local: a name resolves from this
// node's tables, the most authoritative plane first, and never waits for
// the network.

// names is the node-local name registry: one name -> one process; a
// process may hold several names, released when it ends.
type names struct {
	mu sync.RWMutex
	m  map[string]*process
}

// Errors of the name calls.
var (
	// ErrNoCluster answers a cluster scope on a node without a cluster.
	ErrNoCluster = proc.NewError(proc.KindUnavailable, "no cluster: cluster-wide names need a clustered node", msg.False)
	// ErrBadScope: a scope that is not one of the four.
	ErrBadScope = proc.NewError(proc.KindInvalid, "unknown name scope", msg.False)
	// ErrNotHolder: unregister of a name another process holds, by a
	// caller its host does not allow to release it.
	ErrNotHolder = proc.NewError(proc.KindPermissionDenied, "the name is held by another process", msg.False)
)

// clusterTimeout bounds a call to the cluster name service from a
// process; the service itself answers within its apply timeout.
const clusterTimeout = 30 * time.Second

// checkName returns ErrBadName unless name is 1 to proc.MaxNameLen bytes,
// and ErrBadScope for an unknown scope.
func checkName(name string, scope proc.Scope) error {
	if !proc.ValidName(name) {
		return ErrBadName
	}
	if !scope.Valid() {
		return ErrBadScope
	}
	return nil
}

// Register implements proc.Env: process.registry.foreign on another
// target, then the scope's register action on the name.
func (p *process) Register(name string, target pid.PID, scope proc.Scope) error {
	if err := checkName(name, scope); err != nil {
		return err
	}
	if target.IsZero() {
		target = p.pid
	}
	if target != p.pid {
		if err := p.authorizeTarget(security.ActionRegisterForeign, target, ""); err != nil {
			return err
		}
	}
	if err := p.authorize(scope.RegisterAction(), name); err != nil {
		return err
	}
	if scope == proc.ScopeLocal {
		return p.rt.Register(name, target)
	}
	ns := p.rt.cfg.Names
	if ns == nil {
		return ErrNoCluster
	}
	var err error
	p.clusterCall(scope, func(ctx context.Context) { err = ns.Register(ctx, scope, name, target) })
	if err == nil && p.rt.isLocal(target) && p.rt.local(target) == nil {
		// The target ended while its name was being registered, after its
		// exit released its names: release this one too.
		ns.ReleasePID(target)
	}
	return err
}

// Unregister implements proc.Env: the scope's unregister action on the
// name; a name another process holds is released only when the guard
// allows it (Guard.AuthorizeRelease: the holder's host must say so).
func (p *process) Unregister(name string, scope proc.Scope) error {
	if err := checkName(name, scope); err != nil {
		return err
	}
	if err := p.authorize(scope.UnregisterAction(), name); err != nil {
		return err
	}
	ns := p.rt.cfg.Names
	if scope.Cluster() && ns == nil {
		return ErrNoCluster
	}
	var holder pid.PID
	var held bool
	if scope == proc.ScopeLocal {
		holder, held = p.rt.lookupLocal(name)
	} else {
		holder, held = ns.Holder(scope, name)
	}
	owner := p.pid
	if held && holder != p.pid {
		if err := p.rt.guard.AuthorizeRelease(p.caller(), holder, name); err != nil {
			return proc.Errorf(proc.KindPermissionDenied, msg.False, "%s: %s: %w", ErrNotHolder.Message, name, err)
		}
		owner = holder
	}
	if scope == proc.ScopeLocal {
		return p.rt.unregisterLocal(name, owner)
	}
	var err error
	p.clusterCall(scope, func(ctx context.Context) { err = ns.Unregister(ctx, scope, name, owner) })
	return err
}

// clusterCall runs f, a call to the name service: inside Blocking for the
// Raft scopes, which wait for a commit; EVENTUAL answers at once.
func (p *process) clusterCall(scope proc.Scope, f func(context.Context)) {
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		defer cancel()
		f(ctx)
	}
	if scope == proc.ScopeEventual {
		run()
		return
	}
	p.Blocking(run)
}

// Lookup implements proc.Env: a local read (Runtime.Lookup).
func (p *process) Lookup(name string) (pid.PID, error) { return p.rt.Lookup(name) }

// registerLocal gives name to p. Registering a name p already holds is a
// no-op.
func (rt *Runtime) registerLocal(name string, p *process) error {
	if err := checkName(name, proc.ScopeLocal); err != nil {
		return err
	}
	rt.names.mu.Lock()
	defer rt.names.mu.Unlock()
	if cur, ok := rt.names.m[name]; ok {
		if cur == p {
			return nil
		}
		return proc.Errorf(proc.KindAlreadyExists, ErrNameTaken.Retryable, "name already registered: %s", name)
	}
	p.mu.Lock()
	if p.dead {
		p.mu.Unlock()
		return ErrDeadProcess
	}
	r := p.relations()
	r.names = append(r.names, name)
	p.mu.Unlock()
	rt.names.m[name] = p
	return nil
}

// unregisterLocal releases name if owner holds it; the zero owner releases
// it whoever holds it (the node's own call, as Erlang's unregister).
func (rt *Runtime) unregisterLocal(name string, owner pid.PID) error {
	rt.names.mu.Lock()
	p, ok := rt.names.m[name]
	if !ok {
		rt.names.mu.Unlock()
		return proc.Errorf(proc.KindNotFound, ErrNameNotFound.Retryable, "name not found: %s", name)
	}
	if !owner.IsZero() && p.pid != owner {
		// Another process took the name between the check and now.
		rt.names.mu.Unlock()
		return proc.Errorf(proc.KindPermissionDenied, msg.False, "%s: %s", ErrNotHolder.Message, name)
	}
	delete(rt.names.m, name)
	rt.names.mu.Unlock()
	p.mu.Lock()
	if p.rel != nil {
		if i := slices.Index(p.rel.names, name); i >= 0 {
			p.rel.names = slices.Delete(p.rel.names, i, i+1)
		}
	}
	p.mu.Unlock()
	return nil
}

// releaseNames drops the names of an ended process.
func (rt *Runtime) releaseNames(p *process, held []string) {
	if len(held) == 0 {
		return
	}
	rt.names.mu.Lock()
	for _, n := range held {
		if rt.names.m[n] == p {
			delete(rt.names.m, n)
		}
	}
	rt.names.mu.Unlock()
}

// lookupLocal resolves a LOCAL name.
func (rt *Runtime) lookupLocal(name string) (pid.PID, bool) {
	rt.names.mu.RLock()
	p, ok := rt.names.m[name]
	rt.names.mu.RUnlock()
	if !ok {
		return pid.PID{}, false
	}
	return p.pid, true
}

// LocalName returns the holder of a LOCAL name.
func (rt *Runtime) LocalName(name string) (pid.PID, bool) { return rt.lookupLocal(name) }

// resolve finds the PID a name means, on this node alone: the cluster
// planes first (CONSISTENT and STRONG, then EVENTUAL), then LOCAL, so a
// cluster-wide name shadows a local one of the same string.
func (rt *Runtime) resolve(name string) (pid.PID, error) {
	if name == "" {
		return pid.PID{}, ErrBadName
	}
	if rt.cfg.Names != nil {
		if p, ok := rt.cfg.Names.Resolve(name); ok {
			return p, nil
		}
	}
	if p, ok := rt.lookupLocal(name); ok {
		return p, nil
	}
	return pid.PID{}, proc.Errorf(proc.KindNotFound, ErrNameNotFound.Retryable, "name not found: %s", name)
}

// NamesOf returns the local names p holds, sorted.
func (rt *Runtime) NamesOf(p pid.PID) []string {
	pr := rt.local(p)
	if pr == nil {
		return nil
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.rel == nil {
		return nil
	}
	out := slices.Clone(pr.rel.names)
	slices.Sort(out)
	return out
}
