package fsm

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Small pools, so that random commands collide often.
var (
	names = []string{"a", "b", "c", "cache", "db", "leader", "q", "z"}
	pids  = []pid.PID{
		{Node: "n1", Host: "app:processes", Seq: 1},
		{Node: "n1", Host: "app:processes", Seq: 2},
		{Node: "n1", Host: "app:terminal", Seq: 3},
		{Node: "n2", Host: "app:processes", Seq: 1},
		{Node: "n2", Host: "app:processes", Seq: 7},
		{Node: "n3", Host: "app:processes", Seq: 1},
	}
	nodes = []string{"n1", "n2", "n3", "n4"}
)

// randomCommands returns n commands drawn with a fixed seed.
func randomCommands(seed uint64, n int) []Command {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	name := func() string { return names[rng.IntN(len(names))] }
	p := func() pid.PID { return pids[rng.IntN(len(pids))] }
	out := make([]Command, n)
	for i := range out {
		switch k := rng.IntN(28); {
		case k < 9:
			out[i] = Register{name(), p()}
		case k < 13:
			out[i] = Unregister{name(), p()}
		case k < 16:
			out[i] = UnregisterIfOwned{name(), p()}
		case k < 19:
			out[i] = ReleasePID{p()}
		case k < 20:
			out[i] = ReleaseNode{nodes[rng.IntN(len(nodes))]}
		case k < 23:
			out[i] = Reserve{name(), p(), uint64(rng.IntN(3))}
		case k < 25:
			out[i] = Activate{name(), p()}
		case k < 26:
			out[i] = Abort{name(), p()}
		default:
			out[i] = UnregisterStrong{name(), p()}
		}
	}
	return out
}

// model is the obvious, slow implementation the FSM is checked against.
type model map[string]registry.Entry

func (m model) apply(index uint64, c Command) (error, []string) {
	var gone []string
	release := func(match func(pid.PID) bool) {
		for name, e := range m {
			if match(e.PID) {
				gone = append(gone, name)
				delete(m, name)
			}
		}
		slices.Sort(gone)
	}
	unregister := func(name string, owner pid.PID, strong bool) error {
		e, ok := m[name]
		if !ok || e.Strong != strong {
			return registry.ErrNotFound
		}
		if e.PID != owner {
			return registry.ErrNotOwner
		}
		delete(m, name)
		gone = []string{name}
		return nil
	}
	switch c := c.(type) {
	case Register:
		if e, ok := m[c.Name]; ok {
			if e.PID != c.PID || e.Strong {
				return registry.ErrAlreadyExists, nil
			}
			return nil, nil
		}
		m[c.Name] = registry.Entry{Name: c.Name, PID: c.PID, Index: index}
	case Unregister:
		return unregister(c.Name, c.Owner, false), gone
	case UnregisterStrong:
		return unregister(c.Name, c.Owner, true), gone
	case Reserve:
		if e, ok := m[c.Name]; ok {
			if e.PID != c.PID || !e.Strong {
				return registry.ErrAlreadyExists, nil
			}
			return nil, nil
		}
		m[c.Name] = registry.Entry{Name: c.Name, PID: c.PID, Index: index, Strong: true, Pending: true, Deadline: int64(c.Deadline)}
	case Activate:
		e, ok := m[c.Name]
		if !ok || e.PID != c.PID || !e.Strong {
			return registry.ErrNotFound, nil
		}
		e.Pending, e.Deadline = false, 0
		m[c.Name] = e
	case Abort:
		if e, ok := m[c.Name]; ok && e.PID == c.PID && e.Pending {
			delete(m, c.Name)
			gone = []string{c.Name}
		}
	case UnregisterIfOwned:
		if e, ok := m[c.Name]; ok && e.PID == c.Owner {
			delete(m, c.Name)
			gone = []string{c.Name}
		}
	case ReleasePID:
		release(func(p pid.PID) bool { return p == c.PID })
	case ReleaseNode:
		release(func(p pid.PID) bool { return p.Node == c.Node })
	}
	return nil, gone
}

func (m model) list() []registry.Entry {
	out := make([]registry.Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b registry.Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TestModel drives the FSM and the model with the same random commands,
// at gapped indexes, and compares every result and the table after each.
func TestModel(t *testing.T) {
	for seed := range uint64(20) {
		f, m := New(), model{}
		index := uint64(0)
		for i, c := range randomCommands(seed, 400) {
			index += 1 + uint64(i%3)
			res := f.Apply(index, c)
			wantErr, gone := m.apply(index, c)
			if res.Err != wantErr {
				t.Fatalf("seed %d step %d %#v: err %v, model %v", seed, i, c, res.Err, wantErr)
			}
			var got []string
			for _, ev := range res.Changes {
				if ev.Index != index {
					t.Fatalf("seed %d step %d: event index %d, want %d", seed, i, ev.Index, index)
				}
				if ev.Kind == registry.EventUnregistered {
					got = append(got, ev.Name)
				}
			}
			if !slices.Equal(got, gone) {
				t.Fatalf("seed %d step %d %#v: released %v, model %v", seed, i, c, got, gone)
			}
			if !reflect.DeepEqual(f.List(), m.list()) {
				t.Fatalf("seed %d step %d: table\n got %v\nwant %v", seed, i, f.List(), m.list())
			}
			checkInvariants(t, f)
		}
	}
}

// TestDeterminism applies the same log to two tables, one of them through
// the wire encoding and a snapshot/restore half way, and expects identical
// snapshots and identical results at every step.
func TestDeterminism(t *testing.T) {
	cmds := randomCommands(42, 2000)
	a, b := New(), New()
	for i, c := range cmds {
		index := uint64(i + 1)
		if i == len(cmds)/2 {
			snap, err := b.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			b = New()
			if _, err := b.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
		wire, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		dc, err := DecodeCommand(wire)
		if err != nil {
			t.Fatal(err)
		}
		ra, rb := a.Apply(index, c), b.Apply(index, dc)
		if !reflect.DeepEqual(ra, rb) {
			t.Fatalf("step %d: results differ\n%+v\n%+v", i, ra, rb)
		}
	}
	sa, _ := a.Snapshot()
	sb, _ := b.Snapshot()
	if string(sa) != string(sb) {
		t.Fatal("snapshots differ")
	}
	if a.Len() == 0 {
		t.Fatal("the log left an empty table; the test proves little")
	}
}
