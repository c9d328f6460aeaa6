package runtime

import (
	"slices"
	"sync"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// names is the node-local name registry: one name -> one process; a
// process may hold several names, released when it ends.
type names struct {
	mu sync.RWMutex
	m  map[string]*process
}

// register gives name to p. Registering a name p already holds is a no-op.
func (rt *Runtime) registerLocal(name string, p *process) error {
	if name == "" {
		return ErrBadName
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

// unregisterLocal releases name, whoever holds it (as Erlang's unregister).
func (rt *Runtime) unregisterLocal(name string) error {
	rt.names.mu.Lock()
	p, ok := rt.names.m[name]
	if !ok {
		rt.names.mu.Unlock()
		return proc.Errorf(proc.KindNotFound, ErrNameNotFound.Retryable, "name not found: %s", name)
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

// lookupLocal resolves a local name.
func (rt *Runtime) lookupLocal(name string) (pid.PID, bool) {
	rt.names.mu.RLock()
	p, ok := rt.names.m[name]
	rt.names.mu.RUnlock()
	if !ok {
		return pid.PID{}, false
	}
	return p.pid, true
}

// resolve finds the PID a name means for sends: the local replica of the
// cluster-wide table first, then the local table (SPEC section 9).
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
