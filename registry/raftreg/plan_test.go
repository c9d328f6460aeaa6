package raftreg

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

func servers(spec ...string) []raft.Server {
	var out []raft.Server
	for _, s := range spec {
		suf := raft.Voter
		if s[0] == '~' {
			suf, s = raft.Nonvoter, s[1:]
		}
		out = append(out, raft.Server{ID: raft.ServerID(s), Address: raft.ServerAddress(s), Suffrage: suf})
	}
	return out
}

// members: "n1" alive voter-eligible, "n1!" dead, "n1-" left, "n1?" suspect,
// "n1c" alive, not voter-eligible, "n1^" alive client outside the Raft
// configuration.
func members(spec ...string) map[string]Member {
	out := make(map[string]Member)
	for _, s := range spec {
		m := Member{Name: s, Voter: true, State: MemberAlive}
		switch s[len(s)-1] {
		case '!':
			m.State = MemberDead
		case '-':
			m.State = MemberLeft
		case '?':
			m.State = MemberSuspect
		case 'c':
			m.Voter = false
		case '^':
			m.Voter, m.Client = false, true
		default:
			out[s] = m
			continue
		}
		m.Name = s[:len(s)-1]
		out[m.Name] = m
	}
	return out
}

func TestPlanVoters(t *testing.T) {
	tests := []struct {
		name    string
		servers []raft.Server
		members map[string]Member
		max     int
		want    []string
	}{
		{"stable", servers("n1", "n2", "n3"), members("n1", "n2", "n3"), 5, nil},
		{"add voters", servers("n1"), members("n1", "n2", "n3"), 5, []string{"add voter n2", "add voter n3"}},
		{"beyond max", servers("n1", "n2", "n3"), members("n1", "n2", "n3", "n4", "n5"), 3,
			[]string{"add non-voter n4", "add non-voter n5"}},
		{"dead removed", servers("n1", "n2", "n3"), members("n1", "n2!", "n3-"), 5, []string{"remove n2", "remove n3"}},
		{"never self", servers("n1", "n2"), members("n1!", "n2"), 5, nil},
		{"suspect kept", servers("n1", "n2", "n3"), members("n1", "n2?", "n3"), 5, nil},
		{"suspect not added", servers("n1"), members("n1", "n2?"), 5, nil},
		{"unknown kept", servers("n1", "n2", "n3"), members("n1"), 5, nil},
		{"promote after death", servers("n1", "n2", "n3", "~n4"), members("n1", "n2!", "n3", "n4"), 3,
			[]string{"remove n2", "add voter n4"}},
		{"client non-voter", servers("n1", "n2"), members("n1", "n2", "n9c"), 5, []string{"add non-voter n9"}},
		{"client demoted", servers("n1", "n9"), members("n1", "n9c"), 5, []string{"demote n9"}},
		{"outside client not added", servers("n1", "n2"), members("n1", "n2", "n9^"), 5, nil},
		{"outside client removed", servers("n1", "n2", "~n9"), members("n1", "n2", "n9^"), 5, []string{"remove n9"}},
		{"too many voters", servers("n1", "n2", "n3", "n4", "n5"), members("n1", "n2", "n3", "n4", "n5"), 3,
			[]string{"demote n5", "demote n4"}},
		{"leader kept when demoting", servers("n1", "n2", "n3"), members("n1", "n2", "n3"), 1,
			[]string{"demote n3", "demote n2"}},
		{"non-voter stays when full", servers("n1", "n2", "~n3"), members("n1", "n2", "n3"), 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range planVoters(tc.servers, tc.members, "n1", tc.max) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBootstrapSet(t *testing.T) {
	tests := []struct {
		self    string
		members map[string]Member
		expect  int
		want    []string
	}{
		{"n1", members("n1"), 3, nil},
		{"n1", members("n1", "n2"), 3, nil},
		{"n1", members("n1", "n2", "n3"), 3, []string{"n1", "n2", "n3"}},
		{"n3", members("n3", "n1", "n2"), 3, []string{"n1", "n2", "n3"}},
		{"n4", members("n1", "n2", "n3", "n4"), 3, nil},
		{"n2", members("n1", "n2", "n3", "n4"), 3, []string{"n1", "n2", "n3"}},
		{"n1", members("n1", "n2!", "n3"), 3, nil},
		{"n1", members("n1", "n2c", "n3"), 3, nil},
		{"n1", members("n1", "n2?", "n3"), 3, nil},
		{"solo", members("solo"), 1, []string{"solo"}},
		{"b", members("a", "b"), 1, nil},
		{"solo", members("solo"), 0, nil}, // bootstrap_expect 0: only join
		{"n1", members("n1", "n2", "n3"), 0, nil},
	}
	for i, tc := range tests {
		got := bootstrapSet(tc.members, tc.self, tc.expect)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d: %s in %v: got %v, want %v", i, tc.self, tc.members, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Node, ok.InMemory = "n1", true
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"node":            func(c *Config) { c.Node = "" },
		"data dir":        func(c *Config) { c.InMemory = false },
		"expect":          func(c *Config) { c.BootstrapExpect = -1 },
		"expect > voters": func(c *Config) { c.BootstrapExpect = 7 },
		"apply timeout":   func(c *Config) { c.ApplyTimeout = 0 },
		"lease":           func(c *Config) { c.LeaderLeaseTimeout = time.Second },
		"election":        func(c *Config) { c.ElectionTimeout = time.Millisecond },
		"chunk":           func(c *Config) { c.SnapshotChunk = 10 },
		"backoff":         func(c *Config) { c.ReleaseBackoffMax = time.Millisecond },
		"watch":           func(c *Config) { c.WatchBuffer = 0 },
	}
	for name, f := range bad {
		c := ok
		f(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(ok, nil, newPeerTable()); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil streams: %v", err)
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		err   error
		kind  string
		retry msg.Tri
	}{
		{registry.ErrNotFound, proc.KindNotFound, msg.False},
		{registry.ErrAlreadyExists, proc.KindAlreadyExists, msg.False},
		{registry.ErrNotOwner, proc.KindPermissionDenied, msg.False},
		{registry.ErrInvalidName, proc.KindInvalid, msg.False},
		{registry.ErrInvalidPID, proc.KindInvalid, msg.False},
		{registry.ErrUnavailable, proc.KindUnavailable, msg.True},
		{registry.ErrUnknownOutcome, proc.KindUnavailable, msg.True},
		{registry.ErrNoClusterRegistry, proc.KindUnavailable, msg.False},
		{registry.ErrClosed, proc.KindUnavailable, msg.False},
	}
	for _, tc := range tests {
		err := wrap(tc.err, "svc")
		e := proc.AsError(err)
		if e.Kind != tc.kind || e.Retryable != tc.retry || !errors.Is(err, tc.err) {
			t.Errorf("%v: %+v", tc.err, e)
		}
		if want := tc.err.Error() + ": svc"; e.Message != want {
			t.Errorf("message %q, want %q", e.Message, want)
		}
	}
}

func TestDisabled(t *testing.T) {
	var d Disabled
	ctx := ctxT(t, time.Second)
	p := ppid("n1", 1)
	for i, err := range []error{
		d.Register(ctx, "x", p), d.Unregister(ctx, "x", p),
		func() error { _, err := d.Lookup(ctx, "x"); return err }(),
		func() error { _, err := d.List(ctx); return err }(),
		func() error { _, err := d.Watch(ctx); return err }(),
	} {
		e := proc.AsError(err)
		if !errors.Is(err, registry.ErrNoClusterRegistry) || e.Kind != proc.KindUnavailable || e.Retryable != msg.False {
			t.Errorf("%d: %v %+v", i, err, e)
		}
	}
	if _, ok := d.Resolve("x"); ok {
		t.Error("resolve")
	}
	d.ReleasePID(p)
	d.ReleaseNode("n2")
	d.OnRevoke(nil)
}

func TestMemberStateString(t *testing.T) {
	got := fmt.Sprint(MemberAlive, MemberSuspect, MemberDead, MemberLeft, MemberState(9))
	if got != "alive suspect dead left MemberState(9)" {
		t.Fatal(got)
	}
}
