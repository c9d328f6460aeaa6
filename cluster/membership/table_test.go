package membership

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one input to the table. op is alive, down, intent or reap.
type step struct {
	op    string
	name  string
	boot  uint64
	port  uint16 // gossip port (alive); 0 means 7946
	iport uint16 // internode port (alive)
	at    time.Duration
	want  string // the events, "kind name/boot[!]" joined by ", "; ! marks Restart
}

func info(name string, boot uint64, port, iport uint16) nodeInfo {
	if port == 0 {
		port = 7946
	}
	return nodeInfo{
		Name: name,
		Addr: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), port),
		Meta: Meta{BootID: boot, ProtoMin: 1, ProtoMax: 1, InternodePort: iport, RaftRole: RoleVoter},
	}
}

func eventsString(evs []Event) string {
	var parts []string
	for _, ev := range evs {
		s := fmt.Sprintf("%s %s/%d", ev.Kind, ev.Member.Name, ev.Member.Meta.BootID)
		if ev.Restart {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func apply(tb *table, s step) string {
	now := t0.Add(s.at)
	switch s.op {
	case "alive":
		return eventsString(tb.alive(info(s.name, s.boot, s.port, s.iport), now))
	case "down":
		return eventsString(tb.down(s.name, now))
	case "intent":
		return fmt.Sprint(tb.intent(intent{Name: s.name, Boot: s.boot}))
	case "reap":
		return eventsString(tb.reap(now, time.Hour))
	}
	panic("unknown op " + s.op)
}

func TestTable(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"first sight joins, repeat is silent", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "alive", name: "a", boot: 1, want: ""},
		}},
		{"meta or address change is an update", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "alive", name: "a", boot: 1, iport: 7950, want: "updated a/1"},
			{op: "alive", name: "a", boot: 1, iport: 7950, port: 8000, want: "updated a/1"},
		}},
		{"down without intent fails once", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "down", name: "a", want: "failed a/1"},
			{op: "down", name: "a", want: ""},
		}},
		{"down after intent is a leave", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "intent", name: "a", boot: 1, want: "true"},
			{op: "intent", name: "a", boot: 1, want: "false"},
			{op: "down", name: "a", want: "left a/1"},
		}},
		{"intent of another life is ignored", []step{
			{op: "alive", name: "a", boot: 2, want: "joined a/2"},
			{op: "intent", name: "a", boot: 1, want: "false"},
			{op: "down", name: "a", want: "failed a/2"},
		}},
		{"intent of an unknown node is ignored", []step{
			{op: "intent", name: "x", boot: 1, want: "false"},
			{op: "alive", name: "x", boot: 1, want: "joined x/1"},
			{op: "down", name: "x", want: "failed x/1"},
		}},
		{"intent after the departure changes nothing", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "down", name: "a", want: "failed a/1"},
			{op: "intent", name: "a", boot: 1, want: "false"},
			{op: "down", name: "a", want: ""},
		}},
		{"down of an unknown node is ignored", []step{
			{op: "down", name: "x", want: ""},
		}},
		{"new boot id while alive: old life fails, new joins", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "alive", name: "a", boot: 2, want: "failed a/1!, joined a/2"},
			{op: "down", name: "a", want: "failed a/2"},
		}},
		{"new boot id after an announced leave: old life left", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "intent", name: "a", boot: 1, want: "true"},
			{op: "alive", name: "a", boot: 2, want: "left a/1!, joined a/2"},
			{op: "down", name: "a", want: "failed a/2"},
		}},
		{"new boot id after failure: only the join", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "down", name: "a", want: "failed a/1"},
			{op: "alive", name: "a", boot: 2, port: 9000, want: "joined a/2"},
		}},
		{"same life back after failure joins again", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "down", name: "a", want: "failed a/1"},
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "down", name: "a", want: "failed a/1"},
		}},
		{"a new life forgets the old intent", []step{
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "intent", name: "a", boot: 1, want: "true"},
			{op: "down", name: "a", want: "left a/1"},
			{op: "alive", name: "a", boot: 2, want: "joined a/2"},
			{op: "down", name: "a", want: "failed a/2"},
		}},
		{"reap after the delay, never self, never alive", []step{
			{op: "alive", name: "self", boot: 9, want: "joined self/9"},
			{op: "alive", name: "a", boot: 1, want: "joined a/1"},
			{op: "alive", name: "b", boot: 1, want: "joined b/1"},
			{op: "alive", name: "c", boot: 1, want: "joined c/1"},
			{op: "intent", name: "self", boot: 9, want: "true"},
			{op: "down", name: "self", at: time.Minute, want: "left self/9"},
			{op: "down", name: "a", at: time.Minute, want: "failed a/1"},
			{op: "intent", name: "b", boot: 1, want: "true"},
			{op: "down", name: "b", at: 2 * time.Minute, want: "left b/1"},
			{op: "reap", at: time.Minute + time.Hour - 1, want: ""},
			{op: "reap", at: 2*time.Minute + time.Hour, want: "reaped a/1, reaped b/1"},
			{op: "reap", at: 10 * time.Hour, want: ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := newTable("self")
			for i, s := range c.steps {
				if got := apply(tb, s); got != s.want {
					t.Fatalf("step %d %s %s/%d: got %q, want %q", i, s.op, s.name, s.boot, got, s.want)
				}
			}
		})
	}
}

