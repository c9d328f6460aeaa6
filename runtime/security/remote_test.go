package security

import (
	"errors"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

// TestRemoteChild: the identity a node gives the child of a parent on
// another node is the one it would give a child of a parent of its own:
// the parent's layers, resolved here, and the narrowing on top, checked
// against the parent.
func TestRemoteChild(t *testing.T) {
	guests := deny(t, "app:guests", list(string(ActionTerminate)), list("*"),
		Condition{Field: "actor.meta.role", Operator: OpNe, Value: "admin"})
	noNarrowing := deny(t, "app:no-narrowing", list(string(ActionSecurity)), list("*"))
	g := newGuard(t, false, []*Policy{guests, noNarrowing}, HostPolicies{ID: "app:sandbox", Policies: []*Policy{guests}})
	guest := &Actor{ID: "guest", Meta: map[string]any{"role": "guest"}}
	root := &Actor{ID: "root", Meta: map[string]any{"role": "admin"}}
	parent := &RemoteCaller{Node: "n2", Host: "app:sandbox", Chain: RemoteChain{{Actor: guest}}}

	id, err := g.RemoteChild(parent, &Spawn{Actor: root})
	if err != nil || len(id.Chain()) != 2 || id.Chain()[0].Actor != guest || id.Actor() != root {
		t.Fatalf("narrowed child: %+v %v", id, err)
	}
	c := Caller{Identity: id, Host: g.Host("app:sandbox")}
	if err := g.Authorize(c, ActionTerminate, "x"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("the child's terminate: %v, want denied by the guest layer", err)
	}
	// Without a narrowing the child runs with the parent's chain.
	if id, err := g.RemoteChild(parent, &Spawn{}); err != nil || len(id.Chain()) != 1 || id.Actor() != guest {
		t.Fatalf("inherited: %+v %v", id, err)
	}
	// A parent with no identity still counts as a layer.
	if id, err := g.RemoteChild(&RemoteCaller{Node: "n2"}, &Spawn{Actor: root}); err != nil || len(id.Chain()) != 2 || id.Chain()[0].Actor != nil {
		t.Fatalf("parent without identity: %+v %v", id, err)
	}
	// Without a parent the identity is as given, one layer.
	if id, err := g.RemoteChild(nil, &Spawn{Actor: root, ScopeIDs: list("app:guests")}); err != nil || len(id.Chain()) != 1 || id.Actor() != root {
		t.Fatalf("as given: %+v %v", id, err)
	}
	refused := []struct {
		name   string
		parent *RemoteCaller
		s      *Spawn
	}{
		{"narrowing refused to the parent", &RemoteCaller{Chain: RemoteChain{{Actor: guest, ScopeIDs: list("app:no-narrowing")}}}, &Spawn{Actor: root}},
		{"an unknown id in an outer layer", &RemoteCaller{Chain: RemoteChain{{ScopeIDs: list("app:gone")}, {Actor: guest}}}, &Spawn{}},
		{"an unknown id in the narrowing", parent, &Spawn{ScopeIDs: list("app:gone")}},
		{"a chain too long", &RemoteCaller{Chain: make(RemoteChain, MaxLayers+1)}, &Spawn{}},
		{"a chain that would be too long", &RemoteCaller{Chain: make(RemoteChain, MaxLayers)}, &Spawn{Actor: root}},
		{"a system process", nil, &Spawn{System: true}},
	}
	for _, tc := range refused {
		if _, err := g.RemoteChild(tc.parent, tc.s); !errors.Is(err, ErrPermissionDenied) {
			t.Errorf("%s: %v, want denied", tc.name, err)
		}
	}
	// AuthorizeRemote checks every layer.
	two := RemoteCaller{Node: "n2", Host: "app:sandbox", Chain: RemoteChain{{Actor: guest}, {Actor: root}}}
	if err := g.AuthorizeRemote(two, ActionTerminate, pid.PID{}, "x"); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("a guest layer under an admin: %v, want denied", err)
	}
	if err := g.AuthorizeRemote(RemoteCaller{Node: "n2", Host: "app:sandbox", Chain: RemoteChain{{Actor: root}}}, ActionTerminate, pid.PID{}, "x"); err != nil {
		t.Fatalf("an admin alone: %v", err)
	}
}
