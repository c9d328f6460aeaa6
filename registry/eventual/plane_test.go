package eventual

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestPlaneBasics(t *testing.T) {
	for _, overTCP := range []bool{false, true} {
		t.Run(map[bool]string{false: "memnet", true: "tcp"}[overTCP], func(t *testing.T) {
			m := newMesh(t, 3, overTCP, nil)
			ctx := context.Background()
			a := ppid("n1", 1)
			if err := m.node("n1").p.Register(ctx, "svc", a); err != nil {
				t.Fatal(err)
			}
			m.resolves(m.names, "svc", a)
			err := m.node("n2").p.Register(ctx, "svc", ppid("n2", 1))
			if !errors.Is(err, registry.ErrAlreadyExists) || proc.AsError(err).Kind != proc.KindAlreadyExists {
				t.Fatalf("taken name on n2: %v", err)
			}
			if err := m.node("n2").p.Unregister(ctx, "svc", ppid("n2", 1)); proc.AsError(err).Kind != proc.KindPermissionDenied {
				t.Fatalf("unregister of n1's binding on n2: %v", err)
			}
			if err := m.node("n1").p.Register(ctx, "other", ppid("n2", 5)); proc.AsError(err).Kind != proc.KindInvalid {
				t.Fatalf("a process of another node: %v", err)
			}
			if err := m.node("n1").p.Unregister(ctx, "svc", a); err != nil {
				t.Fatal(err)
			}
			m.resolves(m.names, "svc", pid.PID{})
			for i := range 5 {
				if err := m.node("n2").p.Register(ctx, fmt.Sprint("w", i), ppid("n2", 7)); err != nil {
					t.Fatal(err)
				}
			}
			m.resolves(m.names, "w4", ppid("n2", 7))
			m.node("n2").p.ReleasePID(ppid("n2", 7))
			m.resolves(m.names, "w0", pid.PID{})
			m.resolves(m.names, "w4", pid.PID{})
		})
	}
}

