package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The cluster-wide name registry figures: three clustered nodes with Raft
// in this process, on loopback ports, each node's Raft log in raft-wal
// (one fsync per append) under one temporary directory, so the three
// replicas share one disk. Calls go through each node's name service, the path a
// process's process.registry.register(..., CONSISTENT) takes.

// registrySizes are the iterations of one registry benchmark run.
type registrySizes struct {
	registers int // timed registers of one client (registry_register_p50_us)
	ops       int // registers and unregisters of the 64 clients (registry_ops_per_s)
	lookups   int // timed lookups from a follower (registry_lookup_p50_us)
	failovers int // clusters whose leader is killed; the median is reported
}

// registryClients is the number of concurrent clients of registry_ops_per_s.
const registryClients = 64

// registryNames are the registry figures, in the order they run.
var registryNames = []string{"registry_register_p50_us", "registry_ops_per_s", "registry_lookup_p50_us", "registry_lookup_ns",
	"strong_register_p50_us", "lock_acquire_p50_us", "registry_failover_ms"}

// Registry runs the registry figures (quick: fewer iterations and one
// failover instead of three).
func Registry(quick bool) ([]Result, error) {
	if quick {
		return benchRegistry(registrySizes{registers: 300, ops: 6_000, lookups: 500, failovers: 1})
	}
	return benchRegistry(registrySizes{registers: 2_000, ops: 60_000, lookups: 5_000, failovers: 3})
}

func benchRegistry(sz registrySizes) ([]Result, error) {
	trio, err := startRegistryTrio()
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, f := range []func(*registryTrio) (Result, error){
		func(t *registryTrio) (Result, error) { return registryRegisterP50(t, sz.registers) },
		func(t *registryTrio) (Result, error) { return registryThroughput(t, sz.ops) },
		func(t *registryTrio) (Result, error) { return registryLookupP50(t, sz.lookups) },
		func(t *registryTrio) (Result, error) { return registryLookupNs(t, 200*sz.lookups) },
		func(t *registryTrio) (Result, error) { return strongRegisterP50(t, sz.registers/2) },
		func(t *registryTrio) (Result, error) { return lockAcquireP50(t, sz.registers/2) },
	} {
		r, err := f(trio)
		if err != nil {
			trio.stop()
			return nil, err
		}
		out = append(out, r)
	}
	trio.stop()
	fo, err := registryFailover(sz.failovers)
	if err != nil {
		return nil, err
	}
	return append(out, fo), nil
}

// registryTrio is three clustered nodes with Raft, agreeing on a leader.
type registryTrio struct {
	nodes []*node.Node
	dir   string
}

