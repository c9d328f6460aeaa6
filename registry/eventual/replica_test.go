package eventual

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

func ppid(node string, seq uint64) pid.PID { return pid.PID{Node: node, Host: "app", Seq: seq} }

func mustRegister(t *testing.T, r *Replica, name string, p pid.PID, now uint64) *Delta {
	t.Helper()
	d, _, err := r.Register(name, p, now)
	if err != nil || d == nil {
		t.Fatalf("register %s: %v %v", name, d, err)
	}
	return d
}

func TestReplicaLocal(t *testing.T) {
	r := NewReplica("a", 1, 3)
	p, q := ppid("a", 1), ppid("a", 2)
	d := mustRegister(t, r, "x", p, 100)
	if d.Version != (Version{1, 1}) || len(d.Ops) != 1 || d.Ops[0].Binding.Stamp != 100 {
		t.Fatalf("delta %+v", d)
	}
	if d, _, err := r.Register("x", p, 50); d != nil || err != nil {
		t.Fatalf("again: %v %v", d, err)
	}
	if _, owner, err := r.Register("x", q, 200); !errors.Is(err, registry.ErrAlreadyExists) || owner != p {
		t.Fatalf("taken: %v %v", owner, err)
	}
	if _, _, err := r.Register("y", ppid("b", 1), 200); !errors.Is(err, ErrRemotePID) || !errors.Is(err, registry.ErrInvalidPID) {
		t.Fatalf("remote pid: %v", err)
	}
	if _, _, err := r.Register("", p, 200); !errors.Is(err, registry.ErrInvalidName) {
		t.Fatalf("empty name: %v", err)
	}
	// The clock never goes back: a later registration at an earlier wall
	// time still gets a higher stamp.
	if d := mustRegister(t, r, "y", p, 10); d.Ops[0].Binding.Stamp != 101 {
		t.Fatalf("stamp %d, want 101", d.Ops[0].Binding.Stamp)
	}
	mustRegister(t, r, "z", q, 300)
	if _, _, err := r.Register("w", q, 400); !errors.Is(err, ErrFull) || !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("past the bound: %v", err)
	}
	if _, owner, err := r.Unregister("x", q); !errors.Is(err, registry.ErrNotOwner) || owner != p {
		t.Fatalf("not owner: %v %v", owner, err)
	}
	if _, _, err := r.Unregister("nope", q); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("not found: %v", err)
	}
	if d, _, err := r.Unregister("x", p); err != nil || !d.Ops[0].Remove {
		t.Fatalf("unregister: %v %v", d, err)
	}
	d = r.ReleasePID(p)
	if d == nil || len(d.Ops) != 1 || d.Ops[0].Binding.Name != "y" || d.Version.Ver != 5 {
		t.Fatalf("release %+v", d)
	}
	if r.ReleasePID(p) != nil {
		t.Fatal("second release made a delta")
	}
	if b, ok := r.Resolve("z"); !ok || b.PID != q || r.Len() != 1 || r.Own() != 1 {
		t.Fatalf("z -> %v %v, len %d", b, ok, r.Len())
	}
}

func TestReplicaMerge(t *testing.T) {
	a, b := NewReplica("a", 10, 100), NewReplica("b", 20, 100)
	d1 := mustRegister(t, a, "x", ppid("a", 1), 100)
	d2 := mustRegister(t, a, "y", ppid("a", 1), 200)
	d3, _, _ := a.Unregister("x", ppid("a", 1))

	// In order, once each; a repeat changes nothing.
	for _, d := range []*Delta{d1, d2, d1} {
		b.ApplyDelta(*d)
	}
	if got, _ := b.Resolve("x"); got.PID != ppid("a", 1) {
		t.Fatalf("x -> %v", got)
	}
	// A gap is reported and nothing applied.
	c := NewReplica("c", 30, 100)
	if out := c.ApplyDelta(*d2); !out.Behind || out.Applied {
		t.Fatalf("gap: %+v", out)
	}
	// A state catches it up; an older state changes nothing after.
	s, _ := a.StateOf("a")
	if out := c.ApplyState(s); !out.Applied {
		t.Fatalf("state: %+v", out)
	}
	if out := c.ApplyDelta(*d3); out.Applied {
		t.Fatalf("a delta older than the state applied: %+v", out)
	}
	if _, ok := c.Resolve("x"); ok {
		t.Fatal("x survived the state")
	}
	if got, ok := c.Resolve("y"); !ok || got.PID != ppid("a", 1) {
		t.Fatalf("y -> %v %v", got, ok)
	}
	// A node's own news is never taken from others.
	if out := a.ApplyState(State{Origin: "a", Version: Version{99, 99}}); out.Applied {
		t.Fatal("a replica took its own origin's state from a peer")
	}
	// A new life's first change replaces the old life's set.
	a2 := NewReplica("a", 11, 100)
	d := mustRegister(t, a2, "z", ppid("a", 9), 300)
	if out := c.ApplyDelta(*d); !out.Applied {
		t.Fatalf("new life: %+v", out)
	}
	if _, ok := c.Resolve("y"); ok {
		t.Fatal("the old life's binding survived the new life")
	}
	// An old life's state is refused after the new life's.
	if out := c.ApplyState(s); out.Applied {
		t.Fatal("old life's state applied")
	}
}

