package node

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wippyd/wippyd/runtime/proc"
)

// collector exports a node's counters to Prometheus at scrape time. The
// counters live in the runtime (and later the cluster and registry); this
// only reads them, so nothing is counted twice and nothing is global.
type collector struct {
	n *Node

	processes, spawns, exits, sent, received, dropped *prometheus.Desc
	mailboxMax, steals, handoffs, runqueue, names     *prometheus.Desc
	restarts, members, raftState, raftCommit, ibytes  *prometheus.Desc
	reconnects, pgGroups, pgMembers, pgRefused        *prometheus.Desc
	evRefused, duplex                                 *prometheus.Desc
	guide                                             guideMetrics // metrics_cluster.go
}

func newCollector(n *Node) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("wippy_"+name, help, labels, nil)
	}
	return &collector{
		n:          n,
		processes:  d("processes", "Live processes by host and state.", "host", "state"),
		spawns:     d("spawns_total", "Processes spawned, by host.", "host"),
		exits:      d("exits_total", "Processes ended, by exit reason.", "reason"),
		sent:       d("messages_sent_total", "Messages sent, by scope.", "scope"),
		received:   d("messages_received_total", "Messages delivered into mailboxes, by scope.", "scope"),
		dropped:    d("messages_dropped_total", "Messages dropped, by reason.", "reason"),
		mailboxMax: d("mailbox_depth_max", "The deepest mailbox of any live process."),
		steals:     d("scheduler_steals_total", "Tasks stolen from another worker's queue."),
		handoffs:   d("scheduler_handoffs_total", "Worker slots handed to a new goroutine (slow or blocking task)."),
		runqueue:   d("runqueue_length", "Runnable processes waiting in all run queues."),
		names:      d("registry_names", "Registered names, by scope.", "scope"),
		restarts:   d("service_restarts_total", "Service restarts, by service.", "service"),
		members:    d("cluster_members", "Cluster members in this node's view, by state: alive, suspect (this node's probe got no ack, not declared dead yet), dead, left.", "state"),
		raftState:  d("raft_state", "Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown."),
		raftCommit: d("raft_commit_index", "Raft commit index."),
		ibytes:     d("internode_bytes_total", "Internode bytes, by peer and direction.", "peer", "direction"),
		reconnects: d("internode_reconnects_total", "Internode reconnections, by peer.", "peer"),
		duplex:     d("internode_duplex", "1 when one connection carries both this node's and the peer's messages, 0 when each sends on the connection it dialed, by peer.", "peer"),
		pgGroups:   d("pg_groups", "Process groups with a member, every scope, in this node's view."),
		pgMembers:  d("pg_members", "Process group memberships, every node, multi-joins counted, in this node's view."),
		pgRefused:  d("pg_refused_total", "Other nodes' group members refused: past max members per node, in a scope this node lacks, or leaving without a join."),
		evRefused:  d("eventual_refused_total", "EVENTUAL names refused, by reason: full (a registration on this node past the namespace bound, answered UNAVAILABLE), remote (other nodes' bindings dropped past twice the bound).", "reason"),
		guide:      newGuideMetrics(),
	}
}

// Describe sends every family the collector may export, whether this node
// has it now or not (a peer's bytes, Raft, a service's restarts). Described
// by a collect instead, a family that appears later (the first peer) would
// be one the registry was never told of, which a pedantic registry refuses
// at every scrape.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.processes, c.spawns, c.exits, c.sent, c.received, c.dropped,
		c.mailboxMax, c.steals, c.handoffs, c.runqueue, c.names,
		c.restarts, c.members, c.raftState, c.raftCommit, c.ibytes,
		c.reconnects, c.pgGroups, c.pgMembers, c.pgRefused, c.evRefused, c.duplex,
		c.guide.raftState, c.guide.raftTerm, c.guide.voters, c.guide.nonVoters, c.guide.leaderChanges,
		c.guide.churn, c.guide.gossipMembers, c.guide.convergence,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	rt := c.n.rt
	s := rt.Counters()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	byState := rt.StateCounts()
	for _, h := range c.n.hostIDs() {
		for _, st := range processStates {
			gauge(c.processes, float64(byState[h][st]), h, st.String())
		}
		counter(c.spawns, s.SpawnsByHost[h], h)
	}
	for r, v := range s.Exits {
		counter(c.exits, v, r)
	}
	counter(c.sent, s.SentLocal, "local")
	counter(c.sent, s.SentRemote, "remote")
	counter(c.received, s.ReceivedLocal, "local")
	counter(c.received, s.ReceivedRemote, "remote")
	for r, v := range s.Dropped {
		counter(c.dropped, v, r)
	}
	gauge(c.mailboxMax, float64(rt.MailboxDepthMax()))
	counter(c.steals, s.Steals)
	counter(c.handoffs, s.HandOffs)
	gauge(c.runqueue, float64(s.RunQueue))
	for scope, v := range c.n.nameCounts() {
		gauge(c.names, float64(v), scope)
	}
	for _, e := range c.n.extras {
		e.collect(c, ch)
	}
}

// metricSource adds the metrics of a subsystem (services, cluster, Raft).
type metricSource interface {
	collect(c *collector, ch chan<- prometheus.Metric)
}

// newRegistry returns the node's Prometheus registry: its own collector
// plus the Go runtime and process collectors. No global registry is used.
func newRegistry(n *Node) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(n),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

var _ prometheus.Collector = (*collector)(nil)

// nameCounts returns registered names by scope.
func (n *Node) nameCounts() map[string]int {
	return map[string]int{"local": n.rt.NameCount()}
}

// hostIDs returns the node's host ids in configuration order.
func (n *Node) hostIDs() []string {
	hosts := n.rt.Hosts()
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
	}
	return ids
}

var processStates = []proc.State{proc.Ready, proc.Running, proc.Blocked, proc.Idle}
