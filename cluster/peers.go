package cluster

// peerTable is the pure core that decides what the cluster does when a
// member or a transport session comes or goes. It does no I/O and starts
// nothing: each event returns effects, which the Cluster applies in order
// while it holds the table's lock, so effects of successive events never
// interleave.
//
// A peer's life is its node name plus the boot id of one start. Rules:
//   - NodeDown (effDown) happens once per transition of a life from up to
//     down: when membership declares it failed or left, when its transport
//     session is lost (queue overflow, the peer abandoned us, a restart), or
//     when a new boot id shows the old life is gone.
//   - A life downed by membership comes back only through membership (a
//     refuted failure, a rejoin): a node that left may still accept a
//     connection for a moment and must not be revived by it. A life
//     downed by its transport session comes back when a session is up
//     again. A new boot id, seen either way, is a new life, up at once.
//   - Session losses this side caused (ErrAbandoned) are the echo of a
//     down already decided, and are ignored.
//   - A boot id once replaced by another never comes back (it is drawn at
//     each start), so news about it is stale and ignored: membership and
//     the transport report independently, and a session-up of the old life
//     may arrive after membership announced the new one.
//   - A node never seen (neither member nor session) is unknown; one seen
//     and down is known.
type peerTable struct {
	self  string
	peers map[string]*peerState
}

type peerState struct {
	boot       uint64 // the current life's boot id; 0 = not known yet
	up         bool
	memberDown bool   // the current life was downed by membership
	addr       string // last internode address membership gave
	past       [pastLives]uint64
	npast      int
}

// pastLives is how many replaced boot ids a peer remembers; stale news
// older than that many restarts is not expected.
const pastLives = 8

// isPast reports whether boot is a replaced life of p.
func (p *peerState) isPast(boot uint64) bool {
	if boot == 0 {
		return false
	}
	for _, b := range p.past {
		if b == boot {
			return true
		}
	}
	return false
}

// replace makes boot the current life, remembering the one it replaces.
func (p *peerState) replace(boot uint64) {
	if p.boot != 0 && boot != p.boot {
		p.past[p.npast%pastLives] = p.boot
		p.npast++
	}
	p.boot = boot
}

type effectKind uint8

const (
	effKnown   effectKind = iota + 1 // the node is known (down)
	effUp                            // the life is up: route to it
	effDown                          // the life is gone: stop routing, NodeDown, fail its spawns
	effAbandon                       // abandon the transport session
	effConnect                       // keep a connection to addr
)

type effect struct {
	kind effectKind
	node string
	addr string
	boot uint64
}

func newPeerTable(self string) *peerTable {
	return &peerTable{self: self, peers: map[string]*peerState{}}
}

func (t *peerTable) memberUp(node, addr string, boot uint64) []effect {
	if node == t.self || node == "" {
		return nil
	}
	var out []effect
	p := t.peers[node]
	if p == nil {
		p = &peerState{}
		t.peers[node] = p
		out = append(out, effect{kind: effKnown, node: node})
	}
	if p.isPast(boot) {
		return out
	}
	if p.up && boot != 0 && p.boot != 0 && boot != p.boot {
		// A restart membership saw first: the old life is gone.
		out = append(out, effect{kind: effDown, node: node, boot: p.boot}, effect{kind: effAbandon, node: node})
		p.up = false
	}
	if boot != 0 {
		p.replace(boot)
	}
	// Connect before up: once the route is up, a send must find the peer
	// in the transport (and wait in its queue for the session), not fail
	// as an unknown peer and be dropped as nodedown.
	if addr != "" && addr != p.addr {
		p.addr = addr
		out = append(out, effect{kind: effConnect, node: node, addr: addr})
	}
	if !p.up {
		p.up, p.memberDown = true, false
		out = append(out, effect{kind: effUp, node: node, boot: p.boot})
	}
	return out
}

func (t *peerTable) memberDown(node string, boot uint64) []effect {
	if node == t.self || node == "" {
		return nil
	}
	p := t.peers[node]
	if p == nil {
		t.peers[node] = &peerState{boot: boot, memberDown: true}
		return []effect{{kind: effKnown, node: node}}
	}
	if boot != 0 && p.boot != 0 && boot != p.boot {
		// News about an older life, or about one this side has not seen
		// up (it failed before its up reached us): the current life
		// stands either way.
		return nil
	}
	p.memberDown = true
	if !p.up {
		return nil
	}
	p.up = false
	return []effect{{kind: effDown, node: node, boot: p.boot}, {kind: effAbandon, node: node}}
}

func (t *peerTable) sessionUp(node string, boot uint64) []effect {
	if node == t.self || node == "" || boot == 0 {
		return nil
	}
	var out []effect
	p := t.peers[node]
	if p == nil {
		p = &peerState{}
		t.peers[node] = p
		out = append(out, effect{kind: effKnown, node: node})
	}
	if p.isPast(boot) {
		return out
	}
	switch {
	case p.boot != 0 && boot != p.boot:
		// A new life: whatever the old one was doing, it is over.
		if p.up {
			out = append(out, effect{kind: effDown, node: node, boot: p.boot})
		}
	case p.up:
		p.boot = boot
		return out
	case p.memberDown:
		return out // membership said this life is gone; only it can revive it
	}
	p.replace(boot)
	p.up, p.memberDown = true, false
	return append(out, effect{kind: effUp, node: node, boot: boot})
}

// sessionLost handles a lost transport session; boot is 0 for a session
// that never came up (frames queued for the node were dropped).
// abandonedHere marks a loss this side caused.
func (t *peerTable) sessionLost(node string, boot uint64, abandonedHere bool) []effect {
	p := t.peers[node]
	if p == nil || abandonedHere || !p.up {
		return nil
	}
	if boot != 0 && p.boot != 0 && boot != p.boot {
		return nil
	}
	p.up = false
	return []effect{{kind: effDown, node: node, boot: p.boot}}
}

// known reports whether node was ever seen, and whether it is up.
func (t *peerTable) state(node string) (known, up bool, boot uint64) {
	p := t.peers[node]
	if p == nil {
		return false, false, 0
	}
	return true, p.up, p.boot
}
