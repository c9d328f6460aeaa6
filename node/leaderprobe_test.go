package node

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/registry/raftreg"
)

// TestLeaderProbe: readiness counts the leader unreachable once a voter or
// standby follower has not heard from it for leader_probe_interval times
// leader_probe_grace (9s by default), and only then.
func TestLeaderProbe(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := DefaultConfig().Cluster.Raft
	window := r.LeaderProbeInterval * time.Duration(r.LeaderProbeGrace)
	if window != 9*time.Second {
		t.Fatalf("default window %v, want 9s (3s x 3)", window)
	}
	follower := uint8(raft.Follower)
	for _, c := range []struct {
		name string
		s    raftreg.Stats
		want bool
	}{
		{"no leader", raftreg.Stats{RaftState: follower, Role: raftreg.RoleVoter}, false},
		{"voter heard 8s ago", raftreg.Stats{Leader: "n1", RaftState: follower, Role: raftreg.RoleVoter, LastContact: now.Add(-8 * time.Second)}, true},
		{"voter heard 9s ago", raftreg.Stats{Leader: "n1", RaftState: follower, Role: raftreg.RoleVoter, LastContact: now.Add(-9 * time.Second)}, true},
		{"voter silent 10s", raftreg.Stats{Leader: "n1", RaftState: follower, Role: raftreg.RoleVoter, LastContact: now.Add(-10 * time.Second)}, false},
		{"standby silent 10s", raftreg.Stats{Leader: "n1", RaftState: follower, Role: raftreg.RoleStandby, LastContact: now.Add(-10 * time.Second)}, false},
		{"voter, no contact yet", raftreg.Stats{Leader: "n1", RaftState: follower, Role: raftreg.RoleVoter}, true},
		{"leader", raftreg.Stats{Leader: "n1", RaftState: uint8(raft.Leader), Role: raftreg.RoleVoter, LastContact: now.Add(-time.Hour)}, true},
		{"outside the configuration", raftreg.Stats{Leader: "n1", RaftState: follower, LastContact: now.Add(-time.Hour)}, true},
	} {
		if got := leaderReachable(c.s, now, window); got != c.want {
			t.Errorf("%s: reachable %v, want %v", c.name, got, c.want)
		}
	}
}
