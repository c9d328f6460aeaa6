package groups_test

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/clustertest"
	"github.com/wippyd/wippyd/cluster/groups"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const scope = "app:pg"

// member is a native process that does what its messages say, on the
// scope: "join"/"leave" a group (payload), "bcast" (payload [group, n]:
// n broadcasts numbered 1..n on topic "n"), "monitor" a group; it
// records every "n" message and every group event it receives.
type member struct {
	mu     sync.Mutex
	got    map[pid.PID][]int64 // sender -> numbers, in arrival order
	events []proc.Delivery
	snap   []pid.PID
	errs   chan error
}

func newMember() *member { return &member{got: map[pid.PID][]int64{}, errs: make(chan error, 16)} }

func (m *member) HandleMessage(c *native.Ctx, in native.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch in.Topic {
	case "n":
		n, _ := in.Payload.AsInt()
		m.got[in.From] = append(m.got[in.From], n)
		return nil
	case proc.TopicGroupEvent:
		m.events = append(m.events, proc.Delivery{Topic: in.Topic, Payload: in.Payload})
		return nil
	}
	gs, err := c.Env().(proc.Groups).OpenGroups(scope)
	if err != nil {
		m.errs <- err
		return nil
	}
	switch in.Topic {
	case "join":
		g, _ := in.Payload.AsString()
		err = gs.Join([]string{g})
	case "leave":
		g, _ := in.Payload.AsString()
		err = gs.Leave([]string{g})
	case "bcast":
		g, _ := in.Payload.Items()[0].AsString()
		n, _ := in.Payload.Items()[1].AsInt()
		for i := range n {
			if err = gs.Broadcast(g, "n", msg.Int(i+1), false); err != nil {
				break
			}
		}
	case "monitor":
		g, _ := in.Payload.AsString()
		var snap map[string][]pid.PID
		_, snap, err = gs.Monitor(g)
		m.snap = snap[g]
	case "exit":
		c.Stop(msg.Nil)
	}
	m.errs <- err
	return nil
}

// do sends a command to p and waits for its result.
func (m *member) do(t *testing.T, rt interface {
	Send(from, to pid.PID, topic string, payload msg.Value) error
}, p pid.PID, topic string, payload msg.Value) {
	t.Helper()
	if err := rt.Send(pid.PID{}, p, topic, payload); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-m.errs:
		if err != nil {
			t.Fatalf("%s %v: %v", topic, payload, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer", topic)
	}
}

func spawnMember(t *testing.T, n *clustertest.Node) (*member, pid.PID) {
	t.Helper()
	m := newMember()
	p, err := n.Runtime.Spawn(proc.SpawnRequest{Behavior: native.New(m)})
	if err != nil {
		t.Fatal(err)
	}
	return m, p
}

func members(n *clustertest.Node, group string) []pid.PID {
	return n.Groups.Members(scope, group, false)
}

// converged waits until every live node lists want (sorted) in group.
func converged(t *testing.T, c *clustertest.Cluster, group string, want []pid.PID) {
	t.Helper()
	slices.SortFunc(want, cmpPID)
	await.Until(t, fmt.Sprintf("every node lists %v in %s", want, group), func() bool {
		for i := range c.Len() {
			if n := c.Node(i); n.Alive && !slices.Equal(members(n, group), want) {
				return false
			}
		}
		return true
	})
}

func cmpPID(a, b pid.PID) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Seq, b.Seq))
}

