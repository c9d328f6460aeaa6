package runtime_test

import (
	"sync"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// bridge is the router of a runtime that reaches one other runtime in the
// same process, doing what the cluster does with what crosses: signals
// are delivered, spawns are checked and made with SpawnFor.
type bridge struct {
	mu    sync.Mutex
	other *runtime.Runtime
}

func (b *bridge) to() *runtime.Runtime {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.other
}

func (b *bridge) Route(e *runtime.Envelope) error {
	c := *e
	b.to().Deliver(&c)
	return nil
}

func (b *bridge) Spawn(node string, from pid.PID, req proc.SpawnRequest) (pid.PID, error) {
	rt := b.to()
	caller := security.RemoteCaller{Node: from.Node, Host: from.Host}
	if req.Parent != nil {
		caller = *req.Parent
	} else {
		caller.Chain = security.RemoteChain{{Actor: req.Actor, ScopeIDs: req.ScopeIDs}}
	}
	check := req.Security()
	if err := rt.Guard().AuthorizeRemoteSpawn(caller, &check, req.Host); err != nil {
		return pid.PID{}, proc.Refusal(err)
	}
	return rt.SpawnFor(from, req, nil)
}

// Two runtimes, n1 and n2, each checking with its own policies. n2's
// sandbox host lets only admins terminate on app:system; n1 has no such
// rule. A guest on n1 narrows to an admin actor it made itself: n2 must
// still see the guest layer, in what the child sends and in what it
// spawns there, and refuse as it would for a process of its own.
func TestNarrowingCheckedByTheReceivingNode(t *testing.T) {
	onlyAdmins := policy(t, "app:only-admins", security.Deny, acts(security.ActionTerminate), strs(hostSystem),
		security.Condition{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"})
	b1, b2 := &bridge{}, &bridge{}
	n1 := newRuntime(t, func(c *runtime.Config) {
		c.Hosts = []runtime.HostConfig{{ID: hostProcs}, {ID: hostSystem}, {ID: hostSandbox}}
		c.Router = b1
	})
	n2 := newRuntime(t, func(c *runtime.Config) {
		c.Node = "n2"
		c.Hosts = []runtime.HostConfig{{ID: hostProcs}, {ID: hostSystem}, {ID: hostSandbox, Policies: []*security.Policy{onlyAdmins}}}
		c.Policies = map[string]*security.Policy{onlyAdmins.ID(): onlyAdmins}
		c.Router = b2
	})
	b1.other, b2.other = n2, n1
	_, victim := target(t, n2, hostSystem, false)
	guest := &security.Actor{ID: "guest", Meta: map[string]any{"role": "guest"}}
	root := &security.Actor{ID: "root", Meta: map[string]any{"role": "admin"}}
	terminated := make(chan error, 2)
	assassin := func() proc.Behavior {
		return native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
			terminated <- c.Terminate(victim)
			c.Stop(msg.Nil)
			return nil
		}})
	}
	dropped := func() uint64 { return n2.Counters().Dropped[runtime.DropPolicy] }
	before := dropped()
	err := as(t, n1, proc.SpawnRequest{Host: hostSandbox, Actor: guest}, func(c *native.Ctx) error {
		// A child here with the admin actor: n1 allows its terminate (n1
		// has no rule), n2 drops it.
		if _, err := c.Spawn(proc.SpawnRequest{Behavior: assassin(), Actor: root}); err != nil {
			return err
		}
		if err := <-terminated; err != nil {
			return err // n1 refused
		}
		// A child on n2 with the admin actor: n2 gives it the chain it
		// would give a child of the guest, and refuses its terminate.
		_, err := c.Spawn(proc.SpawnRequest{Behavior: assassin(), Host: "n2@" + hostSandbox, Actor: root})
		return err
	})
	wantAllowed(t, "spawns and the terminate checked on n1", err)
	await.Until(t, "the first terminate dropped on n2", func() bool { return dropped() == before+1 })
	wantDenied(t, "the remote child's terminate", <-terminated)
	if !n2.Alive(victim) {
		t.Fatal("the victim was terminated")
	}
}
