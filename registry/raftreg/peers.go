package raftreg

import (
	"slices"
	"strconv"
)

// PeerSource is the member table the registry follows: who may vote, who
// is alive, who died or left. cluster/membership satisfies it through
// node; this package never imports membership.
type PeerSource interface {
	// Members returns every member membership knows, this node included
	// or not (the registry knows itself from Config). The slice is the
	// caller's.
	Members() []Member
	// OnChange registers f, called after the table changed (a member
	// joined, changed state or was forgotten). f does not block; calls may
	// be coalesced. The returned function unregisters f.
	OnChange(f func()) (cancel func())
}

// Member is one node as membership sees it.
type Member struct {
	// Name is the node name: its Raft server id and address, and the name
	// the internode transport knows it by.
	Name string
	// Voter: the node may be a Raft voter (false for nodes kept as
	// non-voters, which never count for bootstrap).
	Voter bool
	// Client: the node stays outside the Raft configuration (Config.Client:
	// `run -x` nodes); the leader never adds it, and removes it if it was
	// in. It keeps a copy of the table fed by a member (client.go).
	Client bool
	State  MemberState
	// Priority ranks voter-eligible members for the voter slots: lower is
	// preferred, ties go to the lower name (cluster.raft.priority).
	Priority int
	// FailureDomain is the zone or rack the node runs in
	// (cluster.failure_domain): voters are spread over domains first. ""
	// is a domain of its own.
	FailureDomain string
}

// MemberState is the liveness of a member.
type MemberState uint8

// Member states. A suspect member still counts as alive: only Dead and
// Left make the leader remove it from Raft and release its names.
const (
	MemberAlive   MemberState = 1
	MemberSuspect MemberState = 2
	MemberDead    MemberState = 3
	MemberLeft    MemberState = 4
)

func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberSuspect:
		return "suspect"
	case MemberDead:
		return "dead"
	case MemberLeft:
		return "left"
	}
	return "MemberState(" + strconv.Itoa(int(s)) + ")"
}

func (s MemberState) up() bool   { return s == MemberAlive || s == MemberSuspect }
func (s MemberState) gone() bool { return s == MemberDead || s == MemberLeft }

// memberTable indexes members by name, with self forced alive.
func memberTable(ms []Member, self Member) map[string]Member {
	t := make(map[string]Member, len(ms)+1)
	for _, m := range ms {
		t[m.Name] = m
	}
	t[self.Name] = self
	return t
}

// bootstrapSet returns the servers to bootstrap with, or nil when self
// should not bootstrap yet: fewer than expect alive voter-eligible members,
// or self not among the expect lowest names (the others bootstrap; self is
// added by their leader). Every member that sees the same members
// computes the same set.
func bootstrapSet(members map[string]Member, self string, expect int) []string {
	var names []string
	for _, m := range members {
		if m.Voter && m.State == MemberAlive {
			names = append(names, m.Name)
		}
	}
	if len(names) < expect {
		return nil
	}
	slices.Sort(names)
	names = names[:expect]
	if !slices.Contains(names, self) {
		return nil
	}
	return names
}