func TestJoinBroadcastAcrossNodes(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Groups(nil, scope))
	var ms []*member
	var ps []pid.PID
	for i := range 3 {
		for range 3 {
			m, p := spawnMember(t, c.Node(i))
			m.do(t, c.Node(i).Runtime, p, "join", msg.String("w"))
			ms, ps = append(ms, m), append(ps, p)
		}
	}
	// A process that joined twice is listed twice, and gets each
	// broadcast once.
	ms[4].do(t, c.Node(1).Runtime, ps[4], "join", msg.String("w"))
	converged(t, c, "w", append(slices.Clone(ps), ps[4]))
	before := c.Node(0).Cluster.Stats().Peers
	ms[0].do(t, c.Node(0).Runtime, ps[0], "bcast", msg.List(msg.String("w"), msg.Int(200)))
	await.Until(t, "every member has every broadcast", func() bool {
		for _, m := range ms {
			m.mu.Lock()
			n := len(m.got[ps[0]])
			m.mu.Unlock()
			if n < 200 {
				return false
			}
		}
		return true
	})
	for i, m := range ms {
		m.mu.Lock()
		got := m.got[ps[0]]
		m.mu.Unlock()
		for j, n := range got {
			if n != int64(j+1) {
				t.Fatalf("member %d: broadcast %d arrived as number %d (order or duplicate)", i, j+1, n)
			}
		}
	}
	// One frame per node per broadcast, not one per member.
	after := c.Node(0).Cluster.Stats().Peers
	for i := range before {
		if d := after[i].EnvelopesSent - before[i].EnvelopesSent; d != 200 {
			t.Errorf("to %s: %d envelopes for 200 broadcasts to 3 members there", after[i].Name, d)
		}
	}
}

// TestMonitorSeesEveryChangeOnce: a monitor on one node sees every join
// and leave made on the others (multi-joins, leaves, exits, a node that
// dies) exactly once: its snapshot plus its events give the members.
func TestMonitorSeesEveryChangeOnce(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Groups(nil, scope))
	early, ep := spawnMember(t, c.Node(1))
	early.do(t, c.Node(1).Runtime, ep, "join", msg.String("w"))
	converged(t, c, "w", []pid.PID{ep})
	watcher, wp := spawnMember(t, c.Node(2))
	watcher.do(t, c.Node(2).Runtime, wp, "monitor", msg.String("w"))
	if !slices.Equal(watcher.snap, []pid.PID{ep}) {
		t.Fatalf("snapshot %v", watcher.snap)
	}
	var live []pid.PID
	changes := 0
	for i := range 2 {
		for range 4 {
			m, p := spawnMember(t, c.Node(i))
			m.do(t, c.Node(i).Runtime, p, "join", msg.String("w"))
			m.do(t, c.Node(i).Runtime, p, "join", msg.String("w"))
			m.do(t, c.Node(i).Runtime, p, "leave", msg.String("w"))
			changes += 3
			live = append(live, p)
		}
	}
	m, p := spawnMember(t, c.Node(0))
	m.do(t, c.Node(0).Runtime, p, "join", msg.String("w"))
	m.do(t, c.Node(0).Runtime, p, "join", msg.String("w"))
	if err := c.Node(0).Runtime.Send(pid.PID{}, p, "exit", msg.Nil); err != nil {
		t.Fatal(err)
	}
	changes += 4 // two joins, and the exit leaves twice
	want := append(slices.Clone(live), ep)
	converged(t, c, "w", want)
	await.Until(t, "the watcher has every event", func() bool { return countPIDs(watcher) == changes })
	checkReplay(t, watcher, []pid.PID{ep}, want)
	// Node 1 dies: its members leave, once each.
	c.Kill(1)
	var rest []pid.PID
	for _, p := range want {
		if p.Node != "n1" {
			rest = append(rest, p)
		}
	}
	converged(t, c, "w", rest)
	checkReplay(t, watcher, []pid.PID{ep}, rest)
	await.Never(t, 100*time.Millisecond, "an event past the last change", func() bool {
		return countPIDs(watcher) != changes+len(want)-len(rest)
	})
}

func countPIDs(m *member) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, ev := range m.events {
		pids, _ := ev.Payload.Get("pids")
		n += pids.Len()
	}
	return n
}

// checkReplay applies the watcher's events to snap and compares with want.
func checkReplay(t *testing.T, m *member, snap, want []pid.PID) {
	t.Helper()
	await.NoError(t, "the events replay to the members", func() error {
		count := map[pid.PID]int{}
		for _, p := range snap {
			count[p]++
		}
		m.mu.Lock()
		for _, ev := range m.events {
			kind, _ := ev.Payload.Get("kind")
			pids, _ := ev.Payload.Get("pids")
			for _, v := range pids.Items() {
				p, _ := v.AsPID()
				if k, _ := kind.AsString(); k == "member.joined" {
					count[p]++
				} else {
					count[p]--
				}
			}
		}
		m.mu.Unlock()
		var got []pid.PID
		for p, n := range count {
			if n < 0 {
				return fmt.Errorf("%v left more than it joined", p)
			}
			for range n {
				got = append(got, p)
			}
		}
		slices.SortFunc(got, cmpPID)
		w := slices.Clone(want)
		slices.SortFunc(w, cmpPID)
		if !slices.Equal(got, w) {
			return fmt.Errorf("replayed %v, members %v", got, w)
		}
		return nil
	})
}

