package groups

import (
	"cmp"
	"maps"
	"slices"

	"github.com/wippyd/wippyd/runtime/pid"
)

// Key names one group of one scope.
type Key struct {
	Scope string
	Group string
}

// Op is one change of one member's count in one group: N > 0 joins N
// times, N < 0 leaves |N| times. In a State, N is the member's count.
type Op struct {
	Key
	PID pid.PID
	N   int
}

// Delta is one local operation of an origin node, as it announces it:
// Seq is one more than the Seq of its previous Delta in the same life
// (Boot), so a receiver sees a gap.
type Delta struct {
	Boot uint64
	Seq  uint64
	Ops  []Op
}

// State is everything one origin node announces: every member of every
// group of its own, with its count, as of Seq.
type State struct {
	Boot    uint64
	Seq     uint64
	Members []Op
}

// Event is a change a monitor sees: PIDs joined (or left) the group, a
// PID once per count (a process that joined three times and exits leaves
// three times).
type Event struct {
	Key
	Joined bool
	PIDs   []pid.PID
}

// ScopeLimits bound one scope's local joins (0 = no bound of that kind).
type ScopeLimits struct {
	// MaxGroups bounds the scope's distinct groups, cluster-wide as this
	// node sees them.
	MaxGroups int
	// MaxMembersPerGroup bounds a group's members, multi-joins counted.
	MaxMembersPerGroup int
}

// Applied says what became of a Delta from another node.
type Applied uint8

const (
	// AppliedOK: the delta was the next of its origin and is applied.
	AppliedOK Applied = iota
	// AppliedStale: the delta was seen before (a Seq already applied).
	AppliedStale
	// AppliedGap: the delta is not the next one (a Delta was lost, or the
	// origin's State was never received): nothing changed, the origin's
	// full State is needed.
	AppliedGap
)

// Table is the pure core of process groups: the members of every group
// of every scope, as this node knows them, kept per origin node. Each
// node is the only writer of its own members (its origin): local joins
// and leaves change the local origin and return the Delta to announce;
// other nodes' Deltas and States change theirs. So there is nothing to
// merge: a receiver applies an origin's Deltas in order, or replaces its
// State wholesale when it missed one, and drops an origin whose node
// is gone.
//
// A Table does no I/O, starts nothing and is not safe for concurrent use:
// its owner serializes every call. Returned slices are the caller's,
// except Targets', which are shared and read-only.
type Table struct {
	self    string
	maxMem  int // memberships (counted) per origin
	scopes  map[string]*scopeState
	origins map[string]*origin
	refused uint64
}

type scopeState struct {
	limits ScopeLimits
	groups map[string]*group
}

type group struct {
	counts map[pid.PID]int // every origin's members and their counts
	size   int             // sum of counts
	nodes  map[string]int  // node -> distinct members there
	cache  *Targets        // built on read, dropped on change
}

// Targets are where a broadcast to a group goes: the distinct local
// members, and the other nodes with at least one member.
type Targets struct {
	Local []pid.PID
	Nodes []string
}

type origin struct {
	boot, seq uint64
	size      int
	members   map[member]int
	// byPID indexes the local origin's members by process, for the leave
	// of a process that ends; nil for other origins, which only leave
	// whole.
	byPID map[pid.PID]map[Key]int
}

// member is one process in one group.
type member struct {
	Key
	PID pid.PID
}

// NewTable returns an empty table for the node self in the life boot;
// maxPerNode bounds the memberships (multi-joins counted) of any one
// origin, this node's included.
func NewTable(self string, boot uint64, maxPerNode int) *Table {
	t := &Table{self: self, maxMem: maxPerNode, scopes: map[string]*scopeState{}, origins: map[string]*origin{}}
	t.origins[self] = &origin{boot: boot, members: map[member]int{}, byPID: map[pid.PID]map[Key]int{}}
	return t
}

// AddScope declares a scope. Members of undeclared scopes are refused.
func (t *Table) AddScope(id string, lim ScopeLimits) {
	t.scopes[id] = &scopeState{limits: lim, groups: map[string]*group{}}
}

// HasScope reports whether id is declared.
func (t *Table) HasScope(id string) bool { return t.scopes[id] != nil }

// Refused counts the remote members refused so far: past the per-node
// bound, in an undeclared scope, or a leave of a member not known.
func (t *Table) Refused() uint64 { return t.refused }

