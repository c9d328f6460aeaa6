package security

import "slices"

// Actor is the identity a process runs as. Meta values are scalars: string,
// bool, any integer or float type, or lists of those; conditions compare
// them as numbers when both sides are numbers and as text otherwise. A nil
// meta value counts as absent. An Actor is shared by every process that
// inherits it and must not be modified once in use.
type Actor struct {
	ID   string
	Meta map[string]any
}

// Layer is one (actor, scope) pair of a security context: what one spawner
// gave. A layer travels between nodes as a RemoteLayer: its actor and the
// ids of its scope, which the receiving node resolves against its own
// policies.
type Layer struct {
	Actor *Actor
	Scope []*Policy
}

// RemoteLayer is a Layer as it travels between nodes: its actor and the
// ids of its scope's policies, sorted.
type RemoteLayer struct {
	Actor    *Actor
	ScopeIDs []string
}

// RemoteChain is a Chain as it travels between nodes, every layer,
// outermost first; the receiving node resolves each layer against its own
// policy table and checks every one, as it would for a process of its
// own. Read-only once made: it is shared by every message a process
// sends.
type RemoteChain []RemoteLayer

// scoped reports whether a layer names a policy.
func (c RemoteChain) scoped() bool {
	for _, l := range c {
		if len(l.ScopeIDs) > 0 {
			return true
		}
	}
	return false
}

// Chain is a process's security context: the layer it was given at the
// root (a service's actor and scope, or none) followed by one layer per
// narrowing (:with_actor / :with_scope) between it and that root. Every
// layer must allow an action, so a narrowing can only take permissions
// away. A Chain is shared by the processes that inherit it and never
// modified; Narrow returns a new one.
type Chain []Layer

// Narrow returns c with one more layer. The caller keeps the parent's actor
// or scope in the new layer for whichever of the two it does not replace.
func (c Chain) Narrow(actor *Actor, scope []*Policy) Chain {
	out := make(Chain, len(c), len(c)+1)
	copy(out, c)
	return append(out, Layer{Actor: actor, Scope: scope})
}

// Covers reports whether a policy of some layer's scope covers action
// (see AnyCovers).
func (c Chain) Covers(action Action) bool {
	for _, l := range c {
		if AnyCovers(l.Scope, action) {
			return true
		}
	}
	return false
}

// Actor returns the actor of the innermost layer, the one a process runs
// as; nil for an empty chain.
func (c Chain) Actor() *Actor {
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1].Actor
}

// Identity is a process's security context as the Guard uses it: its
// chain, plus what is derived from it once, at spawn. It is immutable and
// shared by every process that inherits it. A nil *Identity is a process
// with no actor and no policies; every method accepts it.
type Identity struct {
	chain Chain
	// scoped is set when some layer has a policy: the process's checks
	// can then never be skipped.
	scoped bool
	// actor is the actor the process runs as (the last layer's).
	actor *Actor
	// remote is the chain as it travels with the process's traffic to
	// other nodes.
	remote RemoteChain
	// system marks the identity of a process that acts for the node
	// (see Spawn.System): nothing it does is checked.
	system bool
}

// systemIdentity is the identity of every system process.
var systemIdentity = &Identity{system: true}

// NewIdentity returns the identity of chain; nil when no layer has an
// actor or a policy (such a chain decides exactly as no identity).
func NewIdentity(chain Chain) *Identity {
	id := &Identity{chain: chain, actor: chain.Actor(), remote: make(RemoteChain, len(chain))}
	actors := false
	for i, l := range chain {
		actors = actors || l.Actor != nil
		var ids []string
		for _, p := range l.Scope {
			if p == nil {
				continue // the evaluator skips nil entries too
			}
			id.scoped = true
			if !slices.Contains(ids, p.ID()) {
				ids = append(ids, p.ID())
			}
		}
		slices.Sort(ids)
		id.remote[i] = RemoteLayer{Actor: l.Actor, ScopeIDs: ids}
	}
	if !id.scoped && !actors {
		return nil
	}
	return id
}

// Chain returns the layers of the identity (nil for none). Read-only.
func (id *Identity) Chain() Chain {
	if id == nil {
		return nil
	}
	return id.chain
}

// Actor returns the actor the process runs as; nil for none.
func (id *Identity) Actor() *Actor {
	if id == nil {
		return nil
	}
	return id.actor
}

// Scope returns the scope of the layer the process runs as (the last of
// its chain); nil for none. Read-only.
func (id *Identity) Scope() []*Policy {
	if id == nil || len(id.chain) == 0 {
		return nil
	}
	return id.chain[len(id.chain)-1].Scope
}

// Remote returns the chain as it travels to other nodes (nil for none).
// Read-only.
func (id *Identity) Remote() RemoteChain {
	if id == nil {
		return nil
	}
	return id.remote
}

// System reports whether the identity is a system process's.
func (id *Identity) System() bool { return id != nil && id.system }
