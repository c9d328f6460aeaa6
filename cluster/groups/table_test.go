package groups

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

func pidOf(node string, seq uint64) pid.PID { return pid.PID{Node: node, Host: "app:h", Seq: seq} }

func newTestTable(self string, max int) *Table {
	t := NewTable(self, 7, max)
	t.AddScope("app:pg", ScopeLimits{})
	return t
}

func TestJoinLeaveCountsMultiJoins(t *testing.T) {
	tb := newTestTable("a", 100)
	p := pidOf("a", 1)
	for range 2 {
		if _, _, err := tb.Join("app:pg", []string{"w"}, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := tb.Members("app:pg", "w", false); len(got) != 2 {
		t.Fatalf("members after two joins: %v", got)
	}
	if _, _, err := tb.Leave("app:pg", []string{"w"}, p); err != nil {
		t.Fatal(err)
	}
	if got := tb.Members("app:pg", "w", false); len(got) != 1 {
		t.Fatalf("members after one leave: %v", got)
	}
	if _, _, err := tb.Leave("app:pg", []string{"w"}, p); err != nil {
		t.Fatal(err)
	}
	if got := tb.Groups("app:pg", false); len(got) != 0 {
		t.Fatalf("groups after the last leave: %v", got)
	}
	if _, _, err := tb.Leave("app:pg", []string{"w"}, p); !errors.Is(err, ErrNotMember) {
		t.Fatalf("leave with no membership: %v", err)
	}
}

func TestLeaveIsBestEffortAcrossABatch(t *testing.T) {
	tb := newTestTable("a", 100)
	p := pidOf("a", 1)
	tb.Join("app:pg", []string{"x"}, p)
	d, evs, err := tb.Leave("app:pg", []string{"x", "y"}, p)
	if err != nil || len(d.Ops) != 1 || len(evs) != 1 || evs[0].Group != "x" || evs[0].Joined {
		t.Fatalf("leave x,y: %+v %+v %v", d, evs, err)
	}
}

func TestBadInput(t *testing.T) {
	tb := newTestTable("a", 100)
	p := pidOf("a", 1)
	long := string(make([]byte, MaxName+1))
	for _, c := range []struct {
		scope  string
		groups []string
		want   error
	}{
		{"app:pg", nil, ErrBadGroup},
		{"app:pg", []string{""}, ErrBadGroup},
		{"app:pg", []string{"ok", long}, ErrBadGroup},
		{"app:other", []string{"x"}, ErrNoScope},
	} {
		if _, _, err := tb.Join(c.scope, c.groups, p); !errors.Is(err, c.want) {
			t.Errorf("join %q %q: %v, want %v", c.scope, c.groups, err, c.want)
		}
	}
	if len(tb.Groups("app:pg", false)) != 0 {
		t.Fatal("a refused batch joined something")
	}
}

func TestLimits(t *testing.T) {
	tb := NewTable("a", 1, 5)
	tb.AddScope("s", ScopeLimits{MaxGroups: 2, MaxMembersPerGroup: 2})
	p, q := pidOf("a", 1), pidOf("a", 2)
	mustJoin(t, tb, "s", p, "g1", "g2")
	if _, _, err := tb.Join("s", []string{"g3"}, p); !errors.Is(err, ErrTooManyGroups) {
		t.Fatalf("third group: %v", err)
	}
	mustJoin(t, tb, "s", q, "g1")
	if _, _, err := tb.Join("s", []string{"g1"}, q); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("third member: %v", err)
	}
	if _, _, err := tb.Join("s", []string{"g2", "g2"}, q); !errors.Is(err, ErrGroupFull) {
		t.Fatalf("a batch past the group bound: %v", err)
	}
	mustJoin(t, tb, "s", q, "g2")
	// 4 memberships held, bound 5: a batch of two does not fit.
	tb.AddScope("t", ScopeLimits{})
	if _, _, err := tb.Join("t", []string{"a", "b"}, q); !errors.Is(err, ErrNodeFull) {
		t.Fatalf("past the node bound: %v", err)
	}
}

func mustJoin(t *testing.T, tb *Table, scope string, p pid.PID, groups ...string) Delta {
	t.Helper()
	d, _, err := tb.Join(scope, groups, p)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeltasInOrderGapAndStale(t *testing.T) {
	src, dst := newTestTable("a", 100), newTestTable("b", 100)
	d1 := mustJoin(t, src, "app:pg", pidOf("a", 1), "w")
	d2 := mustJoin(t, src, "app:pg", pidOf("a", 2), "w")
	if got, _ := dst.ApplyDelta("a", &d1); got != AppliedGap {
		t.Fatalf("a delta before the state: %v", got)
	}
	st := src.State()
	st.Seq, st.Members = 1, st.Members[:1] // as of d1
	if evs := dst.ApplyState("a", &st); len(evs) != 1 || !evs[0].Joined {
		t.Fatalf("state events: %+v", evs)
	}
	if got, _ := dst.ApplyDelta("a", &d1); got != AppliedStale {
		t.Fatalf("d1 again: %v", got)
	}
	got, evs := dst.ApplyDelta("a", &d2)
	if got != AppliedOK || len(evs) != 1 || evs[0].PIDs[0] != pidOf("a", 2) {
		t.Fatalf("d2: %v %+v", got, evs)
	}
	d4 := Delta{Boot: d2.Boot, Seq: 4, Ops: []Op{{Key: Key{"app:pg", "w"}, PID: pidOf("a", 9), N: 1}}}
	if got, _ := dst.ApplyDelta("a", &d4); got != AppliedGap {
		t.Fatalf("a delta after a lost one: %v", got)
	}
	if b, s := src.Digest(); dst.Behind("a", b, s) {
		t.Fatal("replica behind after every delta")
	}
	d3 := mustJoin(t, src, "app:pg", pidOf("a", 3), "w")
	if b, s := src.Digest(); !dst.Behind("a", b, s) || d3.Seq != 3 {
		t.Fatal("replica not behind after a missed delta")
	}
}

func TestStateIsDifferentialAndDropLeavesAll(t *testing.T) {
	dst := newTestTable("b", 100)
	k := Key{"app:pg", "w"}
	p1, p2, p3 := pidOf("a", 1), pidOf("a", 2), pidOf("a", 3)
	dst.ApplyState("a", &State{Boot: 1, Seq: 5, Members: []Op{{k, p1, 2}, {k, p2, 1}}})
	evs := dst.ApplyState("a", &State{Boot: 1, Seq: 9, Members: []Op{{k, p1, 1}, {k, p3, 1}}})
	want := []Event{{Key: k, Joined: false, PIDs: []pid.PID{p1, p2}}, {Key: k, Joined: true, PIDs: []pid.PID{p3}}}
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("differential events:\n got %v\nwant %v", evs, want)
	}
	evs = dst.Drop("a")
	if len(evs) != 1 || evs[0].Joined || len(evs[0].PIDs) != 2 || len(dst.Groups("app:pg", false)) != 0 {
		t.Fatalf("drop: %+v, groups %v", evs, dst.Groups("app:pg", false))
	}
	if dst.Known("a") {
		t.Fatal("dropped origin still known")
	}
}

func TestRemoteBoundsAndUndeclaredScopes(t *testing.T) {
	dst := newTestTable("b", 3)
	k, other := Key{"app:pg", "w"}, Key{"app:nope", "w"}
	evs := dst.ApplyState("a", &State{Boot: 1, Seq: 1, Members: []Op{
		{k, pidOf("a", 1), 2}, {k, pidOf("a", 2), 2}, {other, pidOf("a", 3), 1},
	}})
	if n := len(dst.Members("app:pg", "w", false)); n != 3 {
		t.Fatalf("members kept past a bound of 3: %d (%v)", n, evs)
	}
	if dst.Refused() != 2 {
		t.Fatalf("refused %d, want 2 (one past the bound, one undeclared)", dst.Refused())
	}
	d := Delta{Boot: 1, Seq: 2, Ops: []Op{{k, pidOf("a", 7), -4}}}
	if got, evs := dst.ApplyDelta("a", &d); got != AppliedOK || len(evs) != 0 {
		t.Fatalf("a leave of an unknown member: %v %v", got, evs)
	}
}

func TestTargets(t *testing.T) {
	tb := newTestTable("a", 100)
	p := pidOf("a", 1)
	mustJoin(t, tb, "app:pg", p, "w", "w")
	tb.ApplyState("c", &State{Boot: 1, Seq: 1, Members: []Op{{Key{"app:pg", "w"}, pidOf("c", 1), 1}}})
	tg := tb.Targets("app:pg", "w")
	if !slices.Equal(tg.Local, []pid.PID{p}) || !slices.Equal(tg.Nodes, []string{"c"}) {
		t.Fatalf("targets: %+v", tg)
	}
	if tb.Targets("app:pg", "w") != tg {
		t.Fatal("targets rebuilt with no change")
	}
	mustJoin(t, tb, "app:pg", pidOf("a", 2), "w")
	if got := tb.Targets("app:pg", "w"); len(got.Local) != 2 || len(tg.Local) != 1 {
		t.Fatalf("targets after a join: %+v (old %+v)", got, tg)
	}
	if got := tb.Groups("app:pg", true); !slices.Equal(got, []string{"w"}) {
		t.Fatalf("local groups: %v", got)
	}
}

// TestReplicaConverges runs random joins, leaves and exits on one node
// and ships its deltas to another, losing some; whenever the replica
// sees a gap it takes the full state. At the end (after a last digest
// check) the replica lists what the origin lists, and its events,
// replayed from nothing, give exactly its members: a monitor sees every
// change once.
func TestReplicaConverges(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		src, dst := newTestTable("a", 60), newTestTable("b", 60)
		seen := map[Key]map[pid.PID]int{}
		record := func(evs []Event) {
			for _, ev := range evs {
				if seen[ev.Key] == nil {
					seen[ev.Key] = map[pid.PID]int{}
				}
				for _, p := range ev.PIDs {
					if ev.Joined {
						seen[ev.Key][p]++
					} else {
						seen[ev.Key][p]--
					}
				}
			}
		}
		ship := func(d Delta) {
			if rng.IntN(5) == 0 {
				return // lost
			}
			got, evs := dst.ApplyDelta("a", &d)
			record(evs)
			if got == AppliedGap {
				st := src.State()
				record(dst.ApplyState("a", &st))
			}
		}
		for range 300 {
			p := pidOf("a", uint64(rng.IntN(6)+1))
			g := []string{fmt.Sprint("g", rng.IntN(4))}
			switch rng.IntN(4) {
			case 0, 1:
				if d, _, err := src.Join("app:pg", g, p); err == nil {
					ship(d)
				}
			case 2:
				if d, _, err := src.Leave("app:pg", g, p); err == nil {
					ship(d)
				}
			case 3:
				if d, _, ok := src.LeaveAll(p); ok {
					ship(d)
				}
			}
		}
		if b, s := src.Digest(); dst.Behind("a", b, s) {
			st := src.State()
			record(dst.ApplyState("a", &st))
		}
		for _, g := range []string{"g0", "g1", "g2", "g3"} {
			want, got := src.Members("app:pg", g, false), dst.Members("app:pg", g, false)
			if !slices.Equal(want, got) {
				t.Fatalf("seed %d group %s: replica %v, origin %v", seed, g, got, want)
			}
			var replay []pid.PID
			for p, n := range seen[Key{"app:pg", g}] {
				if n < 0 {
					t.Fatalf("seed %d: %v left more often than it joined", seed, p)
				}
				for range n {
					replay = append(replay, p)
				}
			}
			slices.SortFunc(replay, comparePID)
			if !slices.Equal(replay, got) {
				t.Fatalf("seed %d group %s: events replay to %v, members %v", seed, g, replay, got)
			}
		}
	}
}

// TestMemoryPerMembership: what the table holds per membership of another
// node (docs/cluster.md gives the figure; the bound is loose: the heap
// measure is noisy).
func TestMemoryPerMembership(t *testing.T) {
	const n = 100_000
	st := State{Boot: 1, Seq: 1}
	for i := range n {
		st.Members = append(st.Members, Op{Key{"app:pg", fmt.Sprint("group-", i%1000)}, pidOf("b", uint64(i+1)), 1})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := newTestTable("a", n)
	tb.ApplyState("b", &st)
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := int(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%d bytes per membership", per)
	if per > 400 {
		t.Fatalf("%d bytes per membership", per)
	}
	runtime.KeepAlive(tb)
}
