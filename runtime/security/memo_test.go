package security

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

// memoGuard is a guard whose answers depend on every part of a question:
// the caller's identity and host, the action, the target and the name,
// and for a remote caller its node, host and chain.
func memoGuard(t testing.TB) *Guard {
	t.Helper()
	table := []*Policy{
		allow(t, "app:send", list(string(ActionSend)), list("*")),
		deny(t, "app:no-secret", list(string(ActionSend)), list("secret")),
		deny(t, "app:no-n2", list("*"), list("*"), Condition{Field: "meta.node", Operator: OpEq, Value: "n2"}),
		allow(t, "app:stop", list(string(ActionTerminate)), list("app:a")),
		deny(t, "app:bob", list("*"), list("*"), Condition{Field: "actor.id", Operator: OpEq, Value: "bob"}),
	}
	return newGuard(t, true, table,
		HostPolicies{ID: "app:a", Policies: table},
		HostPolicies{ID: "app:b", Policies: table[1:2]})
}

// TestMemoAnswersAsTheGuard: over random runs of questions, a Memo
// answers every call exactly as the guard does, and every refusal is
// still evaluated and counted.
func TestMemoAnswersAsTheGuard(t *testing.T) {
	plain, memoized := memoGuard(t), memoGuard(t)
	alice := NewIdentity(Chain{{Actor: &Actor{ID: "alice"}}})
	bob := NewIdentity(Chain{{Actor: &Actor{ID: "bob"}}})
	ids := []*Identity{nil, alice, bob}
	hosts := []string{"app:a", "app:b"}
	targets := []pid.PID{{Node: "n1", Host: "app:a", Seq: 1}, {Node: "n1", Host: "app:b", Seq: 2}, {Node: "n3", Host: "app:a", Seq: 1}}
	names := []string{"", "secret", "open"}
	actions := []Action{ActionSend, ActionTerminate}
	nodes := []string{"n2", "n3"}
	chains := []RemoteChain{nil, {{Actor: &Actor{ID: "bob"}}}, {{Actor: &Actor{ID: "carol"}}}}
	var local, remote Memo
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int {
		// Mostly repeat the last choice, as a stream of sends does.
		if r.IntN(4) > 0 {
			return 0
		}
		return r.IntN(n)
	}
	var idI, hostI, tgtI, nameI, actI, nodeI, chainI int
	for i := range 20000 {
		if pick(2) != 0 {
			idI, hostI, tgtI, nameI, actI = r.IntN(len(ids)), r.IntN(len(hosts)), r.IntN(len(targets)), r.IntN(len(names)), r.IntN(len(actions))
			nodeI, chainI = r.IntN(len(nodes)), r.IntN(len(chains))
		}
		target, name, action := targets[tgtI], names[nameI], actions[actI]
		if r.IntN(2) == 0 {
			want := plain.AuthorizeTarget(Caller{Identity: ids[idI], Host: plain.Host(hosts[hostI])}, action, target, name)
			got := local.AuthorizeTarget(memoized, Caller{Identity: ids[idI], Host: memoized.Host(hosts[hostI])}, action, target, name)
			if (want == nil) != (got == nil) || want != nil && want.Error() != got.Error() {
				t.Fatalf("call %d, local: guard says %v, memo %v", i, want, got)
			}
			continue
		}
		c := RemoteCaller{Node: nodes[nodeI], Host: hosts[hostI], Chain: chains[chainI]}
		if c.Host == "app:b" {
			target.Host = "app:b"
		}
		want := plain.AuthorizeRemote(c, action, target, name)
		got := remote.AuthorizeRemote(memoized, c, action, target, name)
		if (want == nil) != (got == nil) || want != nil && want.Error() != got.Error() {
			t.Fatalf("call %d, remote: guard says %v, memo %v", i, want, got)
		}
	}
	if plain.Denied() == 0 || plain.Denied() != memoized.Denied() {
		t.Fatalf("refusals: guard counted %d, with the memo %d", plain.Denied(), memoized.Denied())
	}
}

// TestMemoKeepsNoRefusal: an allowed question remembered does not answer
// a refused one that differs from it in any single part.
func TestMemoKeepsNoRefusal(t *testing.T) {
	g := memoGuard(t)
	a := pid.PID{Node: "n1", Host: "app:a", Seq: 1}
	var m Memo
	c := Caller{Host: g.Host("app:a")}
	if err := m.AuthorizeTarget(g, c, ActionSend, a, "open"); err != nil {
		t.Fatal(err)
	}
	refused := []func() error{
		func() error { return m.AuthorizeTarget(g, c, ActionSend, a, "secret") },
		func() error {
			return m.AuthorizeTarget(g, Caller{Identity: NewIdentity(Chain{{Actor: &Actor{ID: "bob"}}}), Host: c.Host}, ActionSend, a, "open")
		},
		func() error {
			return m.AuthorizeTarget(g, c, ActionTerminate, pid.PID{Node: "n1", Host: "app:b", Seq: 1}, "open")
		},
		func() error { return m.AuthorizeTarget(memoGuard(t), Caller{Host: c.Host}, ActionSend, a, "secret") },
	}
	for i, f := range refused {
		if err := f(); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("question %d: %v, want a refusal", i, err)
		}
		if err := m.AuthorizeTarget(g, c, ActionSend, a, "open"); err != nil {
			t.Fatal(err)
		}
	}
	var rm Memo
	rc := RemoteCaller{Node: "n3", Host: "app:a"}
	if err := rm.AuthorizeRemote(g, rc, ActionSend, a, ""); err != nil {
		t.Fatal(err)
	}
	for i, c := range []RemoteCaller{{Node: "n2", Host: "app:a"}, {Node: "n3", Host: "app:a", Chain: RemoteChain{{Actor: &Actor{ID: "bob"}}}}} {
		if err := rm.AuthorizeRemote(g, c, ActionSend, a, ""); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("remote question %d: %v, want a refusal", i, err)
		}
	}
}

// TestMemoHitAllocatesNothing: a remembered question costs no allocation,
// and neither does the nil Memo's plain check.
func TestMemoHitAllocatesNothing(t *testing.T) {
	g, c, target := targetBench(t)
	var m Memo
	rc := RemoteCaller{Node: "n2", Host: "app:procs"}
	var rm Memo
	if n := testing.AllocsPerRun(100, func() {
		if m.AuthorizeTarget(g, c, ActionSend, target, "") != nil || rm.AuthorizeRemote(g, rc, ActionSend, target, "") != nil {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per remembered check", n)
	}
}

func BenchmarkMemoAuthorizeTarget(b *testing.B) {
	g, c, target := targetBench(b)
	var m Memo
	b.ReportAllocs()
	for b.Loop() {
		if err := m.AuthorizeTarget(g, c, ActionSend, target, ""); err != nil {
			b.Fatal(err)
		}
	}
}