// TestConvergesAfterPartitionAndRestart: changes made on both sides of a
// partition that membership declared dead (sessions abandoned, members
// dropped) are everywhere once it heals; a restarted node's old members
// are gone and its new ones are listed.
func TestConvergesAfterPartitionAndRestart(t *testing.T) {
	c := clustertest.New(t, 3, clustertest.Groups(nil, scope))
	m0, p0 := spawnMember(t, c.Node(0))
	m2, p2 := spawnMember(t, c.Node(2))
	m0.do(t, c.Node(0).Runtime, p0, "join", msg.String("w"))
	m2.do(t, c.Node(2).Runtime, p2, "join", msg.String("w"))
	converged(t, c, "w", []pid.PID{p0, p2})

	c.Partition(2)
	down := func(a, b *clustertest.Node) {
		a.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberFailed, Node: b.Name, Boot: b.Boot})
	}
	for _, i := range []int{0, 1} {
		down(c.Node(i), c.Node(2))
		down(c.Node(2), c.Node(i))
	}
	await.Until(t, "each side dropped the other's members", func() bool {
		return slices.Equal(members(c.Node(0), "w"), []pid.PID{p0}) && slices.Equal(members(c.Node(2), "w"), []pid.PID{p2})
	})
	m1, p1 := spawnMember(t, c.Node(1))
	m1.do(t, c.Node(1).Runtime, p1, "join", msg.String("w"))
	m2b, p2b := spawnMember(t, c.Node(2))
	m2b.do(t, c.Node(2).Runtime, p2b, "join", msg.String("w"))
	m0.do(t, c.Node(0).Runtime, p0, "leave", msg.String("w"))
	up := func(a, b *clustertest.Node) {
		a.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: b.Name, Addr: b.Endpoint.Addr(), Boot: b.Boot})
	}
	for _, i := range []int{0, 1} {
		up(c.Node(i), c.Node(2))
		up(c.Node(2), c.Node(i))
	}
	c.Heal()
	converged(t, c, "w", []pid.PID{p1, p2, p2b})

	c.Restart(2)
	converged(t, c, "w", []pid.PID{p1})
	m2c, p2c := spawnMember(t, c.Node(2))
	m2c.do(t, c.Node(2).Runtime, p2c, "join", msg.String("w"))
	converged(t, c, "w", []pid.PID{p1, p2c})
}

// TestAntiEntropyRepairs: a replica that lost its copy of a node's
// members (here: forced by dropping a peer's state on one node) is
// repaired by the digest loop.
func TestAntiEntropyRepairs(t *testing.T) {
	c := clustertest.New(t, 2, clustertest.Groups(func(gc *groups.Config) { gc.AntiEntropy = 20 * time.Millisecond }, scope))
	m, p := spawnMember(t, c.Node(0))
	m.do(t, c.Node(0).Runtime, p, "join", msg.String("w"))
	converged(t, c, "w", []pid.PID{p})
	c.Node(1).Groups.ForgetForTest("n0")
	if got := members(c.Node(1), "w"); len(got) != 0 {
		t.Fatalf("after forgetting: %v", got)
	}
	converged(t, c, "w", []pid.PID{p})
	if s := c.Node(1).Groups.Stats(); s.Repairs == 0 || s.StatesIn < 2 {
		t.Fatalf("stats %+v: no repair counted", s)
	}
}