func TestTableViews(t *testing.T) {
	tb := newTable("a")
	tb.alive(info("a", 1, 1001, 0), t0)
	tb.alive(info("b", 2, 1002, 0), t0)
	c := info("c", 3, 1003, 0)
	c.Meta.RaftRole = RoleClient
	tb.alive(c, t0)
	d := info("d", 4, 1004, 0)
	d.Meta.RaftRole = RoleNone
	tb.alive(d, t0)
	tb.alive(info("e", 5, 1005, 0), t0)
	tb.alive(info("f", 6, 1006, 0), t0)
	tb.intent(intent{Name: "f", Boot: 6})
	tb.down("b", t0.Add(time.Second))
	tb.intent(intent{Name: "e", Boot: 5})
	tb.down("e", t0.Add(time.Second))

	if got, want := tb.counts(), (Counts{Alive: 4, Dead: 1, Left: 1, Leaving: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got, want := tb.names(RoleVoter), []string{"a", "f"}; !slices.Equal(got, want) {
		t.Errorf("voters = %v, want %v", got, want)
	}
	if got, want := tb.names(RoleClient), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("clients = %v, want %v", got, want)
	}
	if got, want := tb.failedAddrs(), []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:1002")}; !slices.Equal(got, want) {
		t.Errorf("failed addrs = %v, want %v", got, want)
	}
	var names []string
	for _, m := range tb.snapshot() {
		names = append(names, m.Name+":"+m.State.String())
	}
	if got, want := strings.Join(names, " "), "a:alive b:dead c:alive d:alive e:left f:alive"; got != want {
		t.Errorf("snapshot = %q, want %q", got, want)
	}
	if m, _ := tb.get("b"); !m.Since.Equal(t0.Add(time.Second)) {
		t.Errorf("b since = %v, want the failure time", m.Since)
	}
}

func TestTableUpdateKeepsSinceAndLeaving(t *testing.T) {
	tb := newTable("self")
	tb.alive(info("a", 1, 0, 0), t0)
	tb.intent(intent{Name: "a", Boot: 1})
	evs := tb.alive(info("a", 1, 0, 7950), t0.Add(time.Minute))
	if len(evs) != 1 || evs[0].Kind != EventUpdated {
		t.Fatalf("events = %v, want one update", evs)
	}
	m := evs[0].Member
	if !m.Since.Equal(t0) || !m.Leaving || m.Meta.InternodePort != 7950 {
		t.Errorf("updated member = %+v: want Since t0, Leaving, internode port 7950", m)
	}
	if got := m.InternodeAddr(); got != "10.0.0.1:7950" {
		t.Errorf("internode addr = %q", got)
	}
}
