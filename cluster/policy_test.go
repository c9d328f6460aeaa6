package cluster_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/clustertest"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/host"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// fakePolicy denies every process-directed action into one host and
// spawns on it, and records what it was asked.
type fakePolicy struct {
	deny string
	mu   sync.Mutex
	seen []cluster.Request
}

func (f *fakePolicy) Authorize(r *cluster.Request) error {
	f.mu.Lock()
	f.seen = append(f.seen, *r)
	f.mu.Unlock()
	if r.Target.Host == f.deny || r.Action == cluster.ActionHost && r.Resource == f.deny {
		return proc.NewError(proc.KindPermissionDenied, "denied by test policy: "+r.Action, msg.False)
	}
	return nil
}

func (f *fakePolicy) requests() []cluster.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cluster.Request(nil), f.seen...)
}

// logs is a slog handler keeping every record's message and attributes.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logs) WithAttrs(as []slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler         { return l }

func (l *logs) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

// TestPolicyDeniesRemoteTraffic: node n1's policy forbids acting on its
// host app:system. Traffic from n0 into that host is dropped (the sender
// sees no error, the target nothing), counted and logged once; spawns
// there fail with PERMISSION_DENIED; the rest of n1 is reachable.
func TestPolicyDeniesRemoteTraffic(t *testing.T) {
	pol := &fakePolicy{deny: "app:system"}
	lg := &logs{}
	c := clustertest.New(t, 2,
		clustertest.Hosts("app:system"),
		clustertest.Catalog(catalog()),
		clustertest.Logger(slog.New(lg)),
		clustertest.Authorizers(func(node string) cluster.Authorizer {
			if node == "n1" {
				return pol
			}
			return nil
		}))
	rt0, rt1 := c.Node(0).Runtime, c.Node(1).Runtime
	sys := newProbe()
	sysPID := sys.spawn(t, rt1, "app:system")
	open := newProbe()
	openPID := open.spawn(t, rt1)

	s := newProbe()
	var sendErrs []error
	s.init = func(ctx *native.Ctx) error {
		for range 5 {
			sendErrs = append(sendErrs, ctx.Send(sysPID, "do", msg.String("forbidden")))
		}
		sendErrs = append(sendErrs, ctx.Send(openPID, "do", msg.String("fine")))
		return nil
	}
	sender := s.spawnReady(t, rt0)
	for _, err := range sendErrs {
		if err != nil {
			t.Fatalf("send returned %v", err)
		}
	}
	if m := recv[native.Message](t, open.ch); m.From != sender {
		t.Fatalf("open got %+v", m)
	}
	// The denied envelopes came first on the same session: they were
	// handled (dropped) before the allowed one arrived.
	expectNothing(t, sys.ch, 0)
	if got := c.Node(1).Cluster.Stats().Dropped[cluster.DropPolicy]; got != 5 {
		t.Fatalf("policy drops %d, want 5", got)
	}
	if n := lg.count("remote traffic denied"); n != 1 {
		t.Fatalf("%d deny log lines, want 1 (throttled)", n)
	}
	var sendReq *cluster.Request
	for _, r := range pol.requests() {
		if r.Action == cluster.ActionSend && r.Target == sysPID {
			sendReq = &r
			break
		}
	}
	if sendReq == nil || sendReq.Sender.Node != "n0" || sendReq.Sender.PID != sender || sendReq.Sender.Host != "app:processes" {
		t.Fatalf("authorizer request %+v", sendReq)
	}

	// Terminate, cancel and link into the denied host do nothing either.
	rt0.Terminate(sysPID)
	rt0.Cancel(sysPID, "go away")
	l := newProbe()
	l.trap = true
	l.init = func(ctx *native.Ctx) error { return ctx.Link(sysPID) }
	l.spawnReady(t, rt0)
	waitRelation(t, c, sysPID)
	if !rt1.Alive(sysPID) {
		t.Fatal("denied terminate killed the process")
	}
	expectNothing(t, sys.ch, 50*time.Millisecond)

	// Spawning there is refused with PERMISSION_DENIED; elsewhere allowed.
	_, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:system"})
	if errKind(err) != proc.KindPermissionDenied {
		t.Fatalf("spawn on the denied host: %v", err)
	}
	if p, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:processes"}); err != nil || p.Node != "n1" {
		t.Fatalf("allowed spawn: %v %v", p, err)
	}
	var actions []string
	for _, r := range pol.requests() {
		if r.Target.IsZero() {
			actions = append(actions, r.Action+" "+r.Resource)
		}
	}
	want := []string{"process.spawn test:echo", "process.host app:system", "process.spawn test:echo", "process.host app:processes"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Fatalf("spawn checks %q, want %q", actions, want)
	}
	// Traffic the other way is not checked by n0 (no authorizer there).
	back := newProbe()
	backPID := back.spawn(t, rt0)
	rt1.Send(sysPID, backPID, "hello", msg.Nil)
	if m := recv[native.Message](t, back.ch); m.From != sysPID {
		t.Fatalf("got %+v", m)
	}
	_ = pid.PID{}
}

