package eventual

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Binding is one name given to one process by its node (the origin: the
// PID's node).
type Binding struct {
	Name string
	PID  pid.PID
	// Stamp is the hybrid clock of the origin when the name was
	// registered: never below the wall clock in nanoseconds, and above
	// every stamp the origin had seen. The lowest stamp wins a conflict.
	Stamp uint64
}

// beats reports whether b wins a conflict with o: the lower stamp, then
// the lower PID (node, host, sequence). Every replica decides the same.
func (b Binding) beats(o Binding) bool {
	if b.Stamp != o.Stamp {
		return b.Stamp < o.Stamp
	}
	return comparePID(b.PID, o.PID) < 0
}

func comparePID(a, b pid.PID) int {
	return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Host, b.Host), cmp.Compare(a.Seq, b.Seq))
}

// Version orders the states of one origin: a new life (Inc, drawn from
// the clock at start) replaces everything of an older one; within a life
// Ver counts the origin's changes.
type Version struct {
	Inc, Ver uint64
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	if v.Inc != o.Inc {
		return v.Inc < o.Inc
	}
	return v.Ver < o.Ver
}

// State is the whole set of one origin's bindings at one version, sorted
// by name.
type State struct {
	Origin   string
	Version  Version
	Bindings []Binding
}

// Delta is one change of an origin: its version goes from Ver-1 to Ver.
type Delta struct {
	Origin  string
	Version Version
	Ops     []Op
}

// Op is one step of a Delta: a binding added (or replaced) or a name
// removed (Binding.Name only).
type Op struct {
	Remove  bool
	Binding Binding
}

// DigestEntry is the version of one origin a replica holds.
type DigestEntry struct {
	Origin  string
	Version Version
}

// Outcome is what merging a remote delta or state did here.
type Outcome struct {
	// Applied: the replica changed.
	Applied bool
	// Behind: the delta did not follow the held version; the sender's
	// state should be asked for (a digest to it does that).
	Behind bool
	// Revoked are this node's bindings that lost a conflict and were
	// removed; Own is the delta that removes them, for the other nodes.
	// Each loser is revoked exactly once: it is gone after.
	Revoked []Binding
	Own     *Delta
}

// origin is what a replica holds of one node.
type origin struct {
	v     Version
	names map[string]Binding
}

// Replica is one node's copy of the EVENTUAL name set: its own bindings,
// which only it changes, and the other nodes' as their deltas and states
// said. It is a pure state machine: no goroutine, no clock (the caller
// passes now), no I/O. Not safe for concurrent use.
type Replica struct {
	self     string
	max      int
	hard     int
	clock    uint64
	origins  map[string]*origin // every origin held, self included
	byName   map[string][]Binding
	byPID    map[pid.PID][]string // this node's bindings by process
	up       map[string]bool      // origins accepted (membership says up); nil: any
	total    int
	refused  uint64
	conflict uint64
}

// NewReplica returns the replica of node self in its life inc (a number
// larger than any earlier life's: the start time in nanoseconds), holding
// at most max names before refusing registrations (and refusing remote
// additions past twice that).
func NewReplica(self string, inc uint64, max int) *Replica {
	r := &Replica{
		self: self, max: max, hard: 2 * max,
		origins: make(map[string]*origin), byName: make(map[string][]Binding), byPID: make(map[pid.PID][]string),
	}
	r.origins[self] = &origin{v: Version{Inc: inc}, names: make(map[string]Binding)}
	return r
}

// Len is the number of bindings held, of every origin.
func (r *Replica) Len() int { return r.total }

// Own is the number of this node's bindings.
func (r *Replica) Own() int { return len(r.origins[r.self].names) }

// Refused counts remote additions dropped past the hard bound; Conflicts
// counts this node's bindings revoked by a conflict.
func (r *Replica) Refused() uint64   { return r.refused }
func (r *Replica) Conflicts() uint64 { return r.conflict }

// Resolve returns the winner of name: the binding of lowest stamp.
func (r *Replica) Resolve(name string) (Binding, bool) {
	bs := r.byName[name]
	if len(bs) == 0 {
		return Binding{}, false
	}
	w := bs[0]
	for _, b := range bs[1:] {
		if b.beats(w) {
			w = b
		}
	}
	return w, true
}

// tick advances the clock for a registration at now.
func (r *Replica) tick(now uint64) uint64 {
	r.clock = max(r.clock+1, now)
	return r.clock
}

