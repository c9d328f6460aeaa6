package node

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry/raftreg"
)

func TestRaftContact(t *testing.T) {
	now := time.Unix(1000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name string
		s    raftreg.Stats
		fail bool
	}{
		{"leader", raftreg.Stats{RaftState: uint8(raft.Leader), Role: raftreg.RoleVoter, LastContact: ago(time.Hour)}, false},
		{"voter heard lately", raftreg.Stats{Role: raftreg.RoleVoter, LastContact: ago(time.Second)}, false},
		{"voter silent", raftreg.Stats{Role: raftreg.RoleVoter, LastContact: ago(voterContact + time.Second)}, true},
		{"candidate silent", raftreg.Stats{RaftState: uint8(raft.Candidate), Role: raftreg.RoleVoter, LastContact: ago(time.Hour)}, true},
		{"standby tolerates more", raftreg.Stats{Role: raftreg.RoleStandby, LastContact: ago(voterContact + time.Second)}, false},
		{"standby silent", raftreg.Stats{Role: raftreg.RoleStandby, LastContact: ago(standbyContact + time.Second)}, true},
		{"outside", raftreg.Stats{Role: raftreg.RoleOutside, LastContact: ago(time.Hour)}, false},
		{"client", raftreg.Stats{RaftState: raftreg.RaftClient, Role: raftreg.RoleClient}, false},
		{"never had a leader", raftreg.Stats{Role: raftreg.RoleVoter}, false},
	}
	for _, tc := range tests {
		if err := raftContact(tc.s, now); (err != nil) != tc.fail {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestGuideMetrics: a clustered node exports the cluster guide's metrics
// under their names, beside the wippy_* series, and passes its liveness
// checks.
func TestGuideMetrics(t *testing.T) {
	n := clusterNodeWith(t, "solo", func(c *Config) {
		c.Admin.Addr = "127.0.0.1:0"
		c.Cluster.Raft.Enabled = true
		c.Cluster.Raft.BootstrapExpect = 1
	})
	await.Until(t, "a ready node leading its own Raft", n.Ready)
	want := []string{
		"\nraft_state 2\n", "\nraft_term ", "\nraft_voters 1\n", "\nraft_non_voters 0\n",
		"\nraft_leader_changes_total 1\n", "\nraft_voter_churn_burst_total ",
		"\ngossip_members{state=\"alive\"} 1\n", "\ngossip_members{state=\"dead\"} 0\n",
		"\ngossip_convergence_seconds ", "\nwippy_raft_state 2\n", "\nwippy_cluster_members{state=\"alive\"} 1\n",
	}
	var body string
	await.Until(t, "the guide's metrics", func() bool {
		var code int
		code, body = get(t, n, "GET", "/metrics")
		if code != 200 {
			return false
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				return false
			}
		}
		return true
	})
	if err := n.Live(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, b := get(t, n, "GET", path); code != 200 {
			t.Fatalf("%s: %d %s", path, code, b)
		}
	}
}

// The voter-selection hints of the configuration reach the Raft
// registry's view of the members through gossip meta.
func TestRaftHintsInGossip(t *testing.T) {
	n := clusterNodeWith(t, "hinted", func(c *Config) {
		c.Cluster.Raft.Enabled = true
		c.Cluster.Raft.BootstrapExpect = 1
		c.Cluster.Raft.Priority = 7
		c.Cluster.Raft.Eligible = false
		c.Cluster.FailureDomain = "zone-b"
	})
	var got []raftreg.Member
	await.Until(t, "the node in its own member table", func() bool {
		got = (&raftPeers{p: n.cluster}).Members()
		return len(got) == 1
	})
	if m := got[0]; m.Name != "hinted" || m.Priority != 7 || m.FailureDomain != "zone-b" || m.Voter || m.Client {
		t.Fatalf("member %+v", m)
	}
}