// TestPlanePartitionConflict: n1 is cut off and each side believes the
// other down; both register "svc" and resolve their own. After the heal
// every node resolves the first registration, and the other's process is
// revoked exactly once.
func TestPlanePartitionConflict(t *testing.T) {
	for _, noticed := range []bool{true, false} {
		t.Run(fmt.Sprint("membership noticed ", noticed), func(t *testing.T) {
			m := newMesh(t, 3, false, nil)
			minority, majority := []string{"n1"}, []string{"n2", "n3"}
			m.partition(minority, majority)
			if noticed {
				m.see(minority, majority, false)
				m.see(majority, minority, false)
			}
			ctx := context.Background()
			first, second := ppid("n1", 1), ppid("n2", 1)
			if err := m.node("n1").p.Register(ctx, "svc", first); err != nil {
				t.Fatal(err)
			}
			if err := m.node("n2").p.Register(ctx, "svc", second); err != nil {
				t.Fatalf("an eventual write in the majority: %v", err)
			}
			m.resolves(minority, "svc", first)
			m.resolves(majority, "svc", second)
			m.heal(minority, majority)
			if noticed {
				m.see(minority, majority, true)
				m.see(majority, minority, true)
			}
			m.resolves(m.names, "svc", first)
			select {
			case r := <-m.node("n2").revoked:
				if r != "svc "+second.String() {
					t.Fatalf("revoked %q", r)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the loser was never revoked")
			}
			await.Never(t, 300*time.Millisecond, "a second revocation", func() bool {
				return len(m.node("n1").revoked)+len(m.node("n2").revoked)+len(m.node("n3").revoked) > 0
			})
			for _, n := range m.names {
				if s := m.node(n).p.Stats(); s.Bindings != 1 || s.Names != 1 {
					t.Fatalf("%s holds %+v", n, s)
				}
			}
		})
	}
}

// TestPlaneNodeDown: the names of a node membership no longer reports up
// are dropped everywhere; when it is up again (it was only cut off) they
// come back.
func TestPlaneNodeDown(t *testing.T) {
	m := newMesh(t, 3, false, nil)
	ctx := context.Background()
	p := ppid("n3", 1)
	if err := m.node("n3").p.Register(ctx, "svc", p); err != nil {
		t.Fatal(err)
	}
	m.resolves(m.names, "svc", p)
	m.partition([]string{"n3"}, []string{"n1", "n2"})
	m.see([]string{"n1", "n2"}, []string{"n3"}, false)
	m.resolves([]string{"n1", "n2"}, "svc", pid.PID{})
	m.heal([]string{"n3"}, []string{"n1", "n2"})
	m.see([]string{"n1", "n2"}, []string{"n3"}, true)
	m.resolves(m.names, "svc", p)
	// Killed for good.
	m.kill("n3")
	m.see([]string{"n1", "n2"}, []string{"n3"}, false)
	m.resolves([]string{"n1", "n2"}, "svc", pid.PID{})
}

// TestPlaneRestart: a node restarted (a new life, nothing registered) and
// one that missed changes while others thought it down both catch up by
// anti-entropy, the state going in several pages.
func TestPlaneRestart(t *testing.T) {
	m := newMesh(t, 3, false, func(c *Config) { c.PageBytes = 4 << 10 })
	ctx := context.Background()
	for i := range 300 {
		if err := m.node("n2").p.Register(ctx, fmt.Sprintf("name-%03d-%s", i, "padding-padding-padding"), ppid("n2", uint64(i%7+1))); err != nil {
			t.Fatal(err)
		}
	}
	m.resolves(m.names, "name-299-padding-padding-padding", ppid("n2", 299%7+1))
	// n3 misses n1's changes: it is cut off, and believed down.
	m.partition([]string{"n3"}, []string{"n1", "n2"})
	m.see([]string{"n1", "n2"}, []string{"n3"}, false)
	m.see([]string{"n3"}, []string{"n1", "n2"}, false)
	for i := range 300 {
		if err := m.node("n1").p.Register(ctx, fmt.Sprintf("late-%03d-%s", i, "padding-padding-padding"), ppid("n1", 1)); err != nil {
			t.Fatal(err)
		}
	}
	m.resolves([]string{"n2"}, "late-299-padding-padding-padding", ppid("n1", 1))
	if _, ok := m.node("n3").p.Resolve("late-000-padding-padding-padding"); ok {
		t.Fatal("n3 heard of a change while n1 thought it down")
	}
	m.heal([]string{"n3"}, []string{"n1", "n2"})
	m.see([]string{"n1", "n2"}, []string{"n3"}, true)
	m.see([]string{"n3"}, []string{"n1", "n2"}, true)
	m.resolves([]string{"n3"}, "late-299-padding-padding-padding", ppid("n1", 1))
	m.resolves([]string{"n3"}, "name-299-padding-padding-padding", ppid("n2", 299%7+1))
	// n2 restarts with nothing: its old names go.
	m.kill("n2")
	m.start("n2")
	for _, n := range m.names {
		m.node("n2").view.set(n, true)
	}
	m.resolves(m.names, "name-000-padding-padding-padding", pid.PID{})
	m.resolves(m.names, "late-299-padding-padding-padding", ppid("n1", 1))
	if s := m.node("n3").p.Stats(); s.Bindings != 300 || s.StatesIn < 2 {
		t.Fatalf("n3 %+v", s)
	}
}

func TestPlaneBound(t *testing.T) {
	m := newMesh(t, 2, false, func(c *Config) { c.MaxNames = 3 })
	ctx := context.Background()
	for i := range 3 {
		if err := m.node("n1").p.Register(ctx, fmt.Sprint(i), ppid("n1", 1)); err != nil {
			t.Fatal(err)
		}
	}
	m.resolves(m.names, "2", ppid("n1", 1))
	err := m.node("n2").p.Register(ctx, "x", ppid("n2", 1))
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || !errors.Is(err, ErrFull) {
		t.Fatalf("past the bound: %v", err)
	}
	if s := m.node("n2").p.Stats(); s.Full != 1 {
		t.Fatalf("not counted: %+v", s)
	}
}

func TestPlaneBadMessages(t *testing.T) {
	m := newMesh(t, 2, false, nil)
	n1 := m.node("n1")
	for _, b := range [][]byte{{9}, {kindDelta}, encodeDelta(&Delta{Origin: "n1", Version: Version{1, 1}})} {
		if err := n1.ep.Send("n2", 4, b); err != nil {
			t.Fatal(err)
		}
	}
	await.Until(t, "n2 counts the bad messages", func() bool { return m.node("n2").p.Stats().Bad == 2 })
	// A delta claiming another origin than its sender's is refused too.
	forged := encodeDelta(&Delta{Origin: "n3", Version: Version{1, 1}, Ops: []Op{{Binding: Binding{Name: "x", PID: ppid("n3", 1), Stamp: 1}}}})
	if err := n1.ep.Send("n2", 4, forged); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "n2 refuses the forged origin", func() bool { return m.node("n2").p.Stats().Bad == 3 })
}
