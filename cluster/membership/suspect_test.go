package membership

import (
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// isolatedCluster starts n1..n3 on cut transports and returns a function
// that cuts n3 off from the others (both directions, UDP and TCP) or
// restores its links.
func isolatedCluster(t *testing.T, cfgs ...func(*Config)) ([]*testNode, func(cut bool)) {
	t.Helper()
	trs := map[string]*cutTransport{}
	nodes := cluster(t, []string{"n1", "n2", "n3"}, append([]func(*Config){func(c *Config) {
		trs[c.Name] = newCutTransport(t)
		c.Transport = trs[c.Name]
	}}, cfgs...)...)
	n3 := nodes[2]
	return nodes, func(cut bool) {
		for _, o := range nodes[:2] {
			trs["n3"].set(o.addr(), cut)
			trs[o.cfg.Name].set(n3.addr(), cut)
		}
	}
}

// TestSuspectBeforeFailed: a node whose probe of n3 failed reports n3
// suspect before it reports it failed, and a failure ends the suspicion.
// Suspicion can only start with a failed probe by a survivor (n3 is cut
// off), so at least one survivor sees it; the other may learn the death
// before its own probe of n3 fails. This is also the test that memberlist
// still writes the failed-probe line logbridge.go reads.
func TestSuspectBeforeFailed(t *testing.T) {
	nodes, cut := isolatedCluster(t)
	mark := map[string]int{}
	for _, n := range nodes {
		mark[n.cfg.Name] = len(n.rec.all())
	}
	cut(true)
	start := time.Now()
	suspected := 0
	for _, n := range nodes[:2] {
		failed := n.rec.wait(t, 5*time.Second, mark[n.cfg.Name], "n3 failed at "+n.cfg.Name, is(EventFailed, "n3"))
		t.Logf("%s: n3 failed %v after the cut", n.cfg.Name, time.Since(start).Round(time.Millisecond))
		evs := n.rec.all()
		s := n.rec.find(mark[n.cfg.Name], is(EventSuspected, "n3"))
		if s < 0 {
			t.Logf("%s: n3 failed without this node's own probe failing first: %v", n.cfg.Name, evs[mark[n.cfg.Name]:])
			continue
		}
		suspected++
		if s > failed {
			t.Errorf("%s: n3 suspected after it failed: %v", n.cfg.Name, evs[mark[n.cfg.Name]:])
		}
		if ev := evs[s]; ev.Member.State != StateSuspect || ev.Member.Meta.BootID != nodes[2].boot() {
			t.Errorf("%s: suspected event %+v, want n3's life in state suspect", n.cfg.Name, ev)
		}
		if ev := evs[failed]; ev.Member.State != StateDead || ev.Restart {
			t.Errorf("%s: failed event %+v", n.cfg.Name, ev)
		}
		t.Logf("%s: %v", n.cfg.Name, evs[mark[n.cfg.Name]:])
	}
	if suspected == 0 {
		t.Fatal("no survivor reported n3 suspect before it failed: does memberlist still log " +
			`"Suspect <name> has failed, no acks received" (logbridge.go)?`)
	}
	for _, n := range nodes[:2] {
		n.waitCounts(t, 5*time.Second, Counts{Alive: 2, Dead: 1})
		if m, _ := n.Member("n3"); m.State != StateDead {
			t.Errorf("%s: n3 is %v", n.cfg.Name, m.State)
		}
	}
}

// TestSuspectClearedWhenAnswered: with a suspicion timeout far longer than
// the test, n3 is cut off until n1's probe of it fails, then its links
// come back: n1's next direct probe gets an ack and n3 is alive again,
// never having failed.
func TestSuspectClearedWhenAnswered(t *testing.T) {
	nodes, cut := isolatedCluster(t, func(c *Config) {
		// 50 x 200ms probe interval: 10s before a suspect is declared dead.
		c.tune = func(mc *memberlist.Config) { mc.SuspicionMult = 50 }
	})
	n1, n3 := nodes[0], nodes[2]
	mark := len(n1.rec.all())
	cut(true)
	s := n1.rec.wait(t, 3*time.Second, mark, "n3 suspected at n1", is(EventSuspected, "n3"))
	n1.waitCounts(t, time.Second, Counts{Alive: 2, Suspect: 1})
	if m, _ := n1.Member("n3"); m.State != StateSuspect || m.Meta.BootID != n3.boot() {
		t.Errorf("n1 sees n3 as %+v, want suspect", m)
	}
	if got := n1.Voters(); len(got) != 3 {
		t.Errorf("n1 voters = %v, want a suspect n3 still listed", got)
	}
	restored := time.Now()
	cut(false)
	c := n1.rec.wait(t, 5*time.Second, s, "n3 cleared at n1", is(EventCleared, "n3"))
	t.Logf("n3 answered n1 %v after the links came back", time.Since(restored).Round(time.Millisecond))
	if ev := n1.rec.all()[c]; ev.Member.State != StateAlive || ev.Member.Meta.BootID != n3.boot() {
		t.Errorf("cleared event %+v, want n3's life alive", ev)
	}
	for _, n := range nodes {
		// n3 suspected the others too; its own probes clear them.
		n.waitCounts(t, 10*time.Second, Counts{Alive: 3})
	}
	for _, kind := range []EventKind{EventFailed, EventLeft, EventJoined} {
		if i := n1.rec.find(mark, is(kind, "n3")); i >= 0 {
			t.Errorf("n1 reported n3 %v: %v", kind, n1.rec.all()[mark:])
		}
	}
}
