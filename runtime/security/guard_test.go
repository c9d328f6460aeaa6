package security

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

func newGuard(t testing.TB, strict bool, table []*Policy, hosts ...HostPolicies) *Guard {
	t.Helper()
	m := map[string]*Policy{}
	for _, p := range table {
		m[p.ID()] = p
	}
	return NewGuard(GuardConfig{Node: "n1", StrictMode: strict, Policies: m, Hosts: hosts})
}

func TestGuardExempt(t *testing.T) {
	scoped := NewIdentity(Chain{{Scope: []*Policy{allow(t, "a", list("*"), list("*"))}}})
	actorOnly := NewIdentity(Chain{{Actor: &Actor{ID: "x"}}})
	closed := HostPolicies{ID: "app:h", Policies: []*Policy{deny(t, "d", list("x"), list("*"))}}
	tests := []struct {
		name string
		g    *Guard
		id   *Identity
		want bool
	}{
		{"open, no identity", newGuard(t, false, nil, HostPolicies{ID: "app:h"}), nil, true},
		{"open, actor only", newGuard(t, false, nil, HostPolicies{ID: "app:h"}), actorOnly, true},
		{"open, scoped", newGuard(t, false, nil, HostPolicies{ID: "app:h"}), scoped, false},
		{"strict", newGuard(t, true, nil, HostPolicies{ID: "app:h"}), nil, false},
		{"host policies", newGuard(t, false, nil, closed), nil, false},
		{"system", newGuard(t, true, nil, closed), systemIdentity, true},
	}
	for _, tt := range tests {
		if got := tt.g.Exempt(tt.id); got != tt.want {
			t.Errorf("%s: Exempt = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestGuardChild: the identity a child gets, and what a spawn needs to
// give it one.
func TestGuardChild(t *testing.T) {
	known := allow(t, "app:known", list("*"), list("*"))
	noSecurity := deny(t, "app:no-security", list(string(ActionSecurity)), list("*"))
	g := newGuard(t, false, []*Policy{known}, HostPolicies{ID: "app:h"})
	h := g.Host("app:h")
	parentActor := &Actor{ID: "parent"}
	parent := &Caller{Identity: NewIdentity(Chain{{Actor: parentActor, Scope: []*Policy{known}}}), Host: h}
	bare := &Caller{Host: h}
	child := &Actor{ID: "child"}

	id, err := g.Child(nil, &Spawn{Actor: child, ScopeIDs: list("app:known")})
	if err != nil || id.Actor() != child || len(id.Chain()) != 1 || fmt.Sprint(id.Remote()[0].ScopeIDs) != "[app:known]" {
		t.Fatalf("from outside: %+v %v", id, err)
	}
	if id, err := g.Child(parent, &Spawn{}); err != nil || id != parent.Identity {
		t.Fatalf("plain child does not inherit: %+v %v", id, err)
	}
	id, err = g.Child(parent, &Spawn{Actor: child})
	if err != nil || id.Actor() != child || len(id.Chain()) != 2 || id.Chain()[1].Scope[0] != known {
		t.Fatalf("narrowed child: %+v %v", id, err)
	}
	// A parent with no identity still counts as a layer.
	if id, err := g.Child(bare, &Spawn{Actor: child}); err != nil || len(id.Chain()) != 2 || id.Chain()[0].Actor != nil {
		t.Fatalf("narrowing a parent with none: %+v %v", id, err)
	}
	before := g.Denied()
	if _, err := g.Child(nil, &Spawn{ScopeIDs: list("app:gone")}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("unknown scope id: %v", err)
	}
	if _, err := g.Child(bare, &Spawn{System: true}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("system from a process: %v", err)
	}
	if id, err := g.Child(nil, &Spawn{System: true}); err != nil || !id.System() {
		t.Fatalf("system from outside: %+v %v", id, err)
	}
	sys := &Caller{Identity: systemIdentity, Host: h}
	if id, err := g.Child(sys, &Spawn{Actor: child}); err != nil || len(id.Chain()) != 1 || id.System() {
		t.Fatalf("a system parent spawns as the node: %+v %v", id, err)
	}
	guarded := newGuard(t, false, nil, HostPolicies{ID: "app:h", Policies: []*Policy{noSecurity}})
	if _, err := guarded.Child(&Caller{Host: guarded.Host("app:h")}, &Spawn{Actor: child}); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("narrowing without process.security: %v", err)
	}
	if got := g.Denied() - before; got != 2 {
		t.Fatalf("%d refusals counted, want 2", got)
	}
}

// TestGuardRemoteSpawnHost: the host a remote spawn names is checked with
// that host's policies however it is written, so "node@host" cannot slip
// past them.
func TestGuardRemoteSpawnHost(t *testing.T) {
	closed := deny(t, "app:closed", list(string(ActionHost)), list("app:system"))
	g := newGuard(t, false, []*Policy{closed}, HostPolicies{ID: "app:procs"}, HostPolicies{ID: "app:system", Policies: []*Policy{closed}})
	caller := RemoteCaller{Node: "n2", Host: "app:procs"}
	s := &Spawn{Entry: "app:w"}
	for _, host := range []string{"app:system", "n1@app:system"} {
		var de *DeniedError
		if err := g.AuthorizeRemoteSpawn(caller, s, host); !errors.As(err, &de) || de.Action != ActionHost || de.Resource != "app:system" {
			t.Errorf("spawn on %q: %v, want process.host denied on app:system", host, err)
		}
	}
	for _, host := range []string{"", "app:procs", "n1@app:procs"} {
		if err := g.AuthorizeRemoteSpawn(caller, s, host); err != nil {
			t.Errorf("spawn on %q: %v", host, err)
		}
	}
}

// TestGuardTargetResources: an action aimed at a process is matched
// against its PID text (as PIDText gives it), the name used and its host.
func TestGuardTargetResources(t *testing.T) {
	target := pid.PID{Node: "n1", Host: "app:system", Seq: 7}
	for _, res := range []string{"pid-text", "cache", "app:system"} {
		p := deny(t, "d", list(string(ActionSend)), list(res))
		g := NewGuard(GuardConfig{Node: "n1", Hosts: []HostPolicies{{ID: "app:procs", Policies: []*Policy{p}}},
			PIDText: func(q pid.PID) string {
				if q == target {
					return "pid-text"
				}
				return q.String()
			}})
		c := Caller{Host: g.Host("app:procs")}
		if err := g.AuthorizeTarget(c, ActionSend, target, "cache"); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("deny on %s: %v", res, err)
		}
		if err := g.AuthorizeTarget(c, ActionSend, pid.PID{Node: "n1", Host: "app:procs", Seq: 7}, ""); err != nil {
			t.Errorf("deny on %s refused another target: %v", res, err)
		}
	}
}

// TestGuardTargetAllocatesNothing: a permitted send checked against an
// allow and a deny with a condition on the resource builds its resource
// list on the stack. Every message a process sends under policies is
// checked, on this node and on the target's.
func TestGuardTargetAllocatesNothing(t *testing.T) {
	g, c, target := targetBench(t)
	if n := testing.AllocsPerRun(100, func() {
		if err := g.AuthorizeTarget(c, ActionSend, target, "cache"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("AuthorizeTarget allocated %v times per check", n)
	}
}

// targetBench is a guard whose host has an allow-all and a deny on
// another node's processes, a caller on that host and a local target. As
// the runtime's, its PIDText reuses a text formatted once.
func targetBench(t testing.TB) (*Guard, Caller, pid.PID) {
	on := deny(t, "d", list(string(ActionSend)), list("*"),
		Condition{Field: "resource", Operator: OpEq, Value: "{n9@app:procs|1}"})
	target := pid.PID{Node: "n1", Host: "app:procs", Seq: 7}
	text := target.String()
	g := NewGuard(GuardConfig{Node: "n1", Hosts: []HostPolicies{{ID: "app:procs",
		Policies: []*Policy{allow(t, "a", list("*"), list("*")), on}}},
		PIDText: func(pid.PID) string { return text }})
	return g, Caller{Host: g.Host("app:procs")}, target
}

func BenchmarkAuthorizeTarget(b *testing.B) {
	g, c, target := targetBench(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := g.AuthorizeTarget(c, ActionSend, target, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGuardRemoteMetaBounded: the meta kept for remote callers stops
// growing at its bound, and answers stay right past it.
func TestGuardRemoteMetaBounded(t *testing.T) {
	var r remoteMetas
	for i := range maxRemoteMetas + 100 {
		m := r.get("n2", fmt.Sprint("h", i))
		if m["host"] != fmt.Sprint("h", i) || m["node"] != "n2" {
			t.Fatalf("meta %v", m)
		}
	}
	n := 0
	r.m.Range(func(any, any) bool { n++; return true })
	if n != maxRemoteMetas {
		t.Fatalf("%d metas kept, want %d", n, maxRemoteMetas)
	}
}

// TestGuardRelease: releasing another process's name needs
// process.registry.foreign allowed explicitly by the holder's host, for
// every layer of the caller, and denied by nobody.
func TestGuardRelease(t *testing.T) {
	holder := pid.PID{Node: "n1", Host: "app:system", Seq: 7}
	admin := &Actor{ID: "ops", Meta: map[string]any{"role": "admin"}}
	adminsMay := allow(t, "admins-may", list(string(ActionRegisterForeign)), list("app:system"),
		Condition{Field: "actor.meta.role", Operator: OpEq, Value: "admin"})
	anyoneMay := allow(t, "anyone-may", list(string(ActionRegisterForeign)), list("*"))
	noForeign := deny(t, "no-foreign", list(string(ActionRegisterForeign)), list("*"))
	allowAll := allow(t, "allow-all", list("*"), list("*"))
	tests := []struct {
		name   string
		strict bool
		sys    []*Policy // app:system's policies
		caller *Identity
		ok     bool
	}{
		{"no policies anywhere", false, nil, nil, false},
		{"the caller's own allow-all does not count", false, nil, NewIdentity(Chain{{Scope: []*Policy{allowAll}}}), false},
		{"the holder's host allows anyone", false, []*Policy{anyoneMay}, nil, true},
		{"the holder's host allows admins: no actor", false, []*Policy{adminsMay}, nil, false},
		{"the holder's host allows admins: admin", false, []*Policy{adminsMay}, NewIdentity(Chain{{Actor: admin}}), true},
		{"an admin narrowed by a guest", false, []*Policy{adminsMay}, NewIdentity(Chain{{}, {Actor: admin}}), false},
		{"allowed, but the caller's scope denies", false, []*Policy{anyoneMay}, NewIdentity(Chain{{Scope: []*Policy{noForeign}}}), false},
		{"strict, allowed by the holder's host", true, []*Policy{anyoneMay}, nil, true},
		{"system", true, nil, systemIdentity, true},
	}
	for _, tt := range tests {
		g := newGuard(t, tt.strict, nil, HostPolicies{ID: "app:sandbox"}, HostPolicies{ID: "app:system", Policies: tt.sys})
		err := g.AuthorizeRelease(Caller{Identity: tt.caller, Host: g.Host("app:sandbox")}, holder, "payments")
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want allowed %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("%s: %v does not wrap ErrPermissionDenied", tt.name, err)
		}
	}
}
