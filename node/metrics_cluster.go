package node

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// guideMetrics are the cluster metrics under the names of Wippy's cluster
// guide (Observability), unprefixed, beside the wippy_* series that
// existed before them (wippy_raft_state, wippy_cluster_members, ...),
// which stay.
type guideMetrics struct {
	raftState, raftTerm, voters, nonVoters, leaderChanges *prometheus.Desc
	churn, gossipMembers, convergence                     *prometheus.Desc
}

func newGuideMetrics() guideMetrics {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return guideMetrics{
		raftState:     d("raft_state", "Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown, 4 client (no Raft)."),
		raftTerm:      d("raft_term", "Current Raft term; rapid increases signal election churn."),
		voters:        d("raft_voters", "Voters in the latest Raft configuration this node knows."),
		nonVoters:     d("raft_non_voters", "Non-voters (standbys) in the latest Raft configuration this node knows."),
		leaderChanges: d("raft_leader_changes_total", "Leader transitions this node observed."),
		churn:         d("raft_voter_churn_burst_total", "Runs of back-to-back configuration changes (voters or standbys added, promoted, demoted, removed) this node made as leader."),
		gossipMembers: d("gossip_members", "Members in this node's gossip view, by state: alive, suspect, dead, left.", "state"),
		convergence:   d("gossip_convergence_seconds", "Time between the last two membership events this node saw."),
	}
}

// gossipPace records when membership events arrive, for
// gossip_convergence_seconds.
type gossipPace struct {
	mu        sync.Mutex
	last, gap time.Duration // since the first event; gap between the last two
	first     time.Time
}

func (g *gossipPace) event(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.first.IsZero() {
		g.first = now
		return
	}
	at := now.Sub(g.first)
	g.gap, g.last = at-g.last, at
}

func (g *gossipPace) seconds() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gap.Seconds()
}

// collectGuide sends the guide's cluster metrics.
func (p *clusterParts) collectGuide(c *collector, ch chan<- prometheus.Metric) {
	g := c.guide
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if p.names != nil {
		s := p.names.Stats()
		gauge(g.raftState, float64(s.RaftState))
		gauge(g.raftTerm, float64(s.Term))
		gauge(g.voters, float64(s.Voters))
		gauge(g.nonVoters, float64(s.Standbys))
		ch <- prometheus.MustNewConstMetric(g.leaderChanges, prometheus.CounterValue, float64(s.LeaderChanges))
		ch <- prometheus.MustNewConstMetric(g.churn, prometheus.CounterValue, float64(s.ChurnBursts))
	}
	if ml := p.member.Load(); ml != nil {
		counts := ml.Counts()
		for state, v := range map[string]int{"alive": counts.Alive, "suspect": counts.Suspect, "dead": counts.Dead, "left": counts.Left} {
			gauge(g.gossipMembers, float64(v), state)
		}
		gauge(g.convergence, p.pace.seconds())
	}
}