// Join adds p, a local process, once to each of groups of scope: all or
// none. Errors: ErrNoScope, ErrBadGroup, ErrTooManyGroups,
// ErrGroupFull, ErrNodeFull.
func (t *Table) Join(scope string, groups []string, p pid.PID) (Delta, []Event, error) {
	s := t.scopes[scope]
	if s == nil {
		return Delta{}, nil, ErrNoScope
	}
	if err := checkGroups(groups); err != nil {
		return Delta{}, nil, err
	}
	self := t.origins[t.self]
	if self.size+len(groups) > t.maxMem {
		return Delta{}, nil, ErrNodeFull
	}
	if err := s.admit(groups); err != nil {
		return Delta{}, nil, err
	}
	ops := make([]Op, len(groups))
	for i, g := range groups {
		ops[i] = Op{Key: Key{scope, g}, PID: p, N: 1}
	}
	return t.local(ops)
}

// admit checks the scope's limits for one more member in each of groups.
func (s *scopeState) admit(groups []string) error {
	fresh := map[string]int{}
	for _, g := range groups {
		fresh[g]++
	}
	added := 0
	for g, n := range fresh {
		gs := s.groups[g]
		if gs == nil {
			added++
		}
		if lim := s.limits.MaxMembersPerGroup; lim > 0 && (gs == nil && n > lim || gs != nil && gs.size+n > lim) {
			return ErrGroupFull
		}
	}
	if lim := s.limits.MaxGroups; lim > 0 && added > 0 && len(s.groups)+added > lim {
		return ErrTooManyGroups
	}
	return nil
}

// Leave removes p once from each of groups of scope it is a member of;
// the others are skipped. ErrNotMember when p is in none of them.
func (t *Table) Leave(scope string, groups []string, p pid.PID) (Delta, []Event, error) {
	if t.scopes[scope] == nil {
		return Delta{}, nil, ErrNoScope
	}
	if err := checkGroups(groups); err != nil {
		return Delta{}, nil, err
	}
	have := maps.Clone(t.origins[t.self].byPID[p])
	var ops []Op
	for _, g := range groups {
		k := Key{scope, g}
		if have[k] > 0 {
			have[k]--
			ops = append(ops, Op{Key: k, PID: p, N: -1})
		}
	}
	if len(ops) == 0 {
		return Delta{}, nil, ErrNotMember
	}
	return t.local(ops)
}

// LeaveAll removes p, a local process that ended, from every group of
// every scope, as many times as it joined. ok is false when p was in
// none (nothing to announce).
func (t *Table) LeaveAll(p pid.PID) (d Delta, evs []Event, ok bool) {
	held := t.origins[t.self].byPID[p]
	if len(held) == 0 {
		return Delta{}, nil, false
	}
	ops := make([]Op, 0, len(held))
	for k, n := range held {
		ops = append(ops, Op{Key: k, PID: p, N: -n})
	}
	sortOps(ops)
	d, evs, _ = t.local(ops)
	return d, evs, true
}

// local applies ops to this node's origin and returns the Delta that
// announces them.
func (t *Table) local(ops []Op) (Delta, []Event, error) {
	o := t.origins[t.self]
	var evs []Event
	for _, op := range ops {
		t.apply(o, op)
		evs = append(evs, opEvent(op))
	}
	o.seq++
	return Delta{Boot: o.boot, Seq: o.seq, Ops: ops}, evs, nil
}

// ApplyDelta applies a Delta announced by node. PIDs of its ops are
// taken to be node's (the decoder sets them so).
func (t *Table) ApplyDelta(node string, d *Delta) (Applied, []Event) {
	o := t.origins[node]
	switch {
	case node == t.self:
		return AppliedStale, nil
	case o == nil || o.boot != d.Boot || d.Seq > o.seq+1:
		return AppliedGap, nil
	case d.Seq <= o.seq:
		return AppliedStale, nil
	}
	var evs []Event
	for _, op := range d.Ops {
		if op, ok := t.admitRemote(o, op); ok {
			t.apply(o, op)
			evs = append(evs, opEvent(op))
		}
	}
	o.seq = d.Seq
	return AppliedOK, evs
}

