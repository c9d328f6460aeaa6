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

// step is one input to the table. op is alive, down, intent, reap,
// failed (a probe by this node got no ack) or answered (a direct probe
// by this node got its ack).
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
	case "failed":
		return eventsString(tb.probeFailed(s.name, now))
	case "answered":
		return eventsString(tb.probeAnswered(s.name, now))
	}
	panic("unknown op " + s.op)
}

type tableCase struct {
	name  string
	steps []step
}

func TestTable(t *testing.T) {
	cases := []tableCase{
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
	for _, c := range append(cases, suspectCases...) {
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

// suspectCases: suspicion is this node's own failed probe, ended by an ack
// to its direct probe, a departure or a new life; it never ends a life.
var suspectCases = []tableCase{
	{"failed probe suspects, ack clears, once each", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "failed", name: "a", want: ""},
		{op: "answered", name: "a", want: "cleared a/1"},
		{op: "answered", name: "a", want: ""},
		{op: "failed", name: "a", want: "suspected a/1"},
	}},
	{"failed probe of an unknown, dead or left node, or self, is ignored", []step{
		{op: "failed", name: "x", want: ""},
		{op: "alive", name: "self", boot: 9, want: "joined self/9"},
		{op: "failed", name: "self", want: ""},
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "down", name: "a", want: "failed a/1"},
		{op: "failed", name: "a", want: ""},
		{op: "answered", name: "a", want: ""},
		{op: "alive", name: "b", boot: 1, want: "joined b/1"},
		{op: "intent", name: "b", boot: 1, want: "true"},
		{op: "down", name: "b", want: "left b/1"},
		{op: "failed", name: "b", want: ""},
	}},
	{"a suspect that dies fails once", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "down", name: "a", want: "failed a/1"},
		{op: "down", name: "a", want: ""},
		{op: "answered", name: "a", want: ""},
	}},
	{"a suspect that announced leaving leaves", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "intent", name: "a", boot: 1, want: "true"},
		{op: "down", name: "a", want: "left a/1"},
	}},
	{"leaving, then suspect, then leaves", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "intent", name: "a", boot: 1, want: "true"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "down", name: "a", want: "left a/1"},
	}},
	{"a new life of a suspect: old fails, new joins alive", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "alive", name: "a", boot: 2, port: 9000, want: "failed a/1!, joined a/2"},
		{op: "answered", name: "a", want: ""},
		{op: "failed", name: "a", want: "suspected a/2"},
	}},
	{"an update keeps a suspect suspect", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "alive", name: "a", boot: 1, want: ""},
		{op: "alive", name: "a", boot: 1, iport: 7950, want: "updated a/1"},
		{op: "failed", name: "a", want: ""},
		{op: "answered", name: "a", want: "cleared a/1"},
	}},
	{"a dead life back is alive, not suspect", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "down", name: "a", want: "failed a/1"},
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "answered", name: "a", want: ""},
	}},
	{"a suspect is never reaped", []step{
		{op: "alive", name: "a", boot: 1, want: "joined a/1"},
		{op: "failed", name: "a", want: "suspected a/1"},
		{op: "reap", at: 10 * time.Hour, want: ""},
		{op: "down", name: "a", at: 10 * time.Hour, want: "failed a/1"},
		{op: "reap", at: 11 * time.Hour, want: "reaped a/1"},
	}},
}

// TestTableSuspectState: the member's state and Since follow suspicion,
// Counts splits alive from suspect, and a suspect still counts as up for
// the role lists and intents.
func TestTableSuspectState(t *testing.T) {
	tb := newTable("self")
	tb.alive(info("self", 9, 1000, 0), t0)
	tb.alive(info("a", 1, 1001, 0), t0)
	c := info("c", 3, 1003, 0)
	c.Meta.RaftRole = RoleClient
	tb.alive(c, t0)
	tb.alive(info("d", 4, 1004, 0), t0)
	tb.down("d", t0)

	state := func(name string) (State, time.Time) {
		m, _ := tb.get(name)
		return m.State, m.Since
	}
	evs := tb.probeFailed("a", t0.Add(time.Second))
	if len(evs) != 1 || evs[0].Member.State != StateSuspect {
		t.Fatalf("events = %v, want a suspected", evs)
	}
	if st, since := state("a"); st != StateSuspect || !since.Equal(t0.Add(time.Second)) {
		t.Errorf("a = %v since %v, want suspect since t0+1s", st, since)
	}
	tb.probeFailed("c", t0.Add(time.Second))
	if got, want := tb.counts(), (Counts{Alive: 1, Suspect: 2, Dead: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got, want := tb.names(RoleVoter), []string{"a", "self"}; !slices.Equal(got, want) {
		t.Errorf("voters = %v, want %v (a suspect is still up)", got, want)
	}
	if got, want := tb.names(RoleClient), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("clients = %v, want %v", got, want)
	}
	if !tb.intent(intent{Name: "c", Boot: 3}) {
		t.Error("intent of a suspect refused")
	}
	if got, want := tb.counts(), (Counts{Alive: 1, Suspect: 2, Dead: 1, Leaving: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if got := tb.failedAddrs(); len(got) != 1 || got[0].Port() != 1004 {
		t.Errorf("failed addrs = %v, want only d's (a suspect is not retried)", got)
	}
	evs = tb.probeAnswered("a", t0.Add(2*time.Second))
	if len(evs) != 1 || evs[0].Kind != EventCleared || evs[0].Member.State != StateAlive {
		t.Fatalf("events = %v, want a cleared and alive", evs)
	}
	if st, since := state("a"); st != StateAlive || !since.Equal(t0.Add(2*time.Second)) {
		t.Errorf("a = %v since %v, want alive since t0+2s", st, since)
	}
	upd := info("c", 3, 1003, 7950)
	upd.Meta.RaftRole = RoleClient
	evs = tb.alive(upd, t0.Add(3*time.Second))
	if len(evs) != 1 || evs[0].Kind != EventUpdated || evs[0].Member.State != StateSuspect || !evs[0].Member.Leaving ||
		!evs[0].Member.Since.Equal(t0.Add(time.Second)) {
		t.Errorf("update of a suspect = %+v, want suspect, leaving, since t0+1s", evs)
	}
	if got, want := tb.counts(), (Counts{Alive: 2, Suspect: 1, Dead: 1, Leaving: 1}); got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
}

func TestStateStrings(t *testing.T) {
	var got []string
	for _, s := range []State{StateAlive, StateSuspect, StateDead, StateLeft, 0} {
		got = append(got, fmt.Sprintf("%s/%t", s, s.Up()))
	}
	if want := "alive/true suspect/true dead/false left/false state(0)/false"; strings.Join(got, " ") != want {
		t.Errorf("states = %q, want %q", strings.Join(got, " "), want)
	}
	got = nil
	for k := EventJoined; k <= EventCleared+1; k++ {
		got = append(got, k.String())
	}
	if want := "joined updated failed left reaped suspected cleared event(8)"; strings.Join(got, " ") != want {
		t.Errorf("event kinds = %q, want %q", strings.Join(got, " "), want)
	}
}
