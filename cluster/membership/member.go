package membership

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// State is a member's state in this node's view.
type State uint8

const (
	// StateAlive: memberlist considers the node up, and this node's own
	// probes of it succeed (or failed and it has answered one since).
	StateAlive State = iota + 1
	// StateDead: the node's life ended without announcing it: a crash, a
	// partition, or a restart seen as a new boot id.
	StateDead
	// StateLeft: the node's life ended after it announced it was leaving.
	StateLeft
	// StateSuspect: this node's own failure-detector probe of the node
	// failed (no ack, directly, through other members or over TCP), and
	// the node has not answered a direct probe of this node since, nor
	// been declared dead or left, nor come back as a new life. The life is
	// still up (State.Up): a suspect member is a member, only EventFailed
	// and EventLeft end it. Suspicion that other members gossip does not
	// make a member suspect here (see the package doc).
	StateSuspect
)

// Up reports whether the life is still a member: alive or suspect.
func (s State) Up() bool { return s == StateAlive || s == StateSuspect }

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Member is one node life as this node sees it.
type Member struct {
	// Name is the node name, unique in the cluster.
	Name string
	// Addr is the node's memberlist (gossip) address.
	Addr netip.AddrPort
	// Meta is what the node advertised; Meta.BootID names this life.
	Meta Meta
	// State is alive, suspect, dead or left.
	State State
	// Leaving is set once the node announced it is leaving (its
	// intent-to-leave arrived) while it is still up (alive or suspect).
	Leaving bool
	// Since is when State last changed, by this node's clock.
	Since time.Time
}

// InternodeAddr is host:port of the member's internode transport: its
// gossip IP and Meta.InternodePort. Empty when the member serves no
// internode traffic.
func (m Member) InternodeAddr() string {
	if m.Meta.InternodePort == 0 {
		return ""
	}
	return net.JoinHostPort(m.Addr.Addr().String(), strconv.Itoa(int(m.Meta.InternodePort)))
}

func (m Member) String() string {
	return fmt.Sprintf("%s/%016x@%s(%s)", m.Name, m.Meta.BootID, m.Addr, m.State)
}

// EventKind says what happened to a member.
type EventKind uint8

const (
	// EventJoined: a node life became alive: a node seen for the first
	// time, a new life (new boot id), or a life declared dead that turned
	// out to be alive (a healed partition, a false suspicion).
	EventJoined EventKind = iota + 1
	// EventUpdated: a life that is up changed address or meta, same boot
	// id. A suspect member stays suspect.
	EventUpdated
	// EventFailed: a life ended without announcing it. Links and monitors
	// to its processes fire noconnection.
	EventFailed
	// EventLeft: a life ended after announcing it was leaving.
	EventLeft
	// EventReaped: a dead or left member was dropped from the table after
	// Config.ReapAfter; it is no longer retried.
	EventReaped
	// EventSuspected: this node's probe of an alive life failed; the
	// member is StateSuspect. It is still up: consumers that act on
	// failures wait for EventFailed or EventLeft.
	EventSuspected
	// EventCleared: a suspect life answered this node's direct probe; it
	// is StateAlive again.
	EventCleared
)

func (k EventKind) String() string {
	switch k {
	case EventJoined:
		return "joined"
	case EventUpdated:
		return "updated"
	case EventFailed:
		return "failed"
	case EventLeft:
		return "left"
	case EventReaped:
		return "reaped"
	case EventSuspected:
		return "suspected"
	case EventCleared:
		return "cleared"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one change to the member table.
type Event struct {
	Kind EventKind
	// Member is the member after the change. For EventFailed with Restart
	// it is the old life; for EventReaped, the member as it was dropped.
	Member Member
	// Restart is set on an EventFailed (or EventLeft, if the old life had
	// announced it was leaving) learned from the node showing up with a
	// new boot id; the EventJoined of the new life follows at once.
	Restart bool
	// Missed counts the events dropped, because the event queue was full,
	// between the previous delivered event and this one. When it is not 0
	// the subscriber's view is stale: read Members() again.
	Missed uint64
}

func (e Event) String() string {
	s := fmt.Sprintf("%s %s", e.Kind, e.Member)
	if e.Restart {
		s += " (restart)"
	}
	return s
}

// Counts are the members by state, for metrics. Alive, Suspect, Dead and
// Left add up to the members in the table; Alive + Suspect are the members
// that are up.
type Counts struct {
	Alive, Suspect, Dead, Left int
	// Leaving counts the up members (alive or suspect) that announced they
	// are leaving.
	Leaving int
}
