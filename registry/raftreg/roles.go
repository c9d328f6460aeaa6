package raftreg

import (
	"cmp"
	"slices"

	"github.com/hashicorp/raft"
)

// Roles. A node that runs Raft (not Config.Client) is, at any time, one of:
//
//   - a voter: in the Raft configuration, votes; at most MaxVoters, an odd
//     number when the leader can choose;
//   - a standby: in the configuration as a non-voter, replicated and warm,
//     promoted when a voter goes; at most MaxStandbys;
//   - outside: not in the configuration, so the leader sends it nothing.
//     It keeps a copy of the table fed by a member, as a client does
//     (feed.go, client.go), and forwards its writes.
//
// The leader decides (planRoles, a pure function of the configuration and
// the gossip view) and changes the configuration one step at a time.

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

// planInput is what the leader's reconciler decides from.
type planInput struct {
	servers     []raft.Server     // the latest configuration
	members     map[string]Member // the gossip view, self included (memberTable)
	self        string            // the leader: always stays a voter
	maxVoters   int               // odd
	maxStandbys int               // may be 0
	evictable   func(string) bool // gone in gossip AND silent to heartbeats for the debounce window
}

// planRoles returns the configuration changes that give the cluster its
// roles, in the order to make them: adds and promotions first, then
// demotions, then removals, so that no step lowers the number of live
// voters below a majority of the configuration it makes. Raft takes one
// change at a time; the leader makes the first and plans again.
//
//   - A server whose member is a client (Member.Client) is removed.
//   - A server whose member is dead or left is removed only once
//     evictable says so (gone in gossip and silent to the leader's
//     heartbeats for the debounce window). Until then it keeps its role
//     and its slot: a healthy voter wrongly reported dead (stale gossip
//     after a heal) is never removed while it answers heartbeats.
//     A voter is removed so only when that helps: an alive voter-eligible
//     member outside the voters can take its place, or removing every
//     evictable voter lets the rest lose more nodes than keeping them
//     (voterEvictionHelps). Of three voters, a dead one stays: two of two
//     tolerate no failure, as two of three with one dead do, and the dead
//     one, back, votes again at once instead of after being added back
//     (in between, a second failure left no quorum).
//   - A server that membership reports suspect, or does not know, keeps
//     its role and slot too.
//   - The voters are the servers so kept, the leader, then the best
//     ranked alive voter-eligible members (rankVoters) spread over the
//     failure domains: each slot goes to the best candidate of the domain
//     with the fewest voters so far. Their number is MaxVoters, or fewer
//     when fewer are eligible, rounded down to odd unless that would
//     demote a healthy voter.
//   - The standbys are the non-voters so kept, then the best ranked of
//     the other alive members (voter-eligible first, then those already
//     standbys, then priority and name), up to MaxStandbys.
//   - Every other alive server is removed: it is outside.
func planRoles(in planInput) []change {
	conf := make(map[string]raft.ServerSuffrage, len(in.servers))
	for _, s := range in.servers {
		conf[string(s.ID)] = s.Suffrage
	}
	var removes []change
	var fixedV, fixedS []string // servers that keep their role
	evictVoters := voterEvictionHelps(in, conf)
	for _, s := range in.servers {
		name := string(s.ID)
		m, known := in.members[name]
		switch {
		case name == in.self:
			if s.Suffrage == raft.Voter {
				fixedV = append(fixedV, name)
			}
		case known && m.Client:
			removes = append(removes, change{opRemove, name})
		case known && m.State.gone():
			if in.evictable != nil && in.evictable(name) && (s.Suffrage != raft.Voter || evictVoters) {
				removes = append(removes, change{opRemove, name})
			} else if s.Suffrage == raft.Voter {
				fixedV = append(fixedV, name)
			} else {
				fixedS = append(fixedS, name)
			}
		case !known || m.State != MemberAlive:
			if s.Suffrage == raft.Voter {
				fixedV = append(fixedV, name)
			} else {
				fixedS = append(fixedS, name)
			}
		}
	}
	if !has(conf, in.self) {
		fixedV = append(fixedV, in.self) // never happens on a leader; keeps the plan total
	}
	fixed := make(map[string]bool, len(fixedV)+len(fixedS))
	for _, n := range slices.Concat(fixedV, fixedS) {
		fixed[n] = true
	}
	var eligible, others []Member
	for _, m := range in.members {
		if fixed[m.Name] || m.State != MemberAlive || m.Client {
			continue
		}
		if m.Voter {
			eligible = append(eligible, m)
		} else {
			others = append(others, m)
		}
	}
	rankVoters(eligible, conf)
	target := min(in.maxVoters, len(fixedV)+len(eligible))
	if target%2 == 0 {
		// Odd when voters are added; a healthy voter is never demoted
		// only to make the count odd (two voters commit on two disks).
		cur := len(fixedV)
		for _, m := range eligible {
			if has(conf, m.Name) && conf[m.Name] == raft.Voter {
				cur++
			}
		}
		if cur < target {
			target = max(target-1, cur)
		}
	}
	target = max(target, len(fixedV), 1)
	voters, rest := spread(fixedV, eligible, in.members, target)

	// Standbys: the eligible left over first, then the others.
	rankStandbys(rest, conf)
	rankStandbys(others, conf)
	standbys := slices.Clone(fixedS)
	for _, m := range slices.Concat(rest, others) {
		if len(standbys) >= in.maxStandbys {
			break
		}
		standbys = append(standbys, m.Name)
	}

	var adds, demotes []change
	for _, name := range voters {
		if suf, ok := conf[name]; !ok || suf != raft.Voter {
			adds = append(adds, change{opAddVoter, name})
		}
	}
	isStandby := make(map[string]bool, len(standbys))
	for _, name := range standbys {
		isStandby[name] = true
		switch suf, ok := conf[name]; {
		case !ok:
			adds = append(adds, change{opAddNonvoter, name})
		case suf == raft.Voter:
			demotes = append(demotes, change{opDemote, name})
		}
	}
	isVoter := make(map[string]bool, len(voters))
	for _, name := range voters {
		isVoter[name] = true
	}
	for _, s := range in.servers {
		name := string(s.ID)
		if isVoter[name] || isStandby[name] || fixed[name] || name == in.self {
			continue
		}
		if slices.ContainsFunc(removes, func(c change) bool { return c.name == name }) {
			continue
		}
		removes = append(removes, change{opRemove, name})
	}
	slices.SortStableFunc(removes, func(a, b change) int { return cmp.Compare(a.name, b.name) })
	return slices.Concat(adds, demotes, removes)
}

