package security

import "github.com/wippyd/wippyd/runtime/pid"

// Memo remembers the last check aimed at a process that a goroutine's
// calls were allowed, so that a run of checks with the same question (a
// process sending to one target, a peer's reader delivering one sender's
// messages) is evaluated once. That gives the same answers: a guard's
// configuration never changes, evaluation reads no clock and does no I/O,
// and everything a question is made of is compared by identity only where
// it is read-only once made (an Identity, a Host, a RemoteChain). A
// refusal is never remembered, so every refused call is evaluated and
// counted.
//
// The zero Memo remembers nothing; a nil *Memo is valid and remembers
// nothing. A Memo is for one goroutine at a time.
type Memo struct {
	g *Guard
	// The caller: a process of this node (id, host), or of another node
	// (remote set; node, hostID, chain).
	remote bool
	id     *Identity
	host   *Host
	node   string
	hostID string
	chain  RemoteChain
	// The call.
	action Action
	target pid.PID
	name   string
}

// AuthorizeTarget is g.AuthorizeTarget, answered from m when it holds the
// same question allowed.
func (m *Memo) AuthorizeTarget(g *Guard, c Caller, action Action, target pid.PID, name string) error {
	if g.Exempt(c.Identity) {
		return nil
	}
	if m != nil && m.g == g && !m.remote && m.id == c.Identity && m.host == c.Host &&
		m.action == action && m.target == target && m.name == name {
		return nil
	}
	if err := g.AuthorizeTarget(c, action, target, name); err != nil {
		return err
	}
	if m != nil {
		*m = Memo{g: g, id: c.Identity, host: c.Host, action: action, target: target, name: name}
	}
	return nil
}

// AuthorizeRemote is g.AuthorizeRemote, answered from m when it holds the
// same question allowed. Only an action aimed at a process is remembered.
func (m *Memo) AuthorizeRemote(g *Guard, c RemoteCaller, action Action, target pid.PID, resource string) error {
	if m == nil || target.IsZero() || g.open && !c.Chain.scoped() {
		return g.AuthorizeRemote(c, action, target, resource)
	}
	if m.g == g && m.remote && m.node == c.Node && m.hostID == c.Host && sameChain(m.chain, c.Chain) &&
		m.action == action && m.target == target && m.name == resource {
		return nil
	}
	if err := g.AuthorizeRemote(c, action, target, resource); err != nil {
		return err
	}
	*m = Memo{g: g, remote: true, node: c.Node, hostID: c.Host, chain: c.Chain, action: action, target: target, name: resource}
	return nil
}

// sameChain reports whether a and b are the same chain: the same slice
// (a RemoteChain is read-only once made), or both empty.
func sameChain(a, b RemoteChain) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}
