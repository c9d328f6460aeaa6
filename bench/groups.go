package bench

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The process group figures: clustered nodes without Raft in this
// process, on loopback ports, each running an app with one pg.scope,
// bench:pg. Members are Go-native processes joining through their Env,
// as a Lua process's pg module does.

const benchScope = "bench:pg"

// groupNames are the process group figures, in the order they run.
var groupNames = []string{"pg_broadcast_deliveries_per_s", "pg_converge_ms_p99"}

// Groups runs the process group figures (quick: fewer broadcasts and
// trials).
func Groups(quick bool) ([]Result, error) {
	broadcasts, trials := 20_000, 300
	if quick {
		broadcasts, trials = 2_000, 30
	}
	return runFigures([]figure{
		{"pg_broadcast_deliveries_per_s", func() (Result, error) { return groupBroadcast(3, 300, broadcasts) }},
		{"pg_converge_ms_p99", func() (Result, error) { return groupConverge(5, trials) }},
	})
}

// startGroupNodes starts n clustered nodes with the bench:pg scope that
// all see each other.
func startGroupNodes(n int) ([]*node.Node, func(), error) {
	app, err := node.LoadAppFS(fstest.MapFS{"app.yaml": {Data: []byte(
		"version: \"1.0\"\nnamespace: bench\nentries:\n  - {name: pg, kind: pg.scope}\n" +
			"  - {name: processes, kind: process.host}\n")}})
	if err != nil {
		return nil, nil, err
	}
	return startPlain(n, node.WithApp(app))
}

// counter is a group member counting what it receives; with ack set, it
// answers every ackEvery-th broadcast to the broadcaster (the window).
type counter struct {
	n     *atomic.Int64
	group string
	ack   bool
}

const ackEvery = 64

func (c *counter) Init(ctx *native.Ctx, _ []msg.Value) error {
	g, err := ctx.Env().(proc.Groups).OpenGroups(benchScope)
	if err != nil {
		return err
	}
	return g.Join([]string{c.group})
}

func (c *counter) HandleMessage(ctx *native.Ctx, m native.Message) error {
	c.n.Add(1)
	if i, _ := m.Payload.AsInt(); c.ack && i%ackEvery == 0 {
		return ctx.Send(m.From, "ack", m.Payload)
	}
	return nil
}

// broadcaster broadcasts total messages numbered 1..total to a group,
// keeping at most window broadcasts ahead of the slowest acking node: an
// unthrottled sender would overflow the transport's per-peer queue, which
// abandons the session by design.
type broadcaster struct {
	scope  proc.GroupScope
	total  int64
	sent   int64
	nodes  int
	acked  map[pid.PID]int64
	window int64
}

func (b *broadcaster) Init(ctx *native.Ctx, _ []msg.Value) error {
	g, err := ctx.Env().(proc.Groups).OpenGroups(benchScope)
	if err != nil {
		return err
	}
	b.scope = g
	return b.fill()
}

func (b *broadcaster) slowest() int64 {
	if len(b.acked) < b.nodes {
		return 0
	}
	low := int64(-1)
	for _, v := range b.acked {
		if low < 0 || v < low {
			low = v
		}
	}
	return low
}

func (b *broadcaster) fill() error {
	for b.sent < b.total && b.sent-b.slowest() < b.window {
		b.sent++
		if err := b.scope.Broadcast("all", "n", msg.Int(b.sent), false); err != nil {
			return err
		}
	}
	return nil
}

func (b *broadcaster) HandleMessage(_ *native.Ctx, m native.Message) error {
	i, _ := m.Payload.AsInt()
	b.acked[m.From] = max(b.acked[m.From], i)
	return b.fill()
}

// groupBroadcast: members per node join group "all" on each of nodes
// nodes; one process on the first broadcasts; deliveries per second from
// the first broadcast until every member has every broadcast
// (pg_broadcast_deliveries_per_s).
func groupBroadcast(nodes, members, broadcasts int) (Result, error) {
	const name = "pg_broadcast_deliveries_per_s"
	ns, stop, err := startGroupNodes(nodes)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	var got atomic.Int64
	for _, n := range ns {
		for i := range members {
			if _, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&counter{n: &got, group: "all", ack: i == 0})}); err != nil {
				return Result{}, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	want := nodes * members
	if err := waitMembers(ns, "all", want, 30*time.Second); err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	b := &broadcaster{total: int64(broadcasts), nodes: nodes, acked: map[pid.PID]int64{}, window: 1024}
	start := time.Now()
	if _, err := ns[0].Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(b)}); err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	total := int64(want * broadcasts)
	deadline := start.Add(5 * time.Minute)
	for got.Load() < total {
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%s: %d of %d deliveries", name, got.Load(), total)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return Result{Name: name, Value: float64(total) / time.Since(start).Seconds(), Unit: "deliveries/s"}, nil
}

// waitMembers waits until every node lists want members of group.
func waitMembers(ns []*node.Node, group string, want int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, n := range ns {
		for len(n.Groups().Members(benchScope, group, false)) != want {
			if time.Now().After(deadline) {
				return fmt.Errorf("%s lists %d members of %s, want %d", n.Config().Node.Name, len(n.Groups().Members(benchScope, group, false)), group, want)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	return nil
}

// joiner joins the group each message names.
type joiner struct{ g proc.GroupScope }

func (j *joiner) HandleMessage(ctx *native.Ctx, m native.Message) error {
	if j.g == nil {
		g, err := ctx.Env().(proc.Groups).OpenGroups(benchScope)
		if err != nil {
			return err
		}
		j.g = g
	}
	group, _ := m.Payload.AsString()
	return j.g.Join([]string{group})
}

// groupConverge: a process on the first of nodes nodes joins a new group,
// trials times, one at a time; for each, the time from the request until
// every node lists the member; the 99th percentile in milliseconds
// (pg_converge_ms_p99).
func groupConverge(nodes, trials int) (Result, error) {
	const name = "pg_converge_ms_p99"
	ns, stop, err := startGroupNodes(nodes)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	first := ns[0]
	p, err := first.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(&joiner{})})
	if err != nil {
		return Result{}, err
	}
	// Warm up: every session is up and carried a state.
	if err := joinSeen(ns, p, "warm", 30*time.Second); err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	ds := make([]time.Duration, 0, trials)
	for i := range trials {
		start := time.Now()
		if err := joinSeen(ns, p, "g"+strconv.Itoa(i), 10*time.Second); err != nil {
			return Result{}, fmt.Errorf("%s: %w", name, err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	p99 := ds[(len(ds)*99+99)/100-1]
	return Result{Name: name, Value: float64(p99.Microseconds()) / 1000, Unit: "ms"}, nil
}

// joinSeen asks p to join group and waits until every node lists it.
func joinSeen(ns []*node.Node, p pid.PID, group string, within time.Duration) error {
	if err := ns[0].Runtime().Send(pid.PID{}, p, "join", msg.String(group)); err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	for _, n := range ns {
		for !slices.Contains(n.Groups().Members(benchScope, group, false), p) {
			if time.Now().After(deadline) {
				return errors.New(n.Config().Node.Name + " never listed the member of " + group)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	return nil
}
