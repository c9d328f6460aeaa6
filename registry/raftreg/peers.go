package raftreg

import (
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/raft"
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

// change is one Raft configuration change the leader should make.
type change struct {
	op   changeOp
	name string
}

type changeOp uint8

const (
	opRemove changeOp = iota + 1
	opAddVoter
	opAddNonvoter
	opDemote
)

func (c change) String() string {
	return [...]string{"", "remove", "add voter", "add non-voter", "demote"}[c.op] + " " + c.name
}

// planVoters returns the configuration changes that make servers follow
// members, in the order to make them (raft takes one at a time):
//
//   - servers whose member is dead or left are removed (never self);
//   - alive members not in the configuration are added, as voters while
//     there are fewer than maxVoters voters and the member may vote, as
//     non-voters otherwise;
//   - alive voter-eligible non-voters are promoted while there is room;
//   - voters that may not vote, and voters beyond maxVoters (highest
//     names first), are demoted (never self).
//
// Members that membership does not know are left alone: membership may
// simply not have heard of them yet.
func planVoters(servers []raft.Server, members map[string]Member, self string, maxVoters int) []change {
	var out []change
	in := make(map[string]raft.ServerSuffrage, len(servers))
	voters := 0
	var keep []string // voters that stay, by name
	for _, s := range servers {
		name := string(s.ID)
		m, known := members[name]
		if name != self && known && (m.State.gone() || m.Client) {
			out = append(out, change{opRemove, name})
			continue
		}
		in[name] = s.Suffrage
		if s.Suffrage != raft.Voter {
			continue
		}
		if name != self && known && !m.Voter {
			out = append(out, change{opDemote, name})
			continue
		}
		voters++
		keep = append(keep, name)
	}
	// Too many voters: demote the highest names.
	slices.Sort(keep)
	for i := len(keep) - 1; i >= 0 && voters > maxVoters; i-- {
		if keep[i] != self {
			out = append(out, change{opDemote, keep[i]})
			voters--
		}
	}
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.SortFunc(names, strings.Compare)
	for _, name := range names {
		m := members[name]
		if m.State != MemberAlive || m.Client {
			continue
		}
		suf, inConf := in[name]
		switch {
		case inConf && suf == raft.Voter:
		case m.Voter && voters < maxVoters:
			out = append(out, change{opAddVoter, name}) // adds, or promotes a non-voter
			voters++
		case !inConf:
			out = append(out, change{opAddNonvoter, name})
		}
	}
	return out
}