// Register gives name to p, a process of this node: nil delta and nil
// error when p already holds it; registry.ErrAlreadyExists and the winner
// when another process does; ErrFull past the bound; registry errors for
// a bad name or PID.
func (r *Replica) Register(name string, p pid.PID, now uint64) (*Delta, pid.PID, error) {
	if err := registry.ValidateName(name); err != nil {
		return nil, pid.PID{}, err
	}
	if err := registry.ValidatePID(p); err != nil {
		return nil, pid.PID{}, err
	}
	if p.Node != r.self {
		return nil, pid.PID{}, fmt.Errorf("%w: %v is not a process of %s", ErrRemotePID, p, r.self)
	}
	if w, ok := r.Resolve(name); ok {
		if w.PID == p {
			return nil, pid.PID{}, nil
		}
		return nil, w.PID, registry.ErrAlreadyExists
	}
	if r.total >= r.max {
		return nil, pid.PID{}, ErrFull
	}
	b := Binding{Name: name, PID: p, Stamp: r.tick(now)}
	return r.ownDelta([]Op{{Binding: b}}), pid.PID{}, nil
}

// Unregister removes name if owner, a process of this node, holds it:
// registry.ErrNotFound when nobody does, registry.ErrNotOwner (with the
// holder) when another process does.
func (r *Replica) Unregister(name string, owner pid.PID) (*Delta, pid.PID, error) {
	if b, ok := r.origins[r.self].names[name]; ok && b.PID == owner {
		return r.ownDelta([]Op{{Remove: true, Binding: Binding{Name: name}}}), pid.PID{}, nil
	}
	if w, ok := r.Resolve(name); ok {
		return nil, w.PID, registry.ErrNotOwner
	}
	return nil, pid.PID{}, registry.ErrNotFound
}

// ReleasePID removes every name of p, a process of this node; nil when it
// held none.
func (r *Replica) ReleasePID(p pid.PID) *Delta {
	names := r.byPID[p]
	if len(names) == 0 {
		return nil
	}
	ops := make([]Op, len(names))
	for i, n := range slices.Sorted(slices.Values(names)) {
		ops[i] = Op{Remove: true, Binding: Binding{Name: n}}
	}
	return r.ownDelta(ops)
}

// ownDelta applies ops to this node's bindings as its next version.
func (r *Replica) ownDelta(ops []Op) *Delta {
	o := r.origins[r.self]
	o.v.Ver++
	for _, op := range ops {
		r.applyOp(r.self, o, op)
	}
	return &Delta{Origin: r.self, Version: o.v, Ops: ops}
}

// SetUp says which origins membership reports up (alive or suspect):
// the others' bindings are dropped, and their deltas and states refused
// until they are up again. It returns the bindings dropped.
func (r *Replica) SetUp(up map[string]bool) []Binding {
	r.up = up
	var dropped []Binding
	for name, o := range r.origins {
		if name == r.self || up[name] {
			continue
		}
		for _, b := range o.names {
			dropped = append(dropped, b)
			r.unindex(b)
		}
		r.total -= len(o.names)
		delete(r.origins, name)
	}
	slices.SortFunc(dropped, func(a, b Binding) int { return strings.Compare(a.Name, b.Name) })
	return dropped
}

// accepts reports whether a remote origin's news is taken.
func (r *Replica) accepts(name string) bool {
	return name != r.self && (r.up == nil || r.up[name])
}

// ApplyDelta merges a delta of another origin.
func (r *Replica) ApplyDelta(d Delta) Outcome {
	if !r.accepts(d.Origin) || d.Version.Ver == 0 {
		return Outcome{}
	}
	o := r.origins[d.Origin]
	var have Version
	if o != nil {
		have = o.v
	}
	switch {
	case !have.Less(d.Version):
		return Outcome{} // already had it
	case d.Version.Inc > have.Inc && d.Version.Ver == 1:
		o = r.replace(d.Origin, d.Version, nil) // a new life's first change
	case d.Version.Inc != have.Inc || d.Version.Ver != have.Ver+1 || o == nil:
		return Outcome{Behind: true}
	}
	o.v = d.Version
	var added []string
	for _, op := range d.Ops {
		if r.applyOp(d.Origin, o, op) {
			added = append(added, op.Binding.Name)
		}
	}
	out := r.settle(added)
	out.Applied = true
	return out
}

// ApplyState merges the full state of another origin, taken when it is
// newer than the one held.
func (r *Replica) ApplyState(s State) Outcome {
	if !r.accepts(s.Origin) {
		return Outcome{}
	}
	if o := r.origins[s.Origin]; o != nil && !o.v.Less(s.Version) {
		return Outcome{}
	}
	o := r.replace(s.Origin, s.Version, s.Bindings)
	var added []string
	for _, b := range s.Bindings {
		if r.applyOp(s.Origin, o, Op{Binding: b}) {
			added = append(added, b.Name)
		}
	}
	out := r.settle(added)
	out.Applied = true
	return out
}

