package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// namer is a process that registers, unregisters and reports its names in
// the scope given with each message ("reg name scope", "unreg name scope").
func namer(t *testing.T, n *Node, results chan error) pid.PID {
	t.Helper()
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		var name string
		var scope int
		text, _ := m.Payload.AsString()
		if _, err := fmt.Sscan(text, &name, &scope); err != nil {
			results <- err
			return nil
		}
		switch m.Topic {
		case "reg":
			results <- c.RegisterIn(name, proc.Scope(scope))
		case "unreg":
			results <- c.Unregister(name, proc.Scope(scope))
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ask(t *testing.T, n *Node, p pid.PID, results chan error, topic, name string, scope proc.Scope) error {
	t.Helper()
	if err := n.Runtime().Send(pid.PID{}, p, topic, msg.String(fmt.Sprint(name, " ", int(scope)))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-results:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
		return nil
	}
}

// resolvesOn waits until name resolves to p (zero: to nothing) on every
// node of ns, by the runtime's local chain.
func resolvesOn(t *testing.T, name string, p pid.PID, ns ...*Node) {
	t.Helper()
	await.Until(t, fmt.Sprintf("%s resolves to %v everywhere", name, p), func() bool {
		for _, n := range ns {
			got, err := n.Runtime().Lookup(name)
			if p.IsZero() != (err != nil) || got != p {
				return false
			}
		}
		return true
	})
}

// TestEventualNamesAcrossNodes: an EVENTUAL name registered on one node
// resolves on the others without Raft; it is released when its process
// ends and when its node dies.
func TestEventualNamesAcrossNodes(t *testing.T) {
	a := clusterNode(t, "a")
	b := clusterNode(t, "b", a.MembershipAddr())
	c := clusterNode(t, "c", a.MembershipAddr())
	await.Until(t, "three nodes", func() bool { return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 && len(c.Nodes()) == 2 })
	results := make(chan error, 1)
	pa := namer(t, a, results)
	if err := ask(t, a, pa, results, "reg", "svc", proc.ScopeEventual); err != nil {
		t.Fatal(err)
	}
	resolvesOn(t, "svc", pa, a, b, c)
	pb := namer(t, b, results)
	if err := ask(t, b, pb, results, "reg", "svc", proc.ScopeEventual); proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("a taken eventual name: %v", err)
	}
	if err := ask(t, b, pb, results, "unreg", "svc", proc.ScopeEventual); proc.AsError(err).Kind != proc.KindPermissionDenied {
		t.Fatalf("unregister of another node's eventual name: %v", err)
	}
	if err := ask(t, a, pa, results, "unreg", "svc", proc.ScopeConsistent); proc.AsError(err).Kind != proc.KindUnavailable {
		t.Fatalf("consistent without raft: %v", err)
	}
	a.Runtime().Terminate(pa)
	resolvesOn(t, "svc", pid.PID{}, a, b, c)
	if err := ask(t, b, pb, results, "reg", "b-svc", proc.ScopeEventual); err != nil {
		t.Fatal(err)
	}
	resolvesOn(t, "b-svc", pb, a, b, c)
	b.Isolate()
	resolvesOn(t, "b-svc", pid.PID{}, a, c)
}