// TestReplicaConflict: two origins bind one name; every replica resolves
// the same winner whatever the order, and the loser's origin revokes its
// binding exactly once.
func TestReplicaConflict(t *testing.T) {
	a, b := NewReplica("a", 1, 100), NewReplica("b", 1, 100)
	da := mustRegister(t, a, "svc", ppid("a", 1), 500)
	db := mustRegister(t, b, "svc", ppid("b", 1), 400) // earlier: b wins
	third := NewReplica("c", 1, 100)
	third.ApplyDelta(*da)
	if got, _ := third.Resolve("svc"); got.PID != ppid("a", 1) {
		t.Fatalf("before b: %v", got)
	}
	third.ApplyDelta(*db)
	if got, _ := third.Resolve("svc"); got.PID != ppid("b", 1) {
		t.Fatalf("after b: %v", got)
	}
	// b hears of a: b keeps it, revokes nothing.
	if out := b.ApplyDelta(*da); len(out.Revoked) != 0 || out.Own != nil {
		t.Fatalf("winner revoked: %+v", out)
	}
	// a hears of b: a loses and removes its binding, once.
	out := a.ApplyDelta(*db)
	if len(out.Revoked) != 1 || out.Revoked[0].PID != ppid("a", 1) || out.Own == nil || !out.Own.Ops[0].Remove {
		t.Fatalf("loser: %+v", out)
	}
	if got, _ := a.Resolve("svc"); got.PID != ppid("b", 1) || a.Conflicts() != 1 {
		t.Fatalf("a resolves %v", got)
	}
	if out := a.ApplyState(State{Origin: "b", Version: Version{1, 1}, Bindings: []Binding{db.Ops[0].Binding}}); len(out.Revoked) != 0 {
		t.Fatalf("revoked twice: %+v", out)
	}
	// The removal reaches the others; only the winner is left.
	b.ApplyDelta(*out.Own)
	third.ApplyDelta(*out.Own)
	for _, r := range []*Replica{a, b, third} {
		if r.Len() != 1 {
			t.Fatalf("%s holds %d bindings", r.self, r.Len())
		}
	}
	// Equal stamps: the lower PID wins.
	x, y := NewReplica("x", 1, 10), NewReplica("y", 1, 10)
	dx := mustRegister(t, x, "n", ppid("x", 1), 7)
	dy := mustRegister(t, y, "n", ppid("y", 1), 7)
	x.ApplyDelta(*dy)
	if out := y.ApplyDelta(*dx); len(out.Revoked) != 1 {
		t.Fatalf("tie: y kept its binding: %+v", out)
	}
	// After seeing a binding, a node's clock is past it: a late node with
	// a slow clock cannot win a name it knows of (it is refused anyway),
	// nor one registered after.
	if x.clock < 7 || y.clock < 7 {
		t.Fatal("the clock did not follow the stamps seen")
	}
}

func TestReplicaMembership(t *testing.T) {
	a, b := NewReplica("a", 1, 100), NewReplica("b", 1, 100)
	b.SetUp(map[string]bool{"a": true})
	d := mustRegister(t, a, "x", ppid("a", 1), 1)
	b.ApplyDelta(*d)
	dropped := b.SetUp(map[string]bool{})
	if len(dropped) != 1 || dropped[0].Name != "x" || b.Len() != 0 {
		t.Fatalf("dropped %v, len %d", dropped, b.Len())
	}
	s, _ := a.StateOf("a")
	if out := b.ApplyState(s); out.Applied {
		t.Fatal("state of a node that is down applied")
	}
	b.SetUp(map[string]bool{"a": true})
	if out := b.ApplyState(s); !out.Applied || b.Len() != 1 {
		t.Fatalf("state after up: %+v", out)
	}
	// The bound on remote additions.
	small := NewReplica("c", 1, 1)
	if out := small.ApplyState(State{Origin: "a", Version: Version{1, 3}, Bindings: []Binding{
		{Name: "1", PID: ppid("a", 1), Stamp: 1}, {Name: "2", PID: ppid("a", 1), Stamp: 2}, {Name: "3", PID: ppid("a", 1), Stamp: 3},
	}}); !out.Applied || small.Len() != 2 || small.Refused() != 1 {
		t.Fatalf("bound: len %d refused %d", small.Len(), small.Refused())
	}
}

