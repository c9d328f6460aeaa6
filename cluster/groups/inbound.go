package groups

import (
	"sync/atomic"

	"github.com/wippyd/wippyd/transport"
)

// sessionUp starts a peer: this node's full state goes first, so every
// later delta to it follows the state it applies to. A new life of a
// known node replaces the old one, whose members leave at once.
func (g *Groups) sessionUp(ev transport.SessionEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name := ev.Peer.Name
	if p := g.peers[name]; p != nil && p.boot != ev.Peer.Boot || p == nil && g.table.Known(name) {
		g.dispatch(g.table.Drop(name))
	}
	g.peers[name] = &peer{boot: ev.Peer.Boot}
	g.sendState(name)
}

// sessionLost ends a peer: its members leave every group (its node is
// down, restarted or cut off long enough to lose the session; a new
// session brings them back with its state).
func (g *Groups) sessionLost(ev transport.SessionEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	name := ev.Peer.Name
	p := g.peers[name]
	if p == nil || ev.Peer.Boot != 0 && ev.Peer.Boot != p.boot {
		return // a session that never came up, or an older life's
	}
	delete(g.peers, name)
	g.dispatch(g.table.Drop(name))
}

// handle is the transport handler of the groups stream: frames of one
// peer come one at a time, in the order it sent them.
func (g *Groups) handle(from transport.Peer, body []byte) {
	f, err := Decode(body, from.Name)
	if err == nil && f.Type != FrameStateRequest && f.Boot != from.Boot {
		err = ErrMalformed
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.ctr.malformed.Add(1)
		g.warn("malformed:"+from.Name, "groups: dropped malformed frame", "peer", from.Name, "err", err)
		return
	}
	p := g.peers[from.Name]
	if p == nil || p.boot != from.Boot {
		return // before its session-up event, or from an older life
	}
	switch f.Type {
	case FrameDelta:
		g.ctr.deltasIn.Add(1)
		applied, evs := g.table.ApplyDelta(from.Name, &Delta{Boot: f.Boot, Seq: f.Seq, Ops: f.Ops})
		g.dispatch(evs)
		if applied == AppliedGap && p.pending == nil {
			g.ask(from.Name, p)
		}
	case FrameState:
		g.statePart(from.Name, p, &f)
	case FrameDigest:
		if p.pending == nil && g.table.Behind(from.Name, f.Boot, f.Seq) {
			g.ctr.repairs.Add(1)
			g.ask(from.Name, p)
		}
	case FrameStateRequest:
		g.sendState(from.Name)
	}
	g.noteRefused(from.Name)
}

// ask requests peer's full state, once until it comes.
func (g *Groups) ask(name string, p *peer) {
	if p.asked {
		return
	}
	p.asked = true
	g.send(name, AppendStateRequest(g.buf[:0]))
}

// statePart collects the parts of a peer's state and applies the whole
// when the last one comes. A part out of order (never expected: the
// session keeps order) drops what was collected and asks again.
func (g *Groups) statePart(name string, p *peer, f *Frame) {
	if f.Part == 0 {
		p.pending, p.part = &State{Boot: f.Boot, Seq: f.Seq}, 0
	}
	if p.pending == nil || f.Part != p.part || f.Boot != p.pending.Boot || f.Seq != p.pending.Seq {
		p.pending, p.asked = nil, false
		g.ctr.malformed.Add(1)
		g.ask(name, p)
		return
	}
	// What one node may hold bounds what is kept of its state; the
	// table counts the members past it as refused.
	room := g.cfg.MaxMembersPerNode + 1 - len(p.pending.Members)
	p.pending.Members = append(p.pending.Members, f.Ops[:min(len(f.Ops), max(room, 0))]...)
	p.part++
	if !f.Last {
		return
	}
	st := p.pending
	p.pending, p.asked = nil, false
	g.ctr.statesIn.Add(1)
	g.dispatch(g.table.ApplyState(name, st))
}

// noteRefused logs, throttled, when the table has refused members.
func (g *Groups) noteRefused(peer string) {
	if n := g.table.Refused(); n > g.ctr.refusedLogged.Load() {
		g.ctr.refusedLogged.Store(n)
		g.warn("refused", "groups: members refused (past max members per node, in a scope this node lacks, or leaving without a join)",
			"peer", peer, "total", n, "max_members_per_node", g.cfg.MaxMembersPerNode)
	}
}

// counters are the service's figures, read by Stats.
type counters struct {
	deltasIn, deltasOut, statesIn, statesOut atomic.Uint64
	digests, repairs, events                 atomic.Uint64
	malformed, sendErrors, refusedLogged     atomic.Uint64
}

// Stats are a service's counters and sizes.
type Stats struct {
	Peers      int    // nodes with a session up
	Groups     int    // groups with a member, every scope
	Members    int    // memberships, every node, multi-joins counted
	Subs       int    // live subscriptions of local processes
	DeltasIn   uint64 // deltas received
	DeltasOut  uint64 // local changes sent
	StatesIn   uint64 // full states received
	StatesOut  uint64 // full states sent
	Digests    uint64 // digests sent
	Repairs    uint64 // digests that showed this node behind
	Events     uint64 // events handed to subscribers
	Malformed  uint64 // frames dropped as malformed
	SendErrors uint64 // frames the transport refused
	Refused    uint64 // other nodes' members refused (see Config.MaxMembersPerNode)
}

// Stats returns the service's figures.
func (g *Groups) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Stats{
		Peers: len(g.peers), Subs: len(g.subs),
		DeltasIn: g.ctr.deltasIn.Load(), DeltasOut: g.ctr.deltasOut.Load(),
		StatesIn: g.ctr.statesIn.Load(), StatesOut: g.ctr.statesOut.Load(),
		Digests: g.ctr.digests.Load(), Repairs: g.ctr.repairs.Load(), Events: g.ctr.events.Load(),
		Malformed: g.ctr.malformed.Load(), SendErrors: g.ctr.sendErrors.Load(), Refused: g.table.Refused(),
	}
	s.Groups, s.Members = g.table.Size()
	return s
}
