package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/registry/raftreg"
)

// The bounded-Raft figures: clustered nodes with Raft in this process, on
// loopback ports, with the fast membership profile (a crash is declared
// in about a second), each node's Raft log in raft-wal under one
// temporary directory.
//
//   - voter_replace_ms: 9 nodes (max_voters 5, max_standbys 4, the default
//     reconcile_debounce of 2s); a voter that does not lead is cut off
//     without a goodbye (Isolate: what its peers see of a SIGKILL); the
//     time until the leader's configuration has 5 voters again, none of
//     them the one cut off. It covers the failure detection, the debounce
//     window (the dead voter must be gone in gossip and silent that long)
//     and the promotion and removal.
//   - leader_appends_per_s_idle_N: the AppendEntries RPCs (heartbeats
//     included) the leader sends per second, idle, over 3 s: with 3 nodes
//     (3 voters), 5 nodes (5 voters) and 9 nodes (5 voters and 4 nodes
//     outside the configuration: max_standbys 0). Raft heartbeats every
//     follower, so the figure grows with the members of the
//     configuration; the nodes outside it must add nothing (_9 against
//     _5).

// rolesNames are the bounded-Raft figures, in the order they run.
var rolesNames = []string{"voter_replace_ms", "leader_appends_per_s_idle_3", "leader_appends_per_s_idle_5", "leader_appends_per_s_idle_9"}

// Roles runs the bounded-Raft figures.
func Roles(quick bool) ([]Result, error) {
	var out []Result
	r, err := voterReplace()
	if err != nil {
		return nil, fmt.Errorf("voter_replace_ms: %w", err)
	}
	out = append(out, r)
	for _, sz := range []struct{ nodes, voters, standbys int }{{3, 3, 0}, {5, 5, 0}, {9, 5, 0}} {
		r, err := idleAppends(sz.nodes, sz.voters, sz.standbys)
		if err != nil {
			return nil, fmt.Errorf("leader_appends_per_s_idle_%d: %w", sz.nodes, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// raftGroup is n clustered nodes with Raft.
type raftGroup struct {
	nodes []*node.Node
	dir   string
}

// startRaftGroup starts n nodes (each joining the first) with the given
// bounds, and waits until the leader's configuration has the voters and
// standbys asked for.
func startRaftGroup(n, voters, standbys int) (*raftGroup, error) {
	dir, err := os.MkdirTemp("", "wippyd-bench-roles-")
	if err != nil {
		return nil, err
	}
	g := &raftGroup{dir: dir}
	for i := range n {
		var join []string
		if i > 0 {
			join = []string{g.nodes[0].MembershipAddr()}
		}
		cfg := benchNodeConfig(fmt.Sprintf("raft-%02d", i+1), join)
		cfg.Cluster.Membership.Profile = "fast"
		cfg.Cluster.Raft.DataDir = dir
		cfg.Cluster.Raft.BootstrapExpect = min(3, voters)
		cfg.Cluster.Raft.MaxVoters, cfg.Cluster.Raft.MaxStandbys = voters, standbys
		nd, err := node.New(cfg, node.WithLogger(discard()))
		if err == nil {
			g.nodes = append(g.nodes, nd)
			err = nd.Start()
		}
		if err != nil {
			g.stop()
			return nil, fmt.Errorf("starting node %d: %w", i+1, err)
		}
	}
	if err := g.await(60*time.Second, func(v, s []string) bool { return len(v) == voters && len(s) == standbys }); err != nil {
		g.stop()
		return nil, err
	}
	return g, nil
}

// leader returns the node that leads, with its registry, nil if none.
func (g *raftGroup) leader() (*node.Node, *raftreg.Registry) {
	for _, n := range g.nodes {
		if r, ok := n.Names().(*raftreg.Registry); ok && r.Stats().RaftState == 2 {
			return n, r
		}
	}
	return nil, nil
}

// await polls the leader's configuration until ok says yes.
func (g *raftGroup) await(limit time.Duration, ok func(voters, standbys []string) bool) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, r := g.leader(); r != nil {
			if ok(r.Servers()) {
				return nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	var view []string
	for _, n := range g.nodes {
		if r, ok := n.Names().(*raftreg.Registry); ok {
			v, s := r.Servers()
			view = append(view, fmt.Sprintf("%s: state %d leader %q voters %v standbys %v",
				n.Config().Node.Name, r.Stats().RaftState, r.Stats().Leader, v, s))
		}
	}
	return fmt.Errorf("the configuration never settled: %s", strings.Join(view, "; "))
}

func (g *raftGroup) stop() {
	stopNodes(g.nodes)
	_ = os.RemoveAll(g.dir)
}

func voterReplace() (Result, error) {
	g, err := startRaftGroup(9, 5, 4)
	if err != nil {
		return Result{}, err
	}
	defer g.stop()
	l, r := g.leader()
	if l == nil {
		return Result{}, errors.New("no leader")
	}
	voters, _ := r.Servers()
	var victim *node.Node
	for _, n := range g.nodes {
		if name := n.Config().Node.Name; name != l.Config().Node.Name && slices.Contains(voters, name) {
			victim = n
			break
		}
	}
	if victim == nil {
		return Result{}, errors.New("no voter but the leader")
	}
	gone := victim.Config().Node.Name
	start := time.Now()
	victim.Isolate()
	err = g.await(30*time.Second, func(v, s []string) bool { return len(v) == 5 && !slices.Contains(v, gone) })
	if err != nil {
		return Result{}, err
	}
	return Result{Name: "voter_replace_ms", Value: float64(time.Since(start).Milliseconds()), Unit: "ms"}, nil
}

func idleAppends(nodes, voters, standbys int) (Result, error) {
	g, err := startRaftGroup(nodes, voters, standbys)
	if err != nil {
		return Result{}, err
	}
	defer g.stop()
	// Let the joins, the last configuration change and the feeds settle.
	time.Sleep(time.Second)
	const window = 3 * time.Second
	// A leader change in the window (a loaded machine's stall against the
	// 100ms leader lease) spoils it: measure again, up to three times.
	for range 3 {
		_, r := g.leader()
		if r == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		before, start := r.Stats(), time.Now()
		time.Sleep(window)
		after := r.Stats()
		if after.Term != before.Term || after.RaftState != 2 {
			continue
		}
		rate := float64(after.Appends-before.Appends) / time.Since(start).Seconds()
		return Result{Name: fmt.Sprintf("leader_appends_per_s_idle_%d", nodes), Value: rate, Unit: "1/s"}, nil
	}
	return Result{}, errors.New("the leader changed in each of three windows")
}

// stopNodes stops ns one after the other, the last started first.
func stopNodes(ns []*node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range slices.Backward(ns) {
		_ = n.Stop(ctx)
	}
}
