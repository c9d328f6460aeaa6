package raftreg

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// hinted sets the failure domain and priority of members: "n4=b/10".
func hinted(ms map[string]Member, spec ...string) map[string]Member {
	for _, s := range spec {
		name, rest, _ := strings.Cut(s, "=")
		dom, prio, _ := strings.Cut(rest, "/")
		m := ms[name]
		m.FailureDomain = dom
		if prio != "" {
			m.Priority, _ = strconv.Atoi(prio)
		}
		ms[name] = m
	}
	return ms
}

func TestPlanRoles(t *testing.T) {
	tests := []struct {
		name     string
		servers  []raft.Server
		members  map[string]Member
		voters   int
		standbys int
		evict    []string // gone and silent for the debounce window
		want     []string
	}{
		{"stable", servers("n1", "n2", "n3"), members("n1", "n2", "n3"), 5, 4, nil, nil},
		{"add voters", servers("n1"), members("n1", "n2", "n3"), 5, 4, nil, []string{"add voter n2", "add voter n3"}},
		{"odd voters", servers("n1"), members("n1", "n2", "n3", "n4"), 5, 4, nil,
			[]string{"add voter n2", "add voter n3", "add non-voter n4"}},
		{"beyond max", servers("n1", "n2", "n3"), members("n1", "n2", "n3", "n4", "n5"), 3, 4, nil,
			[]string{"add non-voter n4", "add non-voter n5"}},
		{"beyond standbys: outside", servers("n1", "n2", "n3"), members("n1", "n2", "n3", "n4", "n5", "n6", "n7"), 3, 2, nil,
			[]string{"add non-voter n4", "add non-voter n5"}},
		{"standbys capped: removed", servers("n1", "n2", "n3", "~n4", "~n5"), members("n1", "n2", "n3", "n4", "n5"), 3, 1, nil,
			[]string{"remove n5"}},
		{"dead kept until evictable", servers("n1", "n2", "n3"), members("n1", "n2!", "n3-"), 3, 4, nil, nil},
		{"dead evicted", servers("n1", "n2", "n3", "n4", "n5"), members("n1", "n2!", "n3-", "n4", "n5"), 5, 4, []string{"n2", "n3"},
			[]string{"remove n2", "remove n3"}},
		{"never self", servers("n1", "n2", "n3"), members("n1!", "n2", "n3"), 3, 4, []string{"n1"}, nil},
		{"suspect kept", servers("n1", "n2", "n3"), members("n1", "n2?", "n3"), 3, 4, nil, nil},
		{"suspect not added", servers("n1"), members("n1", "n2?"), 3, 4, nil, nil},
		{"unknown kept", servers("n1", "n2", "n3"), members("n1"), 3, 4, nil, nil},
		{"promote after death, add first", servers("n1", "n2", "n3", "~n4"), members("n1", "n2!", "n3", "n4"), 3, 4, []string{"n2"},
			[]string{"add voter n4", "remove n2"}},
		{"two voters die", servers("n1", "n2", "n3", "n4", "n5", "~n6", "~n7"),
			members("n1", "n2!", "n3!", "n4", "n5", "n6", "n7", "n8"), 5, 4, []string{"n2", "n3"},
			[]string{"add voter n6", "add voter n7", "add non-voter n8", "remove n2", "remove n3"}},
		{"not eligible: standby", servers("n1", "n2", "n3"), members("n1", "n2", "n3", "n9c"), 5, 4, nil, []string{"add non-voter n9"}},
		{"not eligible: demoted", servers("n1", "n2", "n3", "n9"), members("n1", "n2", "n3", "n9c"), 5, 4, nil, []string{"demote n9"}},
		{"client not added", servers("n1", "n2", "n3"), members("n1", "n2", "n3", "n9^"), 5, 4, nil, nil},
		{"client removed", servers("n1", "n2", "n3", "~n9"), members("n1", "n2", "n3", "n9^"), 5, 4, nil, []string{"remove n9"}},
		{"too many voters", servers("n1", "n2", "n3", "n4", "n5"), members("n1", "n2", "n3", "n4", "n5"), 3, 4, nil,
			[]string{"demote n4", "demote n5"}},
		{"leader kept when demoting", servers("n1", "n2", "n3"), members("n1", "n2", "n3"), 1, 4, nil,
			[]string{"demote n2", "demote n3"}},
		{"standby stays when full", servers("n1", "n2", "n3", "~n4"), members("n1", "n2", "n3", "n4"), 3, 4, nil, nil},
		{"eligible standby before others", servers("n1", "n2", "n3", "~n9"), members("n1", "n2", "n3", "n9c", "n4"), 3, 1, nil,
			[]string{"add non-voter n4", "remove n9"}},
		{"priority", servers("n1"), hinted(members("n1", "n2", "n3", "n4"), "n2=/200"), 3, 4, nil,
			[]string{"add voter n3", "add voter n4", "add non-voter n2"}},
		{"domains first", servers("n1"), hinted(members("n1", "n2", "n3", "n4", "n5"), "n1=a", "n2=a", "n3=a", "n4=b", "n5=c"), 3, 4, nil,
			[]string{"add voter n4", "add voter n5", "add non-voter n2", "add non-voter n3"}},
		{"domains rebalanced", servers("n1", "n2", "n3"), hinted(members("n1", "n2", "n3", "n4", "n5"), "n1=a", "n2=a", "n3=a", "n4=b", "n5=c"), 3, 4, nil,
			[]string{"add voter n4", "add voter n5", "demote n2", "demote n3"}},
		{"dead voter of three kept without a replacement", servers("n1", "n2", "n3"), members("n1", "n2", "n3!"), 3, 4, []string{"n3"},
			nil},
		{"dead voter of three replaced", servers("n1", "n2", "n3", "~n4"), members("n1", "n2", "n3!", "n4"), 3, 4, []string{"n3"},
			[]string{"add voter n4", "remove n3"}},
		{"two dead of five removed: three tolerate one", servers("n1", "n2", "n3", "n4", "n5"), members("n1", "n2", "n3", "n4!", "n5!"), 5, 4, []string{"n4", "n5"},
			[]string{"remove n4", "remove n5"}},
		{"one dead of five kept: four tolerate no more", servers("n1", "n2", "n3", "n4", "n5"), members("n1", "n2", "n3", "n4", "n5!"), 5, 4, []string{"n5"},
			nil},
		{"incumbent kept on a tie", servers("n1", "n3", "n4", "~n2"), members("n1", "n2", "n3", "n4"), 3, 4, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			plan := planRoles(planInput{servers: tc.servers, members: tc.members, self: "n1",
				maxVoters: tc.voters, maxStandbys: tc.standbys,
				evictable: func(n string) bool { return slices.Contains(tc.evict, n) }})
			for _, c := range plan {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPlanRolesKeepsQuorum applies every plan step by step, from many
// starting points, and checks that no step leaves fewer live voters than
// a majority of the configuration it makes, whenever the start had one,
// and that the end has the voters and standbys asked for.
func TestPlanRolesKeepsQuorum(t *testing.T) {
	for dead := 0; dead <= 2; dead++ {
		for standbys := 0; standbys <= 4; standbys++ {
			conf := map[string]raft.ServerSuffrage{}
			for i := 1; i <= 5; i++ {
				conf[fmt.Sprintf("n%d", i)] = raft.Voter
			}
			for i := 6; i < 6+standbys; i++ {
				conf[fmt.Sprintf("n%d", i)] = raft.Nonvoter
			}
			ms := map[string]Member{}
			for i := 1; i <= 12; i++ {
				name := fmt.Sprintf("n%d", i)
				ms[name] = Member{Name: name, Voter: true, State: MemberAlive, FailureDomain: string(rune('a' + i%3))}
			}
			for i := 0; i < dead; i++ {
				m := ms[fmt.Sprintf("n%d", i+2)]
				m.State = MemberDead
				ms[m.Name] = m
			}
			for step := 0; ; step++ {
				var sv []raft.Server
				for n, s := range conf {
					sv = append(sv, raft.Server{ID: raft.ServerID(n), Suffrage: s})
				}
				slices.SortFunc(sv, func(a, b raft.Server) int { return strings.Compare(string(a.ID), string(b.ID)) })
				plan := planRoles(planInput{servers: sv, members: ms, self: "n1", maxVoters: 5, maxStandbys: 4,
					evictable: func(string) bool { return true }})
				if len(plan) == 0 {
					break
				}
				if step > 30 {
					t.Fatalf("dead %d standbys %d: no end: %v", dead, standbys, plan)
				}
				switch c := plan[0]; c.op {
				case opAddVoter:
					conf[c.name] = raft.Voter
				case opAddNonvoter, opDemote:
					conf[c.name] = raft.Nonvoter
				case opRemove:
					delete(conf, c.name)
				}
				voters, live := 0, 0
				for n, s := range conf {
					if s == raft.Voter {
						voters++
						if ms[n].State == MemberAlive {
							live++
						}
					}
				}
				if live < voters/2+1 {
					t.Fatalf("dead %d standbys %d: step %d (%v) leaves %d live of %d voters", dead, standbys, step, plan[0], live, voters)
				}
			}
			voters, non := 0, 0
			doms := map[string]int{}
			for n, s := range conf {
				if s == raft.Voter {
					voters++
					doms[ms[n].FailureDomain]++
				} else {
					non++
				}
			}
			if voters != 5 || non != 4 || len(doms) != 3 {
				t.Fatalf("dead %d standbys %d: end with %d voters over %v, %d standbys", dead, standbys, voters, doms, non)
			}
		}
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
		"even voters":     func(c *Config) { c.MaxVoters = 4 },
		"standbys":        func(c *Config) { c.MaxStandbys = -1 },
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
