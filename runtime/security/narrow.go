package security

import "fmt"

// MaxLayers bounds a chain: how many narrowings a process may descend
// from. A spawn that would make a longer one is refused; a chain from
// another node that is longer is refused as well.
const MaxLayers = 32

// Child returns the identity of the child that parent spawns with s
// (parent nil: a spawn from outside any process, whose child gets s's
// identity as given). A parent passes its own on, or, when s sets an actor
// or a scope, its own with one more layer: the child runs as that actor
// and scope (the parent's where s leaves one out) and every layer before
// still has to allow what it does. Narrowing needs process.security on
// "security"; ScopeIDs this node does not know refuse (a policy missing
// here might be a deny); only a spawn from outside may start a system
// process, and a system parent spawns as the node does.
func (g *Guard) Child(parent *Caller, s *Spawn) (*Identity, error) {
	if s.System {
		if parent != nil {
			return nil, g.refuse(fmt.Errorf("%w: only the node starts system processes", ErrPermissionDenied))
		}
		return systemIdentity, nil
	}
	if parent == nil || parent.Identity.System() {
		return g.given(s)
	}
	a := parent.asker()
	return g.narrow(&a, s)
}

// RemoteChild is Child for a spawn another node asks for: parent is the
// parent there, its chain resolved against this node's table layer by
// layer, so the child's identity is the one this node would give a child
// of that parent, whatever the asking node says it should be. parent nil
// is a spawn from outside any process there (or by a system process):
// the child gets s's identity as given.
func (g *Guard) RemoteChild(parent *RemoteCaller, s *Spawn) (*Identity, error) {
	if s.System {
		return nil, g.refuse(fmt.Errorf("%w: only the node starts system processes", ErrPermissionDenied))
	}
	if parent == nil {
		return g.given(s)
	}
	a, err := g.remote(parent)
	if err != nil {
		return nil, err
	}
	return g.narrow(&a, s)
}

// given is the identity s gives a child from outside any process.
func (g *Guard) given(s *Spawn) (*Identity, error) {
	if !s.narrows() {
		return nil, nil
	}
	scope, err := g.scopeOf(s.Scope, s.ScopeIDs)
	if err != nil {
		return nil, err
	}
	return NewIdentity(Chain{{Actor: s.Actor, Scope: scope}}), nil
}

// narrow is the identity of a child of parent spawned with s.
func (g *Guard) narrow(parent *asker, s *Spawn) (*Identity, error) {
	if !s.narrows() {
		return parent.id, nil
	}
	if !g.Exempt(parent.id) {
		if err := g.decide(parent, nil, ActionSecurity, []string{ResourceSecurity}); err != nil {
			return nil, err
		}
	}
	scope, err := g.scopeOf(s.Scope, s.ScopeIDs)
	if err != nil {
		return nil, err
	}
	// A parent with no identity still has a layer: no actor, no scope.
	// Dropping it would let the child's actor satisfy host policies the
	// parent could not.
	base := Chain{{}}
	if parent.id != nil {
		base = parent.id.chain
	}
	if len(base) >= MaxLayers {
		return nil, g.refuse(fmt.Errorf("%w: a context narrowed more than %d times", ErrPermissionDenied, MaxLayers-1))
	}
	last := base[len(base)-1]
	actor := s.Actor
	if actor == nil {
		actor = last.Actor
	}
	if len(scope) == 0 {
		scope = last.Scope
	}
	return NewIdentity(base.Narrow(actor, scope)), nil
}

// narrows reports whether s sets the child's identity.
func (s *Spawn) narrows() bool {
	return s.Actor != nil || len(s.Scope) > 0 || len(s.ScopeIDs) > 0
}