// replace drops what is held of origin and starts it over at v.
func (r *Replica) replace(name string, v Version, hint []Binding) *origin {
	if o := r.origins[name]; o != nil {
		for _, b := range o.names {
			r.unindex(b)
		}
		r.total -= len(o.names)
	}
	o := &origin{v: v, names: make(map[string]Binding, len(hint))}
	r.origins[name] = o
	return o
}

// applyOp applies one op to origin o (of node name) and reports whether it
// added a binding.
func (r *Replica) applyOp(name string, o *origin, op Op) bool {
	b := op.Binding
	if old, ok := o.names[b.Name]; ok {
		r.unindex(old)
		delete(o.names, b.Name)
		r.total--
	}
	if op.Remove {
		return false
	}
	if name != r.self && r.total >= r.hard {
		r.refused++
		return false
	}
	o.names[b.Name] = b
	r.total++
	r.byName[b.Name] = append(r.byName[b.Name], b)
	if name == r.self {
		r.byPID[b.PID] = append(r.byPID[b.PID], b.Name)
	} else {
		r.clock = max(r.clock, b.Stamp)
	}
	return true
}

// unindex removes b from the name (and, for this node, PID) indexes.
func (r *Replica) unindex(b Binding) {
	bs := r.byName[b.Name]
	if i := slices.Index(bs, b); i >= 0 {
		bs = slices.Delete(bs, i, i+1)
	}
	if len(bs) == 0 {
		delete(r.byName, b.Name)
	} else {
		r.byName[b.Name] = bs
	}
	if b.PID.Node != r.self {
		return
	}
	ns := r.byPID[b.PID]
	if i := slices.Index(ns, b.Name); i >= 0 {
		ns = slices.Delete(ns, i, i+1)
	}
	if len(ns) == 0 {
		delete(r.byPID, b.PID)
	} else {
		r.byPID[b.PID] = ns
	}
}

// settle removes this node's bindings of the names just added remotely
// that no longer win, as one delta of this node.
func (r *Replica) settle(added []string) Outcome {
	var out Outcome
	self := r.origins[r.self]
	var ops []Op
	for _, name := range added {
		mine, ok := self.names[name]
		if !ok {
			continue
		}
		if w, _ := r.Resolve(name); w != mine {
			out.Revoked = append(out.Revoked, mine)
			ops = append(ops, Op{Remove: true, Binding: Binding{Name: name}})
		}
	}
	if len(ops) > 0 {
		r.conflict += uint64(len(ops))
		out.Own = r.ownDelta(ops)
	}
	return out
}

// Digest returns the version of every origin held, sorted by origin.
func (r *Replica) Digest() []DigestEntry {
	out := make([]DigestEntry, 0, len(r.origins))
	for name, o := range r.origins {
		out = append(out, DigestEntry{Origin: name, Version: o.v})
	}
	slices.SortFunc(out, func(a, b DigestEntry) int { return strings.Compare(a.Origin, b.Origin) })
	return out
}

// Compare returns the origins this replica holds in a newer version than
// digest d (or that d lacks), which it should send to d's sender, and
// whether d has an origin this replica would take (newer, and up here).
func (r *Replica) Compare(d []DigestEntry) (newer []string, behind bool) {
	theirs := make(map[string]Version, len(d))
	for _, e := range d {
		theirs[e.Origin] = e.Version
		if o := r.origins[e.Origin]; r.accepts(e.Origin) && (o == nil || o.v.Less(e.Version)) {
			behind = true
		}
	}
	for name, o := range r.origins {
		if v, ok := theirs[name]; !ok || v.Less(o.v) {
			newer = append(newer, name)
		}
	}
	slices.Sort(newer)
	return newer, behind
}

// StateOf returns the state held of origin.
func (r *Replica) StateOf(name string) (State, bool) {
	o := r.origins[name]
	if o == nil {
		return State{}, false
	}
	s := State{Origin: name, Version: o.v, Bindings: make([]Binding, 0, len(o.names))}
	for _, b := range o.names {
		s.Bindings = append(s.Bindings, b)
	}
	slices.SortFunc(s.Bindings, func(a, b Binding) int { return strings.Compare(a.Name, b.Name) })
	return s, true
}

// List returns the winner of every name, sorted by name, when there are at
// most limit names (nil otherwise), and the number of names.
func (r *Replica) List(limit int) ([]Binding, int) {
	if len(r.byName) > limit {
		return nil, len(r.byName)
	}
	out := make([]Binding, 0, len(r.byName))
	for name := range r.byName {
		w, _ := r.Resolve(name)
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b Binding) int { return strings.Compare(a.Name, b.Name) })
	return out, len(out)
}
