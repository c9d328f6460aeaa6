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
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

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

// TestPolicyDeniesRemoteTraffic: node n1's host app:system refuses every
// action aimed at it and every spawn on it, by its own policy. Traffic
// from n0 into that host is dropped by n1 (the sender sees no error, the
// target nothing), counted and logged once; spawns there fail with
// PERMISSION_DENIED; the rest of n1 is reachable.
func TestPolicyDeniesRemoteTraffic(t *testing.T) {
	closed, err := security.Compile(security.PolicySpec{
		ID: "test:closed", Actions: []string{"process.*"}, Resources: []string{"app:system"}, Effect: security.Deny,
	})
	if err != nil {
		t.Fatal(err)
	}
	lg := &logs{}
	c := clustertest.New(t, 2,
		clustertest.Hosts("app:system"),
		clustertest.Catalog(catalog()),
		clustertest.Logger(slog.New(lg)),
		clustertest.RuntimeConfig(func(node string, rc *runtime.Config) {
			for i := range rc.Hosts {
				if node == "n1" && rc.Hosts[i].ID == "app:system" {
					rc.Hosts[i].Policies = []*security.Policy{closed}
				}
			}
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
	if got := rt1.Counters().Dropped[runtime.DropPolicy]; got != 5 {
		t.Fatalf("policy drops %d, want 5", got)
	}
	if n := lg.count("denied traffic dropped"); n != 1 {
		t.Fatalf("%d deny log lines, want 1 (throttled)", n)
	}
	// The sender's identity travelled: n1 logged who it refused.
	if n := lg.count("from=" + sender.String() + " from_host=app:processes"); n != 1 {
		t.Fatalf("the deny log line does not name the sender %s on app:processes: %q", sender, lg.lines)
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

	// Spawning there is refused with PERMISSION_DENIED, by the host
	// check; elsewhere allowed.
	_, err = rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:system"})
	if errKind(err) != proc.KindPermissionDenied || !strings.Contains(err.Error(), "process.host on app:system: denied by test:closed") {
		t.Fatalf("spawn on the denied host: %v", err)
	}
	if p, err := rt0.Spawn(proc.SpawnRequest{Entry: "test:echo", Host: "n1@app:processes"}); err != nil || p.Node != "n1" {
		t.Fatalf("allowed spawn: %v %v", p, err)
	}
	if got := c.Node(1).Cluster.Stats().Dropped[cluster.DropPolicy]; got != 1 {
		t.Fatalf("cluster policy drops %d, want 1 (the refused spawn)", got)
	}
	// Traffic the other way is not checked by n0 (no policies there).
	back := newProbe()
	backPID := back.spawn(t, rt0)
	rt1.Send(sysPID, backPID, "hello", msg.Nil)
	if m := recv[native.Message](t, back.ch); m.From != sysPID {
		t.Fatalf("got %+v", m)
	}
}

// TestRuntimePolicyOnRemoteTraffic: the receiving runtime checks traffic
// from another node against its own policies with the identity that
// travelled with it — the sender's actor, scope ids and host — so a remote
// node cannot make a process do what the target's policy forbids.
func TestRuntimePolicyOnRemoteTraffic(t *testing.T) {
	// On n1, host app:system refuses everything aimed at it, and spawns
	// into it, to callers that are not admins.
	noSystem, err := security.Compile(security.PolicySpec{
		ID:        "test:no-system",
		Actions:   []string{"process.send", "process.terminate", "process.cancel", "process.link", "process.monitor", "process.host"},
		Resources: []string{"app:system"},
		Effect:    security.Deny,
		Conditions: []security.Condition{
			{Field: "actor.meta.role", Operator: security.OpNe, Value: "admin"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A policy id the sender's node knows as harmless and n1 as a deny of
	// sends from callers that carry it: ids are resolved by the receiver.
	harmless, _ := security.Compile(security.PolicySpec{ID: "test:muted", Actions: []string{"env.get"}, Resources: []string{"*"}, Effect: security.Allow})
	muted, _ := security.Compile(security.PolicySpec{ID: "test:muted", Actions: []string{"process.send"}, Resources: []string{"*"}, Effect: security.Deny})
	c := clustertest.New(t, 2,
		clustertest.Hosts("app:system"),
		clustertest.Catalog(catalog()),
		clustertest.RuntimeConfig(func(node string, rc *runtime.Config) {
			rc.Policies = map[string]*security.Policy{"test:muted": harmless}
			if node == "n1" {
				rc.Policies = map[string]*security.Policy{"test:muted": muted}
				for i := range rc.Hosts {
					if rc.Hosts[i].ID == "app:system" {
						rc.Hosts[i].Policies = []*security.Policy{noSystem}
					}
				}
			}
		}))
	rt0, rt1 := c.Node(0).Runtime, c.Node(1).Runtime
	sys := newProbe()
	sysPID := sys.spawn(t, rt1, "app:system")
	open := newProbe()
	openPID := open.spawn(t, rt1)

	admin := &security.Actor{ID: "root", Meta: map[string]any{"role": "admin"}}
	user := &security.Actor{ID: "bob", Meta: map[string]any{"role": "user"}}
	sendAs := func(a *security.Actor, scope []string, to pid.PID, text string) {
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
	spawnAs := func(a *security.Actor) (pid.PID, error) {
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
