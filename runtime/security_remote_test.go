package runtime_test

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
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

// Security of traffic between nodes (SPEC section 8, docs/security.md).

// captureRouter records what goes to other nodes.
type captureRouter struct {
	mu     sync.Mutex
	envs   []runtime.Envelope
	spawns []proc.SpawnRequest
}

func (r *captureRouter) Route(e *runtime.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.envs = append(r.envs, *e)
	return nil
}

func (r *captureRouter) Spawn(node string, _ pid.PID, req proc.SpawnRequest) (pid.PID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spawns = append(r.spawns, req)
	return pid.PID{Node: node, Host: req.Host, Seq: 1}, nil
}

// Traffic to another node carries the sender's actor, the ids of every
// policy of its context and its host; the sending node checks first.
func TestRemoteTrafficCarriesIdentity(t *testing.T) {
	r := &captureRouter{}
	rt := newSecRuntime(t, secConfig{router: r})
	actor := &security.Actor{ID: "svc"}
	a := policy(t, "app:a", security.Allow, strs("x.*"), strs("*"))
	b := policy(t, "app:b", security.Deny, acts(security.ActionSend), strs("{n2@app:system|0x00009}"))
	remote := pid.PID{Node: "n2", Host: hostProcs, Seq: 7}
	narrowTo := &security.Actor{ID: "narrow"}
	err := as(t, rt, proc.SpawnRequest{Host: hostSandbox, Actor: actor, Scope: []*security.Policy{b, a}}, func(c *native.Ctx) error {
		wantAllowed(t, "remote send", c.Send(remote, "t", msg.Int(1)))
		wantDenied(t, "remote send checked here", c.Send(pid.PID{Node: "n2", Host: hostSystem, Seq: 9}, "t", msg.Nil))
		wantAllowed(t, "remote monitor", c.Monitor(remote))
		if _, err := c.Spawn(proc.SpawnRequest{Entry: "app:w", Host: "n2@" + hostProcs}); err != nil {
			return err
		}
		_, err := c.Spawn(proc.SpawnRequest{Entry: "app:w", Host: "n2@" + hostProcs, Actor: narrowTo,
			Scope: []*security.Policy{policy(t, "app:c", security.Allow, strs("y"), strs("*"))}})
		return err
	})
	wantAllowed(t, "calls", err)
	// A message, a monitor, and the demonitor the caller's exit sends;
	// the denied send stays here. as returns when the function does, before
	// the process has ended: the demonitor comes after, from its finish.
	await.Until(t, "the demonitor of the caller's exit", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.envs) >= 3
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	var kinds []runtime.SignalKind
	for _, e := range r.envs {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []runtime.SignalKind{runtime.SigMessage, runtime.SigMonitor, runtime.SigDemonitor}) {
		t.Fatalf("routed %v", kinds)
	}
	for _, e := range r.envs {
		if len(e.Chain) != 1 || e.Chain[0].Actor != actor || !slices.Equal(e.Chain[0].ScopeIDs, strs("app:a", "app:b")) || e.FromHost != hostSandbox {
			t.Errorf("envelope %v carries chain %+v, host %q", e.Kind, e.Chain, e.FromHost)
		}
	}
	if len(r.spawns) != 2 {
		t.Fatalf("remote spawns %d", len(r.spawns))
	}
	// A spawn carries the parent's chain and the narrowing it asks for;
	// the target node derives the child's identity.
	for i, s := range r.spawns {
		if p := s.Parent; p == nil || p.Node != "n1" || p.Host != hostSandbox || len(p.Chain) != 1 || p.Chain[0].Actor != actor {
			t.Errorf("remote spawn %d: parent %+v", i, s.Parent)
		}
	}
	if s := r.spawns[0]; s.Actor != nil || s.ScopeIDs != nil || s.Scope != nil || s.Host != hostProcs {
		t.Errorf("inherited remote spawn %+v", s)
	}
	if s := r.spawns[1]; s.Actor != narrowTo || !slices.Equal(s.ScopeIDs, strs("app:c")) || s.Scope != nil {
		t.Errorf("narrowed remote spawn carries actor %v, scope %v: want the narrowing alone", s.Actor, s.ScopeIDs)
	}
}