// TestBroadcastDeliveriesAreChecked: node n1's host app:system refuses
// messages into it; a broadcast from n0 still reaches the members of n1's
// other host and of n0, and n1 drops (and counts) the one into app:system.
// A policy refusing pg.broadcast on the group stops it at the sender.
func TestBroadcastDeliveriesAreChecked(t *testing.T) {
	closed, err := security.Compile(security.PolicySpec{
		ID: "test:closed", Actions: []string{"process.send"}, Resources: []string{"app:system"}, Effect: security.Deny,
	})
	if err != nil {
		t.Fatal(err)
	}
	noBcast, err := security.Compile(security.PolicySpec{
		ID: "test:nobcast", Actions: []string{"pg.broadcast"}, Resources: []string{"quiet"}, Effect: security.Deny,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := clustertest.New(t, 2, clustertest.Groups(nil, scope), clustertest.Hosts("app:system"),
		clustertest.RuntimeConfig(func(node string, rc *runtime.Config) {
			for i := range rc.Hosts {
				switch {
				case node == "n1" && rc.Hosts[i].ID == "app:system":
					rc.Hosts[i].Policies = []*security.Policy{closed}
				case node == "n0" && rc.Hosts[i].ID == clustertest.DefaultHost:
					rc.Hosts[i].Policies = []*security.Policy{noBcast}
				}
			}
		}))
	speaker, sp := spawnMember(t, c.Node(0))
	open, op := spawnMember(t, c.Node(1))
	shut := newMember()
	shp, err := c.Node(1).Runtime.Spawn(proc.SpawnRequest{Host: "app:system", Behavior: native.New(shut)})
	if err != nil {
		t.Fatal(err)
	}
	speaker.do(t, c.Node(0).Runtime, sp, "join", msg.String("w"))
	open.do(t, c.Node(1).Runtime, op, "join", msg.String("w"))
	shut.do(t, c.Node(1).Runtime, shp, "join", msg.String("w"))
	speaker.do(t, c.Node(0).Runtime, sp, "join", msg.String("quiet"))
	converged(t, c, "w", []pid.PID{sp, op, shp})
	dropped := c.Node(1).Runtime.Counters().Dropped[runtime.DropPolicy]
	speaker.do(t, c.Node(0).Runtime, sp, "bcast", msg.List(msg.String("w"), msg.Int(3)))
	await.Until(t, "the open members have the broadcasts", func() bool {
		return len(got(speaker, sp)) == 3 && len(got(open, sp)) == 3
	})
	await.Until(t, "n1 dropped the deliveries into app:system", func() bool {
		return c.Node(1).Runtime.Counters().Dropped[runtime.DropPolicy] == dropped+3
	})
	if n := len(got(shut, sp)); n != 0 {
		t.Fatalf("the closed host's member got %d broadcasts", n)
	}
	if err := c.Node(0).Runtime.Send(pid.PID{}, sp, "bcast", msg.List(msg.String("quiet"), msg.Int(1))); err != nil {
		t.Fatal(err)
	}
	if err := <-speaker.errs; proc.AsError(err).Kind != proc.KindPermissionDenied {
		t.Fatalf("broadcast to a refused group: %v", err)
	}
}

func got(m *member, from pid.PID) []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.got[from])
}

// TestMembersPerNodeBound: a node keeps at most MaxMembersPerNode of
// another node's members and counts the rest as refused; its own joins
// past the bound fail with UNAVAILABLE.
func TestMembersPerNodeBound(t *testing.T) {
	c := clustertest.New(t, 2, clustertest.Groups(func(gc *groups.Config) {
		if gc.Node == "n1" {
			gc.MaxMembersPerNode = 5
		}
	}, scope))
	m, p := spawnMember(t, c.Node(0))
	for i := range 8 {
		m.do(t, c.Node(0).Runtime, p, "join", msg.String(fmt.Sprint("g", i)))
	}
	await.Until(t, "n1 holds 5 of n0's memberships and refused 3", func() bool {
		s := c.Node(1).Groups.Stats()
		return s.Members == 5 && s.Refused == 3
	})
	q := newMember()
	qp, err := c.Node(1).Runtime.Spawn(proc.SpawnRequest{Behavior: native.New(q)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		q.do(t, c.Node(1).Runtime, qp, "join", msg.String("mine"))
	}
	if err := c.Node(1).Runtime.Send(pid.PID{}, qp, "join", msg.String("mine")); err != nil {
		t.Fatal(err)
	}
	if err := <-q.errs; !errors.Is(err, groups.ErrNodeFull) {
		t.Fatalf("a sixth join on n1: %v", err)
	}
}