// rankVoters sorts voter-eligible members best first: lower priority,
// then those voting already (no churn for a tie), then the lower name.
// Every node with the same view and configuration gets the same order.
func rankVoters(ms []Member, conf map[string]raft.ServerSuffrage) {
	slices.SortFunc(ms, func(a, b Member) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		av, bv := conf[a.Name] == raft.Voter && has(conf, a.Name), conf[b.Name] == raft.Voter && has(conf, b.Name)
		if av != bv {
			if av {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// rankStandbys sorts standby candidates best first: voter-eligible (they
// can be promoted), then those in the configuration already, then
// priority and name.
func rankStandbys(ms []Member, conf map[string]raft.ServerSuffrage) {
	slices.SortFunc(ms, func(a, b Member) int {
		if a.Voter != b.Voter {
			if a.Voter {
				return -1
			}
			return 1
		}
		if ai, bi := has(conf, a.Name), has(conf, b.Name); ai != bi {
			if ai {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

func has(conf map[string]raft.ServerSuffrage, name string) bool {
	_, ok := conf[name]
	return ok
}

// spread fills the voter slots up to target: fixed first, then from the
// ranked candidates, each slot to the best candidate of the failure
// domain with the fewest voters so far. It returns the voters and the
// candidates left over, still ranked.
func spread(fixed []string, ranked []Member, members map[string]Member, target int) ([]string, []Member) {
	voters := slices.Clone(fixed)
	used := make(map[string]int)
	for _, n := range fixed {
		used[members[n].FailureDomain]++
	}
	rest := slices.Clone(ranked)
	for len(voters) < target && len(rest) > 0 {
		best := 0
		for i := 1; i < len(rest); i++ {
			if used[rest[i].FailureDomain] < used[rest[best].FailureDomain] {
				best = i
			}
		}
		voters = append(voters, rest[best].Name)
		used[rest[best].FailureDomain]++
		rest = slices.Delete(rest, best, best+1)
	}
	return voters, rest
}

// voterEvictionHelps reports whether removing the evictable voters of the
// configuration conf helps: a replacement exists (an alive voter-eligible
// member that is not a voter), or the failures the voters left tolerate
// rise (five voters with two dead tolerate none; the three alive ones
// alone tolerate one).
func voterEvictionHelps(in planInput, conf map[string]raft.ServerSuffrage) bool {
	for _, m := range in.members {
		if suf, ok := conf[m.Name]; m.State == MemberAlive && m.Voter && !m.Client && (!ok || suf != raft.Voter) {
			return true
		}
	}
	voters, gone := 0, 0
	for _, s := range in.servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		voters++
		name := string(s.ID)
		if m, known := in.members[name]; known && m.State.gone() && name != in.self && in.evictable != nil && in.evictable(name) {
			gone++
		}
	}
	alive := voters - gone
	tolerance := func(n int) int { return alive - (n/2 + 1) }
	return gone > 0 && tolerance(voters-gone) > tolerance(voters)
}