// admitRemote clips a remote op to what the table accepts: a declared
// scope, the per-node bound, no more leaves than joins.
func (t *Table) admitRemote(o *origin, op Op) (Op, bool) {
	if t.scopes[op.Scope] == nil || op.N == 0 {
		t.refused++
		return op, false
	}
	if op.N < 0 {
		have := o.members[member{op.Key, op.PID}]
		if -op.N > have {
			t.refused += uint64(-op.N - have)
			op.N = -have
		}
		return op, op.N != 0
	}
	if room := t.maxMem - o.size; op.N > room {
		t.refused += uint64(op.N - max(room, 0))
		op.N = room
	}
	return op, op.N > 0
}

// ApplyState replaces what node announced with s, and returns the
// changes as events: only members actually added or removed.
func (t *Table) ApplyState(node string, s *State) []Event {
	if node == t.self {
		return nil
	}
	o := t.origins[node]
	if o == nil {
		o = &origin{members: map[member]int{}}
		t.origins[node] = o
	}
	want := map[member]int{}
	for _, m := range s.Members {
		if m.N > 0 {
			want[member{m.Key, m.PID}] += m.N
		}
	}
	var ops []Op
	for m, n := range o.members {
		if d := want[m] - n; d < 0 {
			ops = append(ops, Op{Key: m.Key, PID: m.PID, N: d})
		}
	}
	for m, n := range want {
		if d := n - o.members[m]; d > 0 {
			ops = append(ops, Op{Key: m.Key, PID: m.PID, N: d})
		}
	}
	sortOps(ops) // leaves first (negative N), so room is made before joins
	var applied []Op
	for _, op := range ops {
		if op, ok := t.admitRemote(o, op); ok {
			t.apply(o, op)
			applied = append(applied, op)
		}
	}
	o.boot, o.seq = s.Boot, s.Seq
	return groupEvents(applied)
}

// Drop forgets everything node announced (its node is gone) and returns
// the leaves.
func (t *Table) Drop(node string) []Event {
	o := t.origins[node]
	if node == t.self || o == nil {
		return nil
	}
	ops := make([]Op, 0, len(o.members))
	for m, n := range o.members {
		ops = append(ops, Op{Key: m.Key, PID: m.PID, N: -n})
	}
	for _, op := range ops {
		t.apply(o, op)
	}
	delete(t.origins, node)
	return groupEvents(ops)
}

// State returns this node's own full State, in a fixed order.
func (t *Table) State() State {
	o := t.origins[t.self]
	s := State{Boot: o.boot, Seq: o.seq}
	for m, n := range o.members {
		s.Members = append(s.Members, Op{Key: m.Key, PID: m.PID, N: n})
	}
	sortOps(s.Members)
	return s
}

// Digest is this node's life and last Seq: what another node compares
// with its copy to see whether it missed something.
func (t *Table) Digest() (boot, seq uint64) {
	o := t.origins[t.self]
	return o.boot, o.seq
}

// Behind reports whether this node's copy of node's members is not at
// (boot, seq), the digest node announced.
func (t *Table) Behind(node string, boot, seq uint64) bool {
	o := t.origins[node]
	return node != t.self && (o == nil || o.boot != boot || o.seq != seq)
}

// Size returns the number of groups with a member and of memberships
// (multi-joins counted), every scope and node together.
func (t *Table) Size() (groups, members int) {
	for _, s := range t.scopes {
		groups += len(s.groups)
	}
	for _, o := range t.origins {
		members += o.size
	}
	return groups, members
}

// Known reports whether the table holds node's members (its State came).
func (t *Table) Known(node string) bool { return t.origins[node] != nil }

