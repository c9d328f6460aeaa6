package clustertest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/cluster/clustertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHarness drives the helpers and checks what each node's cluster
// believes about the others.
func TestHarness(t *testing.T) {
	c := clustertest.New(t, 3)
	up := func(i, j int) bool { return c.Node(i).Cluster.PeerUp(c.Node(j).Name) }
	for i := range 3 {
		for j := range 3 {
			if i != j && !up(i, j) {
				t.Fatalf("n%d does not route to n%d", i, j)
			}
		}
	}
	c.Partition(0)
	// A partition alone is no member event: still routed (queued).
	if !up(1, 0) || !up(0, 2) {
		t.Fatal("partition changed routing")
	}
	c.Heal()
	c.Pause(2)
	if up(0, 2) || up(1, 2) || !up(2, 0) {
		t.Fatal("paused node: the others still route to it, or it noticed")
	}
	c.Resume(2)
	c.WaitConnected()
	boot := c.Node(2).Boot
	c.Kill(2)
	if up(0, 2) || up(1, 2) || c.Node(2).Alive {
		t.Fatal("killed node still routed")
	}
	c.Restart(2)
	if c.Node(2).Boot == boot || !up(0, 2) || !up(2, 1) || c.Node(2).Life != 1 {
		t.Fatalf("restart: boot %x life %d", c.Node(2).Boot, c.Node(2).Life)
	}
	c.Restart(1) // a live node
	if !up(0, 1) || !up(1, 0) {
		t.Fatal("restarted live node not routed")
	}
	// At least one node-down per ended life (a new life's first
	// handshakes can race in the transport and add one).
	if st := c.Node(0).Cluster.Stats(); st.NodeDowns < 2 {
		t.Fatalf("n0 saw %d node downs, want at least 2", st.NodeDowns)
	}
}
