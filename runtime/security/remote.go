package security

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/wippyd/wippyd/runtime/pid"
)

// RemoteCaller is who, on another node, asks this node for something: the
// sender of an envelope, or the parent of a remote spawn. It is trusted
// only from peers that passed the cluster's authenticated handshake, and
// even then for no more than its chain, which this node resolves and
// checks layer by layer as it would a process of its own.
type RemoteCaller struct {
	// Node is the sending node (the authenticated peer).
	Node string
	// Host is the sender's host id; "" from outside any process.
	Host string
	// Chain is the sender's context, every layer; nil for none.
	Chain RemoteChain
}

// AuthorizeRemote runs the check of SPEC section 8 for one action a caller
// on another node asks of this node, as it runs for a local caller: every
// layer of the caller's chain (its scope ids resolved against the policy
// table; an unknown id denies) with the policies of this node's host of
// the caller's host id, and for a target, the target host's. target is
// the local process acted on (resource is then the name used, or ""); for
// an action not aimed at a process, target is the zero PID and resource
// the entry id (process.spawn*, process.exec) or host id (process.host,
// whose host's policies apply).
func (g *Guard) AuthorizeRemote(c RemoteCaller, action Action, target pid.PID, resource string) error {
	if g.open && !c.Chain.scoped() {
		return nil
	}
	a, err := g.remote(&c)
	if err != nil {
		return err
	}
	switch {
	case !target.IsZero():
		return g.target(&a, action, target, resource)
	case action == ActionHost:
		return g.decide(&a, g.hosts[resource], action, []string{resource})
	}
	return g.decide(&a, nil, action, []string{resource})
}

// AuthorizeRemoteSpawn checks a spawn a caller on another node asks for,
// with every check a local spawn of s gets: the spawn actions (or
// process.exec) on the entry, process.registry.register on the name, and
// process.host on host ("node@host" or a host id; "" = this node's
// default host). c is the parent (RemoteChild gives the child its
// identity and checks the narrowing), or, for a spawn from outside any
// process there, the identity s gives as one layer.
func (g *Guard) AuthorizeRemoteSpawn(c RemoteCaller, s *Spawn, host string) error {
	if g.open && !c.Chain.scoped() {
		return nil
	}
	a, err := g.remote(&c)
	if err != nil {
		return err
	}
	_, hostID := pid.SplitHost(host)
	if hostID == "" && g.first != nil {
		hostID = g.first.id
	}
	return g.spawn(&a, s, hostID)
}

// remote resolves a remote caller on this node: its chain, the policies
// of this node's host of its host id, and its meta.
func (g *Guard) remote(c *RemoteCaller) (asker, error) {
	a := asker{meta: g.metas.get(c.Node, c.Host)}
	if h := g.hosts[c.Host]; h != nil {
		a.host = h.policies
	}
	var err error
	a.id, err = g.resolve(c.Chain)
	return a, err
}

// resolve turns a chain from another node into an identity of this node:
// each layer's scope ids resolved against the table (an id the table
// lacks refuses: a policy missing here might be a deny). The identity
// travels on as rc.
func (g *Guard) resolve(rc RemoteChain) (*Identity, error) {
	if len(rc) == 0 {
		return nil, nil
	}
	if len(rc) > MaxLayers {
		return nil, g.refuse(fmt.Errorf("%w: a chain of %d layers from another node (at most %d)", ErrPermissionDenied, len(rc), MaxLayers))
	}
	id := &Identity{chain: make(Chain, len(rc)), remote: rc}
	for i, l := range rc {
		scope, err := g.scopeOf(nil, l.ScopeIDs)
		if err != nil {
			return nil, err
		}
		id.chain[i] = Layer{Actor: l.Actor, Scope: scope}
		id.scoped = id.scoped || len(scope) > 0
	}
	id.actor = id.chain.Actor()
	return id, nil
}

// remoteMetas keeps the (read-only) meta of remote callers' hosts per
// (node, host), for the first maxRemoteMetas pairs seen: policy conditions
// read it for every signal from another node.
type remoteMetas struct {
	m     sync.Map     // [2]string{node, host} -> map[string]any
	count atomic.Int64 // entries offered to m
	last  atomic.Pointer[remoteMeta]
}

// get returns the meta of a caller on host of node.
func (r *remoteMetas) get(node, host string) map[string]any {
	if l := r.last.Load(); l != nil && l.node == node && l.host == host {
		return l.m // signals come in runs from one sender
	}
	key := [2]string{node, host}
	var m map[string]any
	if v, ok := r.m.Load(key); ok {
		m = v.(map[string]any)
	} else {
		m = map[string]any{"host": host, "node": node}
		if r.count.Add(1) > maxRemoteMetas {
			return m
		}
		r.m.Store(key, m)
	}
	r.last.Store(&remoteMeta{node: node, host: host, m: m})
	return m
}

// remoteMeta is the last meta remoteMetas returned.
type remoteMeta struct {
	node, host string
	m          map[string]any
}

// maxRemoteMetas bounds remoteMetas (peers name the hosts).
const maxRemoteMetas = 4096