// apply changes o's and the group's counts by op (already admitted).
func (t *Table) apply(o *origin, op Op) {
	m := member{op.Key, op.PID}
	if n := o.members[m] + op.N; n > 0 {
		o.members[m] = n
	} else {
		delete(o.members, m)
	}
	if o.byPID != nil {
		keys := o.byPID[op.PID]
		if keys == nil {
			keys = map[Key]int{}
			o.byPID[op.PID] = keys
		}
		if keys[op.Key] += op.N; keys[op.Key] <= 0 {
			delete(keys, op.Key)
			if len(keys) == 0 {
				delete(o.byPID, op.PID)
			}
		}
	}
	o.size += op.N
	s := t.scopes[op.Scope]
	g := s.groups[op.Group]
	if g == nil {
		g = &group{counts: map[pid.PID]int{}, nodes: map[string]int{}}
		s.groups[op.Group] = g
	}
	before := g.counts[op.PID]
	after := before + op.N
	switch {
	case before == 0 && after > 0:
		g.nodes[op.PID.Node]++
	case before > 0 && after <= 0:
		if g.nodes[op.PID.Node]--; g.nodes[op.PID.Node] == 0 {
			delete(g.nodes, op.PID.Node)
		}
	}
	if after > 0 {
		g.counts[op.PID] = after
	} else {
		delete(g.counts, op.PID)
	}
	g.size += op.N
	g.cache = nil
	if g.size <= 0 {
		delete(s.groups, op.Group)
	}
}

// Members returns the members of a group, a PID once per count, sorted;
// with local, only this node's. Empty for an unknown group or scope.
func (t *Table) Members(scope, group string, local bool) []pid.PID {
	g := t.group(scope, group)
	if g == nil {
		return []pid.PID{}
	}
	out := make([]pid.PID, 0, g.size)
	for p, n := range g.counts {
		if local && p.Node != t.self {
			continue
		}
		for range n {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, comparePID)
	return out
}

// Groups returns the groups of scope with at least one member (with
// local, one on this node), sorted.
func (t *Table) Groups(scope string, local bool) []string {
	s := t.scopes[scope]
	out := []string{}
	if s == nil {
		return out
	}
	for name, g := range s.groups {
		if !local || g.nodes[t.self] > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Snapshot returns every group of scope with its members (as Members).
func (t *Table) Snapshot(scope string) map[string][]pid.PID {
	out := map[string][]pid.PID{}
	for _, g := range t.Groups(scope, false) {
		out[g] = t.Members(scope, g, false)
	}
	return out
}

// Targets returns where a broadcast to the group goes. The result is
// shared: valid until the group next changes, never to be modified.
func (t *Table) Targets(scope, group string) *Targets {
	g := t.group(scope, group)
	if g == nil {
		return &Targets{}
	}
	if g.cache != nil {
		return g.cache
	}
	c := &Targets{}
	for p := range g.counts {
		if p.Node == t.self {
			c.Local = append(c.Local, p)
		}
	}
	for n := range g.nodes {
		if n != t.self {
			c.Nodes = append(c.Nodes, n)
		}
	}
	slices.SortFunc(c.Local, comparePID)
	slices.Sort(c.Nodes)
	g.cache = c
	return c
}

func (t *Table) group(scope, group string) *group {
	if s := t.scopes[scope]; s != nil {
		return s.groups[group]
	}
	return nil
}

// checkGroups validates group names from a caller.
func checkGroups(groups []string) error {
	if len(groups) == 0 {
		return ErrBadGroup
	}
	for _, g := range groups {
		if g == "" || len(g) > MaxName {
			return ErrBadGroup
		}
	}
	return nil
}

func opEvent(op Op) Event {
	ev := Event{Key: op.Key, Joined: op.N > 0}
	for range abs(op.N) {
		ev.PIDs = append(ev.PIDs, op.PID)
	}
	return ev
}

// groupEvents folds ops into one event per group and direction, in a
// fixed order.
func groupEvents(ops []Op) []Event {
	sortOps(ops)
	var evs []Event
	for _, op := range ops {
		joined := op.N > 0
		if n := len(evs); n == 0 || evs[n-1].Key != op.Key || evs[n-1].Joined != joined {
			evs = append(evs, Event{Key: op.Key, Joined: joined})
		}
		ev := &evs[len(evs)-1]
		for range abs(op.N) {
			ev.PIDs = append(ev.PIDs, op.PID)
		}
	}
	return evs
}

// sortOps orders ops by direction (leaves first), scope, group, PID.
func sortOps(ops []Op) {
	slices.SortFunc(ops, func(a, b Op) int {
		return cmp.Or(
			cmp.Compare(sign(a.N), sign(b.N)),
			cmp.Compare(a.Scope, b.Scope),
			cmp.Compare(a.Group, b.Group),
			comparePID(a.PID, b.PID))
	})
}

func comparePID(a, b pid.PID) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Seq, b.Seq))
}

func sign(n int) int { return cmp.Compare(n, 0) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