// TestRuntimePolicyOnRemoteTraffic: the receiving runtime checks traffic
// from another node against its own policies with the identity that
// travelled with it — the sender's actor, scope ids and host — so a remote
// node cannot make a process do what the target's policy forbids.
func TestRuntimePolicyOnRemoteTraffic(t *testing.T) {
	// On n1, host app:system refuses everything aimed at it, and spawns
	// into it, to callers that are not admins.
	noSystem, err := host.NewPolicy(host.Policy{
		ID:        "test:no-system",
		Actions:   []string{"process.send", "process.terminate", "process.cancel", "process.link", "process.monitor", "process.host"},
		Resources: []string{"app:system"},
		Effect:    host.Deny,
		Conditions: []host.Condition{
			{Field: "actor.meta.role", Operator: host.OpNe, Value: "admin"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A policy id the sender's node knows as harmless and n1 as a deny of
	// sends from callers that carry it: ids are resolved by the receiver.
	harmless, _ := host.NewPolicy(host.Policy{ID: "test:muted", Actions: []string{"env.get"}, Resources: []string{"*"}, Effect: host.Allow})
	muted, _ := host.NewPolicy(host.Policy{ID: "test:muted", Actions: []string{"process.send"}, Resources: []string{"*"}, Effect: host.Deny})
	c := clustertest.New(t, 2,
		clustertest.Hosts("app:system"),
		clustertest.Catalog(catalog()),
		clustertest.RuntimeConfig(func(node string, rc *runtime.Config) {
			rc.Policies = map[string]*host.Policy{"test:muted": harmless}
			if node == "n1" {
				rc.Policies = map[string]*host.Policy{"test:muted": muted}
				for i := range rc.Hosts {
					if rc.Hosts[i].ID == "app:system" {
						rc.Hosts[i].Policies = []*host.Policy{noSystem}
					}
				}
			}
		}))
	rt0, rt1 := c.Node(0).Runtime, c.Node(1).Runtime
	sys := newProbe()
	sysPID := sys.spawn(t, rt1, "app:system")
	open := newProbe()
	openPID := open.spawn(t, rt1)

	admin := &host.Actor{ID: "root", Meta: map[string]any{"role": "admin"}}
	user := &host.Actor{ID: "bob", Meta: map[string]any{"role": "user"}}
	sendAs := func(a *host.Actor, scope []string, to pid.PID, text string) {
		t.Helper()
		done := make(chan error, 1)
		_, err := rt0.Spawn(proc.SpawnRequest{Actor: a, ScopeIDs: scope, Behavior: native.New(&probe{ch: make(chan any, 1), init: func(ctx *native.Ctx) error {
			done <- ctx.Send(to, "do", msg.String(text))
			ctx.Stop(msg.Nil)
			return nil
		}})})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("send as %v: %v", a, err)
		}
	}
	before := rt1.Counters().Dropped[runtime.DropPolicy]
	sendAs(user, nil, sysPID, "from user")
	sendAs(nil, nil, sysPID, "from nobody")
	sendAs(admin, []string{"test:muted"}, openPID, "admin, muted")
	sendAs(admin, nil, sysPID, "from admin")
	if m := recv[native.Message](t, sys.ch); !msg.Equal(m.Payload, msg.String("from admin")) {
		t.Fatalf("system process got %v first", m.Payload)
	}
	expectNothing(t, sys.ch, 0)
	expectNothing(t, open.ch, 0)
	if got := rt1.Counters().Dropped[runtime.DropPolicy] - before; got != 3 {
		t.Fatalf("n1 dropped %d for policy, want 3", got)
	}

	// Remote spawns into app:system: a user is refused, an admin allowed,
	// and the child runs as the admin.
	spawnAs := func(a *host.Actor) (pid.PID, error) {
		t.Helper()
		type result struct {
			child pid.PID
			err   error
		}
		res := make(chan result, 1)
		p := &probe{ch: make(chan any, 4)}
		p.init = func(ctx *native.Ctx) error {
			child, err := ctx.Spawn(proc.SpawnRequest{Entry: "test:whoami", Host: "n1@app:system"})
			if err == nil {
				ctx.Send(child, "who", msg.Nil)
			}
			res <- result{child, err}
			return nil
		}
		if _, err := rt0.Spawn(proc.SpawnRequest{Actor: a, Behavior: native.New(p)}); err != nil {
			t.Fatal(err)
		}
		r := <-res
		if r.err == nil {
			if m := recv[native.Message](t, p.ch); !msg.Equal(m.Payload, msg.String(a.ID)) {
				t.Fatalf("remote child runs as %v, want %s", m.Payload, a.ID)
			}
		}
		return r.child, r.err
	}
	if _, err := spawnAs(user); errKind(err) != proc.KindPermissionDenied {
		t.Fatalf("user spawn into app:system: %v", err)
	}
	if child, err := spawnAs(admin); err != nil || child.Node != "n1" || child.Host != "app:system" {
		t.Fatalf("admin spawn: %v %v", child, err)
	}
	if got := c.Node(1).Cluster.Stats().Dropped[cluster.DropPolicy]; got != 1 {
		t.Fatalf("cluster policy drops %d, want 1 (the refused spawn)", got)
	}
}
