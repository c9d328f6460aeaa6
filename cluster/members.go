package cluster

import "fmt"

// MemberEventKind says what happened to a member.
type MemberEventKind uint8

// Member event kinds.
const (
	// MemberUp: the member is alive — it joined, came back after being
	// declared dead, or restarted (a new boot id).
	MemberUp MemberEventKind = iota + 1
	// MemberFailed: the member was declared dead.
	MemberFailed
	// MemberLeft: the member left gracefully.
	MemberLeft
)

func (k MemberEventKind) String() string {
	switch k {
	case MemberUp:
		return "up"
	case MemberFailed:
		return "failed"
	case MemberLeft:
		return "left"
	}
	return fmt.Sprintf("member_event(%d)", uint8(k))
}

// MemberEvent is a change in cluster membership, as the cluster needs it:
// cluster/membership produces these (node/ converts its events), the
// clustertest harness fakes them.
type MemberEvent struct {
	Kind MemberEventKind
	// Node is the member's node name.
	Node string
	// Addr is the member's internode (transport) address, "host:port";
	// set for MemberUp, "" when unknown.
	Addr string
	// Boot is the member's boot id, drawn at each start (from its
	// memberlist meta); it must be the boot id of the member's transport
	// endpoint. 0 = unknown: the event applies to whatever life is current.
	Boot uint64
}

// MemberSource is where the cluster learns about members. node/ adapts
// cluster/membership to it; clustertest drives a fake.
type MemberSource interface {
	// Subscribe makes f receive every member event from now on, one at a
	// time and in the order they happened; the returned function stops
	// the subscription and returns once f is no longer running.
	Subscribe(f func(MemberEvent)) (stop func())
}