// Inbound traffic is checked with the identity it carries; a denied
// signal is dropped, counted, and the target sees nothing.
func TestDeliverChecksRemoteTraffic(t *testing.T) {
	noSend := policy(t, "app:no-send", security.Deny, acts(security.ActionSend, security.ActionTerminate), strs(hostSystem))
	guests := policy(t, "app:guests", security.Deny, acts(security.ActionCancel), strs("*"),
		security.Condition{Field: "actor.id", Operator: security.OpEq, Value: "guest"})
	sandboxed := policy(t, "app:sandboxed", security.Deny, acts(security.ActionMonitor), strs("*"))
	rt := newSecRuntime(t, secConfig{table: []*security.Policy{noSend, guests}, sandbox: []*security.Policy{sandboxed}})
	sys, sysPID := target(t, rt, hostSystem, true)
	from := pid.PID{Node: "n2", Host: hostProcs, Seq: 5}
	dropped := func() uint64 { return rt.Counters().Dropped[runtime.DropPolicy] }
	tests := []struct {
		name string
		env  runtime.Envelope
		deny bool
	}{
		{"send, scope denies", runtime.Envelope{Kind: runtime.SigMessage, Topic: "x", Chain: layer(nil, "app:no-send")}, true},
		{"terminate, scope denies", runtime.Envelope{Kind: runtime.SigTerminate, Chain: layer(nil, "app:no-send")}, true},
		{"unknown policy id", runtime.Envelope{Kind: runtime.SigMessage, Topic: "x", Chain: layer(nil, "app:nowhere")}, true},
		{"cancel by guest", runtime.Envelope{Kind: runtime.SigCancel, Chain: layer(&security.Actor{ID: "guest"}, "app:guests")}, true},
		{"monitor from a sandbox host", runtime.Envelope{Kind: runtime.SigMonitor, FromHost: hostSandbox, Chain: layer(nil, "app:guests")}, true},
		{"cancel by another actor", runtime.Envelope{Kind: runtime.SigCancel, Chain: layer(&security.Actor{ID: "svc"}, "app:guests"), Payload: msg.String("r")}, false},
		{"cancel, a guest layer outside", runtime.Envelope{Kind: runtime.SigCancel, Payload: msg.String("r"),
			Chain: append(layer(&security.Actor{ID: "guest"}, "app:guests"), layer(&security.Actor{ID: "svc"}, "app:guests")...)}, true},
		{"send, an unknown id in an outer layer", runtime.Envelope{Kind: runtime.SigMessage, Topic: "x",
			Chain: append(layer(nil, "app:nowhere"), layer(&security.Actor{ID: "svc"})...)}, true},
		{"send, no scope", runtime.Envelope{Kind: runtime.SigMessage, Topic: "ok"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			e.From, e.To = from, sysPID
			before := dropped()
			rt.Deliver(&e)
			if tc.deny {
				if dropped() != before+1 {
					t.Fatalf("dropped[policy] %d -> %d, want +1", before, dropped())
				}
				if !rt.Alive(sysPID) {
					t.Fatal("a denied terminate ended the target")
				}
				firstIsMarker(t, rt, sys, sysPID)
				return
			}
			if dropped() != before {
				t.Fatal("an allowed signal was dropped")
			}
			switch e.Kind {
			case runtime.SigMessage:
				if m := recv[native.Message](t, sys.ch); m.Topic != e.Topic || m.From != from {
					t.Fatalf("got %+v", m)
				}
			case runtime.SigCancel:
				if ev := recv[native.Event](t, sys.ch); ev.Kind != proc.DeliveryCancel {
					t.Fatalf("got %+v", ev)
				}
			}
		})
	}
	// A remote spawn is checked as a local one would be.
	spawn := (&proc.SpawnRequest{Entry: "app:w"}).Security()
	err := rt.Guard().AuthorizeRemoteSpawn(security.RemoteCaller{Node: "n2", Host: hostProcs, Chain: layer(&security.Actor{ID: "x"}, "app:guests")},
		&spawn, hostSandbox)
	wantAllowed(t, "remote spawn", err)
	err = rt.Guard().AuthorizeRemoteSpawn(security.RemoteCaller{Node: "n2", Chain: layer(nil, "app:gone")}, &spawn, "")
	if !errors.Is(err, security.ErrPermissionDenied) {
		t.Fatalf("remote spawn with an unknown policy: %v, want denied", err)
	}
}

// A remote spawn's child gets the identity the request carries, its scope
// ids resolved against the node's table.
func TestSpawnWithScopeIDs(t *testing.T) {
	noSend := policy(t, "app:no-send", security.Deny, acts(security.ActionSend), strs(hostSystem))
	rt := newSecRuntime(t, secConfig{table: []*security.Policy{noSend}})
	_, sysPID := target(t, rt, hostSystem, false)
	actor := &security.Actor{ID: "remote"}
	wantDenied(t, "child of a remote spawn", as(t, rt, proc.SpawnRequest{Actor: actor, ScopeIDs: strs("app:no-send")}, func(c *native.Ctx) error {
		if c.Env().Actor() != actor {
			t.Errorf("actor %v", c.Env().Actor())
		}
		return c.Send(sysPID, "x", msg.Nil)
	}))
	if _, err := rt.Spawn(proc.SpawnRequest{ScopeIDs: strs("app:unknown"), Behavior: native.New(&fn{})}); proc.AsError(err).Kind != proc.KindPermissionDenied {
		t.Fatalf("spawn with an unknown policy id: %v", err)
	}
}

// layer is a chain of one layer as it travels.
func layer(a *security.Actor, ids ...string) security.RemoteChain {
	return security.RemoteChain{{Actor: a, ScopeIDs: ids}}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) lines(substr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range strings.Split(string(s.b), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// Denied remote traffic is logged once per (sender host, target host)
// pair per interval, and counted every time.
func TestDeniedTrafficLogThrottled(t *testing.T) {
	noSend := policy(t, "app:no-send", security.Deny, acts(security.ActionSend), strs("*"))
	logs := &syncBuffer{}
	rt := newRuntime(t, func(c *runtime.Config) {
		c.Hosts = []runtime.HostConfig{{ID: hostProcs}, {ID: hostSystem}}
		c.Policies = map[string]*security.Policy{noSend.ID(): noSend}
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	_, a := target(t, rt, hostProcs, false)
	_, b := target(t, rt, hostSystem, false)
	before := rt.Counters().Dropped[runtime.DropPolicy]
	for _, tc := range []struct {
		fromHost string
		to       pid.PID
	}{{"app:x", a}, {"app:x", a}, {"app:x", a}, {"app:x", b}, {"app:y", a}, {"app:y", a}} {
		rt.Deliver(&runtime.Envelope{Kind: runtime.SigMessage, From: pid.PID{Node: "n2", Host: tc.fromHost, Seq: 1}, To: tc.to,
			Topic: "x", Chain: layer(nil, noSend.ID())})
	}
	if got := rt.Counters().Dropped[runtime.DropPolicy] - before; got != 6 {
		t.Fatalf("dropped[policy] +%d, want +6", got)
	}
	if n := logs.lines("denied traffic"); n != 3 {
		t.Fatalf("%d log lines, want 3 (one per host pair):\n%s", n, logs.b)
	}
}
