package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The EVENTUAL figure: five clustered nodes without Raft in this process,
// on loopback ports (memberlist lan profile), names registered on the
// first through its name service, as a process's
// process.registry.register(name, nil, EVENTUAL) does.

// eventualNodes is the size of the cluster of eventual_converge_ms_p99.
const eventualNodes = 5

// Eventual runs the EVENTUAL figure (quick: 30 trials instead of 300).
func Eventual(quick bool) ([]Result, error) {
	trials := 300
	if quick {
		trials = 30
	}
	r, err := eventualConverge(trials)
	if err != nil {
		return nil, err
	}
	return []Result{r}, nil
}

// eventualNames are the EVENTUAL figures, in the order they run.
var eventualNames = []string{"eventual_converge_ms_p99"}

// eventualConverge registers trials names, one at a time, on the first
// of five nodes and measures, for each, the time from the register call
// until every node resolves the name from its own replica (the local read
// behind lookup and send by name); the 99th percentile in milliseconds
// (eventual_converge_ms_p99).
func eventualConverge(trials int) (Result, error) {
	nodes, stop, err := startPlain(eventualNodes)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	first := nodes[0]
	p, err := benchPID(first)
	if err != nil {
		return Result{}, err
	}
	// Warm up: every plane follows membership and every session is up.
	if err := first.NameService().Register(context.Background(), proc.ScopeEventual, "bench:eventual:warm", p); err != nil {
		return Result{}, fmt.Errorf("eventual_converge_ms_p99: %w", err)
	}
	if err := resolvedEverywhere(nodes, "bench:eventual:warm", p, time.Now().Add(30*time.Second)); err != nil {
		return Result{}, fmt.Errorf("eventual_converge_ms_p99: %w", err)
	}
	ds := make([]time.Duration, 0, trials)
	for i := range trials {
		name := "bench:eventual:" + strconv.Itoa(i)
		start := time.Now()
		if err := first.NameService().Register(context.Background(), proc.ScopeEventual, name, p); err != nil {
			return Result{}, fmt.Errorf("eventual_converge_ms_p99: %w", err)
		}
		if err := resolvedEverywhere(nodes, name, p, start.Add(10*time.Second)); err != nil {
			return Result{}, fmt.Errorf("eventual_converge_ms_p99: %w", err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	p99 := ds[(len(ds)*99+99)/100-1]
	return Result{Name: "eventual_converge_ms_p99", Value: float64(p99.Microseconds()) / 1000, Unit: "ms"}, nil
}

// resolvedEverywhere polls until every node resolves name to p.
func resolvedEverywhere(nodes []*node.Node, name string, p pid.PID, deadline time.Time) error {
	for _, n := range nodes {
		for {
			if got, err := n.Runtime().Lookup(name); err == nil && got == p {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s never resolved %s", n.Config().Node.Name, name)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	return nil
}

// startPlain starts n clustered nodes without Raft, built with opts, that
// all see each other; stop stops them.
func startPlain(n int, opts ...node.Option) ([]*node.Node, func(), error) {
	var nodes []*node.Node
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, nd := range slices.Backward(nodes) {
			_ = nd.Stop(ctx)
		}
	}
	for i := range n {
		var join []string
		if i > 0 {
			join = []string{nodes[0].MembershipAddr()}
		}
		cfg := benchNodeConfig("ev-"+strconv.Itoa(i), join)
		cfg.Cluster.Raft.Enabled = false
		nd, err := node.New(cfg, append([]node.Option{node.WithLogger(discard())}, opts...)...)
		if err == nil {
			err = nd.Start()
		}
		if err != nil {
			stop()
			return nil, nil, err
		}
		nodes = append(nodes, nd)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !allSee(nodes) {
		if time.Now().After(deadline) {
			stop()
			return nil, nil, errors.New("bench: the nodes never all saw each other")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nodes, stop, nil
}

func allSee(nodes []*node.Node) bool {
	for _, n := range nodes {
		if len(n.Nodes()) != len(nodes)-1 {
			return false
		}
	}
	return true
}
