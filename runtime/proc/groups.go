package proc

import (
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
)

// TopicGroupEvent is the topic of a process group subscription's events
// (GroupScope.Monitor). They come from the zero PID, the node itself; no
// process can send it (a topic starting with '@' is refused).
//
// The payload is a map: "id" the subscription (int), "kind"
// "member.joined" or "member.left", "group" the group's name, and "pids"
// a list of PIDs, one per membership joined or left.
const TopicGroupEvent = "@pg"

// Groups is implemented by an Env whose node has process groups (Wippy's
// pg, one namespace per pg.scope entry).
type Groups interface {
	// OpenGroups checks pg.open on the scope's entry id and returns the
	// scope as this process uses it; INTERNAL when the node has no
	// pg.scope of that id.
	OpenGroups(scope string) (GroupScope, error)
}

// GroupScope is one pg.scope as one process uses it. Every call is checked
// with its pg.* permission first (PERMISSION_DENIED, nothing done). Group
// names are 1 to 1,024 bytes (INVALID otherwise). Membership is
// cluster-wide and eventually consistent: reads answer from this node's
// view without waiting for the network. A process leaves every group
// when it ends, and its subscriptions end with it.
type GroupScope interface {
	// Join adds the process once to each group (all or none; a process
	// may join a group several times and must leave as often).
	Join(groups []string) error
	// Leave removes the process once from each group it is in; INVALID
	// when it is in none of them.
	Leave(groups []string) error
	// Members lists a group's members, a PID once per join, sorted; with
	// local, this node's only. Empty for an unknown group.
	Members(group string, local bool) ([]pid.PID, error)
	// Groups lists the groups with a member (with local, a member on this
	// node), sorted.
	Groups(local bool) ([]string, error)
	// Broadcast sends topic and payload, from this process, to every
	// member of the group (each process once, however often it joined);
	// with local, to this node's members only. Each member receives the
	// broadcasts of one sender in the order they were made.
	Broadcast(group, topic string, payload msg.Value, local bool) error
	// Monitor subscribes the process to the joins and leaves of group
	// (every group of the scope when group is "") and returns the
	// members at that moment: no change falls between the snapshot and
	// the first event. Events arrive as TopicGroupEvent messages.
	Monitor(group string) (id uint64, snapshot map[string][]pid.PID, err error)
	// Unsubscribe ends a subscription of this process; no event of it is
	// sent afterwards (one already in the mailbox may still be there).
	Unsubscribe(id uint64)
}
