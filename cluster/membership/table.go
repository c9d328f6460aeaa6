package membership

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// nodeInfo is what a memberlist alive notification says about a node, meta
// already decoded.
type nodeInfo struct {
	Name string
	Addr netip.AddrPort
	Meta Meta
}

// table is the member table: it turns memberlist notifications and
// intent-to-leave messages into member states and events. It is a pure
// core: no goroutines, no I/O, no clock (now comes in as an argument), not
// safe for concurrent use. The shell serialises calls.
//
// It keeps one entry per name: the latest life seen. memberlist reports
// transitions per name; the table adds what memberlist cannot tell: a new
// boot id is a new life (the old one is reported failed), a departure
// announced by an intent-to-leave is a leave, not a failure, and a failed
// probe by this node makes an alive life suspect until it answers one.
type table struct {
	self    string
	members map[string]Member
}

func newTable(self string) *table {
	return &table{self: self, members: make(map[string]Member)}
}

// alive applies memberlist's NotifyJoin or NotifyUpdate: the node n is up.
// It does not clear a suspicion: memberlist sends it for a new address or
// meta, which says nothing about this node's probes.
func (t *table) alive(n nodeInfo, now time.Time) []Event {
	next := Member{Name: n.Name, Addr: n.Addr, Meta: n.Meta, State: StateAlive, Since: now}
	cur, ok := t.members[n.Name]
	switch {
	case !ok:
		t.members[n.Name] = next
		return []Event{{Kind: EventJoined, Member: next}}
	case cur.Meta.BootID != n.Meta.BootID:
		// A new life. If the old one was still up here, it ended
		// unannounced (the node restarted before anyone noticed).
		var evs []Event
		if cur.State.Up() {
			kind := EventFailed
			cur.State = StateDead
			if cur.Leaving {
				kind, cur.State = EventLeft, StateLeft
			}
			cur.Since, cur.Leaving = now, false
			evs = append(evs, Event{Kind: kind, Member: cur, Restart: true})
		}
		t.members[n.Name] = next
		return append(evs, Event{Kind: EventJoined, Member: next})
	case !cur.State.Up():
		// The same life back: a healed partition or a false suspicion.
		t.members[n.Name] = next
		return []Event{{Kind: EventJoined, Member: next}}
	case cur.Addr == n.Addr && cur.Meta == n.Meta:
		return nil
	default:
		next.State, next.Since, next.Leaving = cur.State, cur.Since, cur.Leaving
		t.members[n.Name] = next
		return []Event{{Kind: EventUpdated, Member: next}}
	}
}

// down applies memberlist's NotifyLeave: the node is dead or gone. Whether
// that is a leave or a failure is decided by the intent seen before it.
func (t *table) down(name string, now time.Time) []Event {
	cur, ok := t.members[name]
	if !ok || !cur.State.Up() {
		return nil
	}
	kind := EventFailed
	cur.State = StateDead
	if cur.Leaving {
		kind, cur.State = EventLeft, StateLeft
	}
	cur.Since, cur.Leaving = now, false
	t.members[name] = cur
	return []Event{{Kind: kind, Member: cur}}
}

// probeFailed applies a probe of name by this node that got no ack: an
// alive member becomes suspect. A member already suspect, dead, left or
// unknown, or this node itself, is left alone.
func (t *table) probeFailed(name string, now time.Time) []Event {
	return t.move(name, StateAlive, StateSuspect, EventSuspected, now)
}

// probeAnswered applies an ack to a direct probe of name by this node: a
// suspect member is alive again. It is called for every successful probe,
// so for any other member it changes nothing.
func (t *table) probeAnswered(name string, now time.Time) []Event {
	return t.move(name, StateSuspect, StateAlive, EventCleared, now)
}

// move changes member name (not this node) from state from to state to,
// reported as an event of kind; any other member is left alone.
func (t *table) move(name string, from, to State, kind EventKind, now time.Time) []Event {
	cur, ok := t.members[name]
	if !ok || name == t.self || cur.State != from {
		return nil
	}
	cur.State, cur.Since = to, now
	t.members[name] = cur
	return []Event{{Kind: kind, Member: cur}}
}

// intent applies an intent-to-leave. It counts only for the life it names
// and only while that life is up: an intent arriving after the departure
// was already reported changes nothing. It reports whether the intent
// applied.
func (t *table) intent(in intent) bool {
	cur, ok := t.members[in.Name]
	if !ok || !cur.State.Up() || cur.Meta.BootID != in.Boot || cur.Leaving {
		return false
	}
	cur.Leaving = true
	t.members[in.Name] = cur
	return true
}

// reap drops the dead and left members whose state is older than after,
// except this node.
func (t *table) reap(now time.Time, after time.Duration) []Event {
	var evs []Event
	for name, m := range t.members {
		if name != t.self && !m.State.Up() && now.Sub(m.Since) >= after {
			delete(t.members, name)
			evs = append(evs, Event{Kind: EventReaped, Member: m})
		}
	}
	slices.SortFunc(evs, func(a, b Event) int { return strings.Compare(a.Member.Name, b.Member.Name) })
	return evs
}

// failedAddrs returns the gossip addresses of the dead members: the ones
// to retry so a healed partition merges. Members that left are not
// retried: they went on purpose.
func (t *table) failedAddrs() []netip.AddrPort {
	var addrs []netip.AddrPort
	for _, m := range t.members {
		if m.State == StateDead {
			addrs = append(addrs, m.Addr)
		}
	}
	slices.SortFunc(addrs, netip.AddrPort.Compare)
	return addrs
}

func (t *table) get(name string) (Member, bool) {
	m, ok := t.members[name]
	return m, ok
}

// snapshot returns every member sorted by name, this node included.
func (t *table) snapshot() []Member {
	ms := make([]Member, 0, len(t.members))
	for _, m := range t.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return ms
}

// names returns the names of the up members (alive or suspect) with the
// given role, sorted.
func (t *table) names(role Role) []string {
	var names []string
	for _, m := range t.members {
		if m.State.Up() && m.Meta.RaftRole == role {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return names
}

func (t *table) counts() Counts {
	var c Counts
	for _, m := range t.members {
		if m.State.Up() && m.Leaving {
			c.Leaving++
		}
		switch m.State {
		case StateAlive:
			c.Alive++
		case StateSuspect:
			c.Suspect++
		case StateDead:
			c.Dead++
		case StateLeft:
			c.Left++
		}
	}
	return c
}
