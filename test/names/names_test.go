// Package names runs the name planes of several nodes in one process, each
// node a runtime whose NameService is a Raft registry and an EVENTUAL plane
// over a transport endpoint on memnet or on loopback TCP (cutNet: TCP the
// test can partition), composed as package node composes them, with a membership view per node that the test drives: a minority
// partition and a killed node, seen through the runtime's one chain of
// local reads and by processes.
package names

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/registry/eventual"
	"github.com/wippyd/wippyd/registry/raftreg"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/memnet"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const host = "app:processes"

// view is one node's membership: which nodes it believes alive. It is
// both planes' peer source.
type view struct {
	mu    sync.Mutex
	alive map[string]bool
	subs  map[int]func()
	next  int
}

func (v *view) Members() []raftreg.Member {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []raftreg.Member
	for n, ok := range v.alive {
		st := raftreg.MemberAlive
		if !ok {
			st = raftreg.MemberDead
		}
		out = append(out, raftreg.Member{Name: n, Voter: true, State: st})
	}
	return out
}

func (v *view) Up() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for n, ok := range v.alive {
		if ok {
			out = append(out, n)
		}
	}
	return out
}

func (v *view) OnChange(f func()) func() {
	v.mu.Lock()
	defer v.mu.Unlock()
	id := v.next
	v.next++
	v.subs[id] = f
	return func() { v.mu.Lock(); delete(v.subs, id); v.mu.Unlock() }
}