// startRegistryTrio starts the nodes (the second and third join the
// first), waits until they agree on a leader, and warms every node's path
// to it with a register and an unregister.
func startRegistryTrio() (*registryTrio, error) {
	dir, err := os.MkdirTemp("", "wippyd-bench-raft-")
	if err != nil {
		return nil, err
	}
	t := &registryTrio{dir: dir}
	mk := func(name string, join ...string) error {
		cfg := benchNodeConfig(name, join)
		cfg.Cluster.Raft.DataDir = dir
		n, err := node.New(cfg, node.WithLogger(discard()))
		if err != nil {
			return err
		}
		t.nodes = append(t.nodes, n)
		return n.Start()
	}
	for i, name := range []string{"reg-a", "reg-b", "reg-c"} {
		var join []string
		if i > 0 {
			join = []string{t.nodes[0].MembershipAddr()}
		}
		if err := mk(name, join...); err != nil {
			t.stop()
			return nil, fmt.Errorf("registry bench: starting %s: %w", name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for t.leader() == nil {
		if time.Now().After(deadline) {
			t.stop()
			return nil, errors.New("registry bench: the nodes never agreed on a Raft leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range t.nodes {
		p, err := benchPID(n)
		if err == nil {
			err = register(ctx, n, "bench:warm:"+n.Config().Node.Name, p)
		}
		if err == nil {
			err = unregister(ctx, n, "bench:warm:"+n.Config().Node.Name, p)
		}
		if err != nil {
			t.stop()
			return nil, fmt.Errorf("registry bench: warm-up on %s: %w", n.Config().Node.Name, err)
		}
	}
	return t, nil
}

// leader returns the node all three see as the Raft leader, nil while
// they do not agree.
func (t *registryTrio) leader() *node.Node {
	var name string
	for _, n := range t.nodes {
		l := raftLeader(n)
		if l == "" || name != "" && l != name {
			return nil
		}
		name = l
	}
	for _, n := range t.nodes {
		if n.Config().Node.Name == name {
			return n
		}
	}
	return nil
}

// raftLeader is the Raft leader n knows of, "" if none.
func raftLeader(n *node.Node) string {
	if r := n.Status().Raft; r != nil {
		return r.Leader
	}
	return ""
}

func (t *registryTrio) follower() *node.Node {
	l := t.leader()
	for _, n := range t.nodes {
		if l != nil && n != l {
			return n
		}
	}
	return nil
}

// stop stops the nodes, one after the other (a node leaving while the
// others stop too waits out memberlist's leave timeout), and removes their
// Raft directories.
func (t *registryTrio) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range slices.Backward(t.nodes) {
		_ = n.Stop(ctx)
	}
	_ = os.RemoveAll(t.dir)
}

// benchPID starts an idle process on node n for names to belong to: a
// name given to a PID its node does not run is released as soon as that
// node's replica applies it (OnClaim).
func benchPID(n *node.Node) (pid.PID, error) {
	return n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
}

func p50(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// registryRegisterP50: one client on a follower (its registers are
// forwarded to the leader, as for two nodes in three) registers distinct
// names; the median time until the register is committed and applied
// (registry_register_p50_us).
func registryRegisterP50(t *registryTrio, n int) (Result, error) {
	f := t.follower()
	if f == nil {
		return Result{}, errors.New("registry_register_p50_us: no leader")
	}
	p, err := benchPID(f)
	if err != nil {
		return Result{}, fmt.Errorf("registry_register_p50_us: %w", err)
	}
	ds := make([]time.Duration, 0, n)
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := register(ctx, f, "bench:reg:"+strconv.Itoa(i), p)
		ds = append(ds, time.Since(start))
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("registry_register_p50_us: %w", err)
		}
	}
	return Result{Name: "registry_register_p50_us", Value: float64(p50(ds).Microseconds()), Unit: "us"}, nil
}

// registryThroughput: 64 clients, spread evenly over the three nodes (two
// thirds forwarded to the leader), each registering a name and
// unregistering it again; every register and unregister counts as one op
// (registry_ops_per_s).
func registryThroughput(t *registryTrio, total int) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		ops   int
		first error
	)
	per := total / registryClients
	start := time.Now()
	for c := range registryClients {
		n := t.nodes[c%len(t.nodes)]
		p, err := benchPID(n)
		if err != nil {
			return Result{}, fmt.Errorf("registry_ops_per_s: %w", err)
		}
		wg.Go(func() {
			done := 0
			var err error
			for k := 0; done < per && err == nil; k++ {
				name := "bench:ops:" + strconv.Itoa(c) + ":" + strconv.Itoa(k)
				if err = register(ctx, n, name, p); err == nil {
					done++
					if err = unregister(ctx, n, name, p); err == nil {
						done++
					}
				}
			}
			mu.Lock()
			ops += done
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return Result{}, fmt.Errorf("registry_ops_per_s: %w", first)
	}
	return Result{Name: "registry_ops_per_s", Value: float64(ops) / elapsed.Seconds(), Unit: "ops/s"}, nil
}

// registryLookupP50: linearizable lookups by one client on a follower,
// which forwards them to the leader; the leader answers once a quorum
// confirmed its leadership (registry_lookup_p50_us).
func registryLookupP50(t *registryTrio, n int) (Result, error) {
	l, f := t.leader(), t.follower()
	if l == nil || f == nil {
		return Result{}, errors.New("registry_lookup_p50_us: no leader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := benchPID(l)
	if err == nil {
		err = register(ctx, l, "bench:lookup", p)
	}
	if err != nil {
		return Result{}, fmt.Errorf("registry_lookup_p50_us: %w", err)
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		got, err := lookup(ctx, f, "bench:lookup")
		ds = append(ds, time.Since(start))
		switch {
		case err != nil:
			return Result{}, fmt.Errorf("registry_lookup_p50_us: %w", err)
		case got != p:
			return Result{}, fmt.Errorf("registry_lookup_p50_us: lookup gave %v, want %v", got, p)
		}
	}
	return Result{Name: "registry_lookup_p50_us", Value: float64(p50(ds).Microseconds()), Unit: "us"}, nil
}

// registryLookupNs: the local read behind process.registry.lookup and
// every send by name: the CONSISTENT name of registryLookupP50 resolved by
// a follower's runtime from its own replica, no network; nanoseconds per
// lookup over n lookups (registry_lookup_ns).
func registryLookupNs(t *registryTrio, n int) (Result, error) {
	f := t.follower()
	if f == nil {
		return Result{}, errors.New("registry_lookup_ns: no leader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	want, err := lookup(ctx, f, "bench:lookup")
	if err != nil {
		return Result{}, fmt.Errorf("registry_lookup_ns: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for got, _ := f.Runtime().Lookup("bench:lookup"); got != want; got, _ = f.Runtime().Lookup("bench:lookup") {
		if time.Now().After(deadline) {
			return Result{}, errors.New("registry_lookup_ns: the follower's replica never had the name")
		}
		time.Sleep(time.Millisecond)
	}
	rt := f.Runtime()
	start := time.Now()
	for range n {
		if got, err := rt.Lookup("bench:lookup"); err != nil || got != want {
			return Result{}, fmt.Errorf("registry_lookup_ns: %v %v", got, err)
		}
	}
	return Result{Name: "registry_lookup_ns", Value: float64(time.Since(start).Nanoseconds()) / float64(n), Unit: "ns"}, nil
}

// strongRegisterP50: one client on a follower registers distinct STRONG
// names through its name service, as process.registry.register(name, nil,
// STRONG) does: a reservation committed through the leader, every node's
// acknowledgement, the activation committed; the median time until the
// call returns, when every node resolves the name (strong_register_p50_us).
func strongRegisterP50(t *registryTrio, n int) (Result, error) {
	f := t.follower()
	if f == nil {
		return Result{}, errors.New("strong_register_p50_us: no leader")
	}
	p, err := benchPID(f)
	if err != nil {
		return Result{}, fmt.Errorf("strong_register_p50_us: %w", err)
	}
	ds := make([]time.Duration, 0, n)
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := f.NameService().Register(ctx, proc.ScopeStrong, "bench:strong:"+strconv.Itoa(i), p)
		ds = append(ds, time.Since(start))
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("strong_register_p50_us: %w", err)
		}
	}
	return Result{Name: "strong_register_p50_us", Value: float64(p50(ds).Microseconds()), Unit: "us"}, nil
}

// lockAcquireP50: one client on a follower acquires a lock nobody else
// wants and releases it, n times; the median time of an acquire, a Raft
// conditional write forwarded to the leader (lock_acquire_p50_us).
func lockAcquireP50(t *registryTrio, n int) (Result, error) {
	const name = "lock_acquire_p50_us"
	f := t.follower()
	if f == nil {
		return Result{}, errors.New(name + ": no leader")
	}
	p, err := benchPID(f)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := f.Locks().AcquireLock(ctx, "bench:lock", p)
		ds = append(ds, time.Since(start))
		if err == nil {
			_, err = f.Locks().ReleaseLock(ctx, "bench:lock", p)
		}
		cancel()
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return Result{Name: name, Value: float64(p50(ds).Microseconds()), Unit: "us"}, nil
}

// registryFailover: on a fresh trio, the leader's internode transport and
// memberlist are shut without a goodbye (what its peers see of a SIGKILL);
// the time until a register on a survivor succeeds, election included
// (registry_failover_ms; the median of runs clusters).
func registryFailover(runs int) (Result, error) {
	ds := make([]time.Duration, 0, runs)
	for range runs {
		d, err := registryFailoverOnce()
		if err != nil {
			return Result{}, fmt.Errorf("registry_failover_ms: %w", err)
		}
		ds = append(ds, d)
	}
	return Result{Name: "registry_failover_ms", Value: float64(p50(ds).Milliseconds()), Unit: "ms"}, nil
}

func registryFailoverOnce() (time.Duration, error) {
	t, err := startRegistryTrio()
	if err != nil {
		return 0, err
	}
	defer t.stop()
	l, s := t.leader(), t.follower()
	if l == nil || s == nil {
		return 0, errors.New("no leader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := benchPID(s)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	l.Isolate()
	for {
		err := s.Names().Register(ctx, "bench:failover", p)
		switch {
		case err == nil:
			return time.Since(start), nil
		case !errors.Is(err, registry.ErrUnavailable) || ctx.Err() != nil:
			return 0, err
		}
	}
}

// register, unregister and lookup call n's registry the way a client
// should: an UNAVAILABLE answer (no leader yet, a leader lost, or a change
// whose outcome is unknown because its commit outlived the apply timeout,
// which a loaded machine sees now and then) is tried again until ctx
// ends. A register again is safe: registering a name to the PID that
// holds it succeeds, and it supersedes the conditional release that follows
// an unknown outcome. After an unregister of unknown outcome, NOT_FOUND
// means that it committed.
func register(ctx context.Context, n *node.Node, name string, p pid.PID) error {
	return retry(ctx, func() error { return n.Names().Register(ctx, name, p) })
}

func unregister(ctx context.Context, n *node.Node, name string, p pid.PID) error {
	unknown := false
	return retry(ctx, func() error {
		err := n.Names().Unregister(ctx, name, p)
		if unknown && errors.Is(err, registry.ErrNotFound) {
			return nil
		}
		unknown = unknown || errors.Is(err, registry.ErrUnknownOutcome)
		return err
	})
}

func lookup(ctx context.Context, n *node.Node, name string) (pid.PID, error) {
	var got pid.PID
	err := retry(ctx, func() (err error) {
		got, err = n.Names().Lookup(ctx, name)
		return err
	})
	return got, err
}

// retry calls f until it returns anything but a retryable UNAVAILABLE,
// or ctx ends, pausing retryPause between calls.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if !errors.Is(err, registry.ErrUnavailable) || errors.Is(err, registry.ErrNoClusterRegistry) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryPause):
		}
	}
}

// retryPause is the pause before a call to the registry is tried again.
const retryPause = 10 * time.Millisecond