// TestReplicasConverge: nodes register and unregister names (many
// shared) and deliver one another's deltas late, twice, out of order or
// never, then anti-entropy runs: every replica resolves the same winner
// for every name, holds one binding per name, and every binding that lost
// was revoked exactly once.
func TestReplicasConverge(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { converge(t, seed) })
	}
}

func converge(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	nodes := []string{"a", "b", "c", "d"}
	reps := map[string]*Replica{}
	for _, n := range nodes {
		reps[n] = NewReplica(n, 1, 1000)
	}
	type queued struct {
		to string
		d  Delta
	}
	var queue []queued
	revoked := map[Binding]int{}
	send := func(d *Delta) {
		for _, n := range nodes {
			if n != d.Origin {
				queue = append(queue, queued{n, *d})
			}
		}
	}
	merged := func(out Outcome) {
		for _, b := range out.Revoked {
			revoked[b]++
		}
		if out.Own != nil {
			send(out.Own)
		}
	}
	names := []string{"n0", "n1", "n2", "n3", "n4"}
	now := uint64(1000)
	for range 400 {
		now += uint64(rng.IntN(3))
		n := nodes[rng.IntN(len(nodes))]
		r := reps[n]
		p := ppid(n, uint64(1+rng.IntN(3)))
		switch k := rng.IntN(10); {
		case k < 5:
			if d, _, _ := r.Register(names[rng.IntN(len(names))], p, now); d != nil {
				send(d)
			}
		case k < 7:
			if d, _, _ := r.Unregister(names[rng.IntN(len(names))], p); d != nil {
				send(d)
			}
		case k < 8:
			if d := r.ReleasePID(p); d != nil {
				send(d)
			}
		default: // deliver a few queued deltas, in any order, some twice, some never
			for range rng.IntN(4) {
				if len(queue) == 0 {
					break
				}
				i := rng.IntN(len(queue))
				q := queue[i]
				switch rng.IntN(5) {
				case 0: // lost
				case 1: // duplicated
					queue = append(queue, q)
					merged(reps[q.to].ApplyDelta(q.d))
				default:
					merged(reps[q.to].ApplyDelta(q.d))
				}
				queue = slices.Delete(queue, i, i+1)
			}
		}
	}
	// Deliver what is left, then anti-entropy until nothing changes.
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		merged(reps[q.to].ApplyDelta(q.d))
	}
	for round := 0; ; round++ {
		changed := false
		for _, from := range nodes {
			for _, to := range nodes {
				newer, _ := reps[from].Compare(reps[to].Digest())
				for _, o := range newer {
					s, _ := reps[from].StateOf(o)
					out := reps[to].ApplyState(s)
					changed = changed || out.Applied
					merged(out)
				}
			}
		}
		for len(queue) > 0 { // removals of lost bindings
			q := queue[0]
			queue = queue[1:]
			merged(reps[q.to].ApplyDelta(q.d))
			changed = true
		}
		if !changed {
			break
		}
		if round > 10 {
			t.Fatal("anti-entropy does not settle")
		}
	}
	ref := reps["a"]
	for _, n := range nodes {
		r := reps[n]
		if !slices.Equal(r.Digest(), ref.Digest()) {
			t.Fatalf("digests differ: %v / %v", r.Digest(), ref.Digest())
		}
		for _, name := range names {
			w, ok := r.Resolve(name)
			rw, rok := ref.Resolve(name)
			if ok != rok || w != rw {
				t.Fatalf("%s resolves %s to %v, a to %v", n, name, w, rw)
			}
			if len(r.byName[name]) > 1 {
				t.Fatalf("%s still holds %d bindings of %s", n, len(r.byName[name]), name)
			}
		}
	}
	t.Logf("%d bindings revoked", len(revoked))
	for b, n := range revoked {
		if n != 1 {
			t.Fatalf("%v revoked %d times", b, n)
		}
	}
}