func (v *view) set(n string, alive bool) {
	v.mu.Lock()
	v.alive[n] = alive
	subs := make([]func(), 0, len(v.subs))
	for _, f := range v.subs {
		subs = append(subs, f)
	}
	v.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

// stack is one node.
type stack struct {
	name    string
	ep      *transport.Endpoint
	raft    *raftreg.Registry
	ev      *eventual.Plane
	rt      *runtime.Runtime
	view    *view
	cancels chan string // "pid reason" of each CANCEL a holder got
	results chan error
}

type world struct {
	t     *testing.T
	mn    *memnet.Network
	cn    *cutNet           // loopback TCP instead of mn when set
	addrs map[string]string // node -> listen address
	names []string
	nodes map[string]*stack
}

// newWorld starts n nodes on memnet, or on loopback TCP.
func newWorld(t *testing.T, n int, overTCP bool) *world {
	w := &world{t: t, mn: memnet.New(), addrs: map[string]string{}, nodes: map[string]*stack{}}
	if overTCP {
		cn, err := newCutNet()
		if err != nil {
			t.Fatal(err)
		}
		w.cn = cn
	}
	for i := range n {
		w.names = append(w.names, fmt.Sprintf("n%d", i+1))
	}
	for _, name := range w.names {
		w.start(name)
	}
	for _, a := range w.names { // TCP: the addresses are known only now
		for _, b := range w.names {
			if a != b {
				_ = w.nodes[a].ep.Connect(b, w.addrs[b])
			}
		}
	}
	for _, a := range w.names {
		for _, b := range w.names {
			w.nodes[a].view.set(b, true)
		}
	}
	t.Cleanup(func() {
		for _, name := range w.names {
			w.kill(name)
		}
	})
	await.Until(t, "a raft leader all agree on", func() bool {
		var l string
		for _, s := range w.nodes {
			st := s.raft.Stats()
			if st.Leader == "" || l != "" && st.Leader != l {
				return false
			}
			l = st.Leader
		}
		return true
	})
	return w
}

func (w *world) start(name string) {
	t := w.t
	tc := transport.DefaultConfig()
	tc.Name, tc.BindAddr, tc.BackoffMax = name, name, 50*time.Millisecond
	var nw transport.Network = w.mn.Host(name)
	if w.cn != nil {
		tc.BindAddr, nw = "127.0.0.1:0", w.cn.host(name)
	}
	ep, err := transport.New(tc, nw)
	if err != nil {
		t.Fatal(err)
	}
	v := &view{alive: map[string]bool{}, subs: map[int]func(){}}
	rc := raftreg.DefaultConfig()
	rc.Node, rc.InMemory, rc.BootstrapExpect, rc.ApplyTimeout = name, true, len(w.names), time.Second
	rc.ReconcileInterval = 100 * time.Millisecond
	r, err := raftreg.New(rc, ep, v)
	if err != nil {
		t.Fatal(err)
	}
	ec := eventual.DefaultConfig()
	ec.Node, ec.SyncInterval = name, 100*time.Millisecond
	ev, err := eventual.New(ec, ep, v)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Start(); err != nil {
		t.Fatal(err)
	}
	w.addrs[name] = ep.Addr()
	if w.cn != nil {
		w.cn.learn(name, ep.Addr())
	}
	for _, o := range w.names {
		if a := w.addrs[o]; o != name && a != "" {
			_ = ep.Connect(o, a)
		}
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	ev.Start()
	cfg := runtime.DefaultConfig()
	cfg.Node, cfg.Workers, cfg.Hosts = name, 2, []runtime.HostConfig{{ID: host}}
	cfg.Names = node.NewNameService(r, ev)
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	w.nodes[name] = &stack{name: name, ep: ep, raft: r, ev: ev, rt: rt, view: v,
		cancels: make(chan string, 16), results: make(chan error, 1)}
}

// kill stops a node abruptly.
func (w *world) kill(name string) {
	s := w.nodes[name]
	if s == nil {
		return
	}
	delete(w.nodes, name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.rt.Stop(ctx)
	s.ev.Close()
	_ = s.raft.Close()
	_ = s.ep.Close()
}

// holder is a process that registers and releases names as told ("reg" or
// "unreg", payload "name scope") and reports each CANCEL it gets.
type holder struct{ s *stack }

func (h holder) HandleMessage(c *native.Ctx, m native.Message) error {
	text, _ := m.Payload.AsString()
	var name string
	var scope int
	fmt.Sscan(text, &name, &scope)
	if m.Topic == "reg" {
		h.s.results <- c.RegisterIn(name, proc.Scope(scope))
	} else {
		h.s.results <- c.Unregister(name, proc.Scope(scope))
	}
	return nil
}

func (h holder) HandleEvent(c *native.Ctx, e native.Event) error {
	if e.Kind == proc.DeliveryCancel && e.Reason != "runtime stopping" {
		h.s.cancels <- c.Self().String() + " " + e.Reason
	}
	return nil
}

func (s *stack) spawn(t *testing.T) pid.PID {
	t.Helper()
	p, err := s.rt.Spawn(proc.SpawnRequest{Host: host, Behavior: native.New(holder{s})})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ask has holder p of node s register or release a name, and returns what
// the call returned.
func (s *stack) ask(t *testing.T, p pid.PID, topic, name string, scope proc.Scope) error {
	t.Helper()
	if err := s.rt.Send(pid.PID{}, p, topic, msg.String(fmt.Sprint(name, " ", int(scope)))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.results:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
		return nil
	}
}

// resolves waits until name resolves to p (zero: nothing) on the nodes,
// by the runtime's chain of local reads.
func (w *world) resolves(name string, p pid.PID, on ...string) {
	w.t.Helper()
	await.Until(w.t, fmt.Sprintf("%s -> %v on %v", name, p, on), func() bool {
		for _, n := range on {
			got, err := w.nodes[n].rt.Lookup(name)
			if p.IsZero() != (err != nil) || got != p {
				return false
			}
		}
		return true
	})
}

func (w *world) partition(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			if w.cn != nil {
				w.cn.Partition(x, y)
			} else {
				w.mn.Partition(x, y)
			}
		}
	}
}

func (w *world) heal(a, b []string) {
	for _, x := range a {
		for _, y := range b {
			if w.cn != nil {
				w.cn.Heal(x, y)
			} else {
				w.mn.Heal(x, y)
			}
		}
	}
}

// see sets, in the views of the nodes who, whether the nodes about are
// alive.
func (w *world) see(who, about []string, alive bool) {
	for _, x := range who {
		for _, y := range about {
			w.nodes[x].view.set(y, alive)
		}
	}
}

var scopes = []proc.Scope{proc.ScopeLocal, proc.ScopeEventual, proc.ScopeConsistent, proc.ScopeStrong}

// TestMinorityPartition: n1 is cut off from n2 and n3. Every name n1 knew
// still resolves there, LOCAL names keep working, CONSISTENT and STRONG
// writes fail within the apply timeout, EVENTUAL writes succeed; the same
// EVENTUAL name registered on both sides resolves to one winner everywhere
// after the heal and its loser gets exactly one CANCEL. Then n3 is killed
// and its EVENTUAL, CONSISTENT and STRONG names are released everywhere.
// Over memnet, and over loopback TCP.
func TestMinorityPartition(t *testing.T) {
	for _, overTCP := range []bool{false, true} {
		t.Run(map[bool]string{false: "memnet", true: "tcp"}[overTCP], func(t *testing.T) { minorityPartition(t, overTCP) })
	}
}

func minorityPartition(t *testing.T, overTCP bool) {
	w := newWorld(t, 3, overTCP)
	n1, n2, n3 := w.nodes["n1"], w.nodes["n2"], w.nodes["n3"]
	holders := map[string]pid.PID{}
	for _, s := range []*stack{n1, n2, n3} {
		p := s.spawn(t)
		holders[s.name] = p
		for _, sc := range scopes {
			if err := s.ask(t, p, "reg", fmt.Sprintf("%s-%s", sc, s.name), sc); err != nil {
				t.Fatalf("%s registers in %s: %v", s.name, sc, err)
			}
		}
	}
	for _, s := range w.names {
		for _, sc := range scopes[1:] {
			w.resolves(fmt.Sprintf("%s-%s", sc, s), holders[s], w.names...)
		}
	}

	minority, majority := []string{"n1"}, []string{"n2", "n3"}
	w.partition(minority, majority)
	for _, s := range w.names {
		for _, sc := range scopes[1:] {
			if got, err := n1.rt.Lookup(fmt.Sprintf("%s-%s", sc, s)); err != nil || got != holders[s] {
				t.Fatalf("n1 lost %s-%s in the partition: %v %v", sc, s, got, err)
			}
		}
	}
	// LOCAL, and EVENTUAL, work in the minority; the Raft scopes fail in
	// time, UNAVAILABLE.
	for _, sc := range []proc.Scope{proc.ScopeLocal, proc.ScopeEventual} {
		if err := n1.ask(t, holders["n1"], "reg", "cut-"+sc.String(), sc); err != nil {
			t.Fatalf("%s in the minority: %v", sc, err)
		}
	}
	for _, sc := range []proc.Scope{proc.ScopeConsistent, proc.ScopeStrong} {
		start := time.Now()
		err := n1.ask(t, holders["n1"], "reg", "cut-"+sc.String(), sc)
		if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || time.Since(start) > 2*time.Second+500*time.Millisecond {
			t.Fatalf("%s in the minority: %v after %v", sc, err, time.Since(start))
		}
	}
	w.resolves("cut-local", holders["n1"], "n1")

	// Both sides take one EVENTUAL name; the side that registered first
	// wins after the heal.
	if err := n1.ask(t, holders["n1"], "reg", "shared", proc.ScopeEventual); err != nil {
		t.Fatal(err)
	}
	if err := n2.ask(t, holders["n2"], "reg", "shared", proc.ScopeEventual); err != nil {
		t.Fatalf("the majority takes the name too: %v", err)
	}
	w.resolves("shared", holders["n1"], "n1")
	w.resolves("shared", holders["n2"], "n2", "n3")
	// membership declares the other side dead, then the network heals.
	w.see(minority, majority, false)
	w.see(majority, minority, false)
	w.resolves("eventual-n1", pid.PID{}, "n2", "n3")
	w.heal(minority, majority)
	w.see(minority, majority, true)
	w.see(majority, minority, true)
	w.resolves("shared", holders["n1"], w.names...)
	w.resolves("eventual-n1", holders["n1"], w.names...)
	w.resolves("cut-eventual", holders["n1"], w.names...)
	// n1 was declared dead by the majority, whose leader released its
	// CONSISTENT and STRONG names: n1's holder hears of it once it is back.
	w.resolves("consistent-n1", pid.PID{}, w.names...)
	w.resolves("strong-n1", pid.PID{}, w.names...)
	got := map[string][]string{}
	await.Until(t, "the CANCELs", func() bool {
		for _, s := range []*stack{n1, n2, n3} {
			for len(s.cancels) > 0 {
				got[s.name] = append(got[s.name], <-s.cancels)
			}
		}
		return len(got["n1"]) == 2 && len(got["n2"]) == 1
	})
	await.Never(t, 300*time.Millisecond, "another CANCEL", func() bool {
		return len(n1.cancels)+len(n2.cancels)+len(n3.cancels) > 0
	})
	slices.Sort(got["n1"])
	want := map[string][]string{
		"n1": {holders["n1"].String() + " name revoked: consistent-n1", holders["n1"].String() + " name revoked: strong-n1"},
		"n2": {holders["n2"].String() + " name revoked: shared"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CANCELs %v\nwant     %v", got, want)
	}
	// The loser keeps running and may register again once the name is free.
	if err := n2.ask(t, holders["n2"], "reg", "shared", proc.ScopeEventual); proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("the loser registers again: %v", err)
	}

	// Kill n3: its cluster names go everywhere.
	w.kill("n3")
	w.see([]string{"n1", "n2"}, []string{"n3"}, false)
	for _, sc := range scopes[1:] {
		w.resolves(fmt.Sprintf("%s-n3", sc), pid.PID{}, "n1", "n2")
	}
	if slices.ContainsFunc([]string{"n1", "n2"}, func(n string) bool { _, err := w.nodes[n].rt.Lookup("consistent-n2"); return err != nil }) {
		t.Fatal("a live node's name went with n3")
	}
}
