package membership

import (
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

func TestJoinSeesMembersAndMeta(t *testing.T) {
	nodes := cluster(t, []string{"n1", "n2", "n3"}, func(c *Config) {
		if c.Name == "n3" {
			c.Meta.RaftRole = RoleClient
			c.Meta.ProtoMax = 2
		}
	})
	for _, n := range nodes {
		ms := n.Members()
		if len(ms) != 3 {
			t.Fatalf("%s sees %d members: %v", n.cfg.Name, len(ms), ms)
		}
		for i, m := range ms {
			o := nodes[i]
			if m.Name != o.cfg.Name || m.State != StateAlive || m.Meta != o.cfg.Meta || m.Addr.String() != o.addr() {
				t.Errorf("%s sees %+v, want %s alive at %s with %+v", n.cfg.Name, m, o.cfg.Name, o.addr(), o.cfg.Meta)
			}
			if want := "127.0.0.1:" + []string{"7950", "7951", "7952"}[i]; m.InternodeAddr() != want {
				t.Errorf("internode addr of %s = %q, want %q", m.Name, m.InternodeAddr(), want)
			}
		}
		if got := n.Voters(); !slices.Equal(got, []string{"n1", "n2"}) {
			t.Errorf("%s voters = %v", n.cfg.Name, got)
		}
		if got := n.Clients(); !slices.Equal(got, []string{"n3"}) {
			t.Errorf("%s clients = %v", n.cfg.Name, got)
		}
		if got := n.Counts(); got != (Counts{Alive: 3}) {
			t.Errorf("%s counts = %+v", n.cfg.Name, got)
		}
		// Each node's first event is its own join.
		if ev := n.rec.all()[0]; !isLife(EventJoined, n.cfg.Name, n.boot())(ev) {
			t.Errorf("%s first event = %v", n.cfg.Name, ev)
		}
	}
}

func TestJoinSkipsSelf(t *testing.T) {
	a := startNode(t, testConfig("a"))
	b := startNode(t, testConfig("b"))
	if n, err := a.Join(a.addr(), "127.0.0.1"); n != 0 || err != nil {
		t.Fatalf("join of own addresses = %d, %v; want 0, nil", n, err)
	}
	if n, err := a.Join(a.addr(), b.addr()); n != 1 || err != nil {
		t.Fatalf("join = %d, %v; want 1, nil", n, err)
	}
	a.rec.wait(t, 5*time.Second, 0, "b joined", is(EventJoined, "b"))
	port := strconv.Itoa(int(a.Local().Addr.Port()))
	cases := map[string]bool{
		a.addr(): true, "127.0.0.1": true, b.addr(): false, "127.0.0.2:" + port: false,
		"localhost:" + port: false, "nonsense": false, "127.0.0.1:x": false,
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for addr, want := range cases {
		if got := a.isSelfLocked(addr); got != want {
			t.Errorf("isSelf(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestSelfAddrsUnspecified(t *testing.T) {
	self := selfAddrs("0.0.0.0", []byte{10, 1, 2, 3}, 7946)
	for _, a := range []string{"10.1.2.3:7946", "0.0.0.0:7946", "127.0.0.1:7946", "[::]:7946"} {
		if !self[mustAddrPort(t, a)] {
			t.Errorf("%s is not self", a)
		}
	}
	if self[mustAddrPort(t, "127.0.0.1:7947")] || self[mustAddrPort(t, "10.1.2.4:7946")] {
		t.Error("another port or host taken for self")
	}
}

func TestGracefulLeaveIsLeft(t *testing.T) {
	nodes := cluster(t, []string{"n1", "n2", "n3"})
	n3 := nodes[2]
	if err := n3.Leave(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		n.rec.wait(t, 5*time.Second, 0, "n3 left at "+n.cfg.Name, isLife(EventLeft, "n3", n3.boot()))
		if i := n.rec.find(0, is(EventFailed, "n3")); i >= 0 {
			t.Errorf("%s reported n3 failed: %v", n.cfg.Name, n.rec.all())
		}
	}
	if err := n3.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if st := n3.Stats(); st.IntentsSent != 2 || st.IntentsUnsent != 0 {
		t.Errorf("n3 stats = %+v, want 2 intents sent", st)
	}
	for _, n := range nodes[:2] {
		if m, _ := n.Member("n3"); m.State != StateLeft {
			t.Errorf("%s: n3 is %v", n.cfg.Name, m.State)
		}
		n.waitCounts(t, 5*time.Second, Counts{Alive: 2, Left: 1})
		if got := n.Voters(); len(got) != 2 {
			t.Errorf("%s voters = %v", n.cfg.Name, got)
		}
	}
	if _, err := n3.Join(nodes[0].addr()); !errors.Is(err, ErrClosed) {
		t.Errorf("join after shutdown: %v", err)
	}
}

// TestLeaveIntentByGossip: the leaving node cannot open TCP connections
// to n2, so its direct intent over TCP fails; the copies it sends as
// packets (directly and by gossip, before the departure) still make n2
// report a leave.
func TestLeaveIntentByGossip(t *testing.T) {
	trs := map[string]*cutTransport{}
	nodes := cluster(t, []string{"n1", "n2", "n3"}, func(c *Config) {
		trs[c.Name] = newCutTransport(t)
		c.Transport = trs[c.Name]
	})
	n2, n3 := nodes[1], nodes[2]
	trs["n3"].setNoDial(n2.addr(), true)
	if err := n3.Leave(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := n3.Stats(); st.IntentsSent != 1 || st.IntentsUnsent != 1 {
		t.Errorf("n3 stats = %+v, want one intent sent directly, one not", st)
	}
	for _, n := range nodes {
		n.rec.wait(t, 5*time.Second, 0, "n3 left at "+n.cfg.Name, isLife(EventLeft, "n3", n3.boot()))
		if i := n.rec.find(0, is(EventFailed, "n3")); i >= 0 {
			t.Errorf("%s reported n3 failed: %v", n.cfg.Name, n.rec.all())
		}
	}
}

func TestCrashIsFailedQuickly(t *testing.T) {
	nodes := cluster(t, []string{"n1", "n2", "n3"})
	n3 := nodes[2]
	start := time.Now()
	if err := n3.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[:2] {
		i := n.rec.wait(t, 3*time.Second, 0, "n3 failed at "+n.cfg.Name, is(EventFailed, "n3"))
		ev := n.rec.all()[i]
		t.Logf("%s: n3 failed after %v", n.cfg.Name, time.Since(start).Round(time.Millisecond))
		if ev.Restart || ev.Member.State != StateDead || ev.Member.Meta.BootID != n3.boot() {
			t.Errorf("%s: event %+v", n.cfg.Name, ev)
		}
		if i := n.rec.find(0, is(EventLeft, "n3")); i >= 0 {
			t.Errorf("%s reported a crash as a leave", n.cfg.Name)
		}
		n.waitCounts(t, 5*time.Second, Counts{Alive: 2, Dead: 1})
	}
}

func TestWrongSecretKeyCannotJoin(t *testing.T) {
	key := []byte("0123456789abcdef")
	a := startNode(t, withKey(testConfig("a"), key))
	for name, k := range map[string][]byte{
		"other-key": []byte("fedcba9876543210"),
		"no-key":    nil,
		"long-key":  []byte("0123456789abcdef0123456789abcdef"),
	} {
		n := startNode(t, withKey(testConfig(name), k))
		if _, err := n.Join(a.addr()); !errors.Is(err, ErrJoin) {
			t.Errorf("%s joined a keyed cluster: %v", name, err)
		}
		if got := n.Counts().Alive; got != 1 {
			t.Errorf("%s sees %d alive", name, got)
		}
	}
	ok := startNode(t, withKey(testConfig("same-key"), key))
	if _, err := ok.Join(a.addr()); err != nil {
		t.Fatalf("same key: %v", err)
	}
	a.rec.wait(t, 5*time.Second, 0, "same-key joined", is(EventJoined, "same-key"))
	if ms := a.Members(); len(ms) != 2 {
		t.Fatalf("a sees %v", ms)
	}
}

func withKey(c Config, key []byte) Config {
	c.SecretKey = key
	return c
}

func TestClusterNamesNeverMerge(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef")} {
		one := withKey(testConfig("one-a"), key)
		one.ClusterName = "one"
		a := startNode(t, one)
		two := withKey(testConfig("two-a"), key)
		two.ClusterName = "two"
		b := startNode(t, two)
		if _, err := b.Join(a.addr()); !errors.Is(err, ErrJoin) {
			t.Errorf("key %v: another cluster joined: %v", key != nil, err)
		}
		same := withKey(testConfig("one-b"), key)
		same.ClusterName = "one"
		c := startNode(t, same)
		if _, err := c.Join(a.addr()); err != nil {
			t.Fatalf("key %v: same cluster: %v", key != nil, err)
		}
		a.rec.wait(t, 5*time.Second, 0, "one-b joined", is(EventJoined, "one-b"))
		for _, n := range []*testNode{a, b} {
			for _, m := range n.Members() {
				if m.Name == "two-a" && n == a || m.Name == "one-a" && n == b {
					t.Errorf("key %v: %s sees %s", key != nil, n.cfg.Name, m.Name)
				}
			}
		}
	}
}

// TestRestartSameAddress: a node killed and started again at once on the
// same port, with a new boot id, is reported down then up.
func TestRestartSameAddress(t *testing.T) {
	nodes := cluster(t, []string{"n1", "n2"})
	n1, n2 := nodes[0], nodes[1]
	old := n2.boot()
	mark := len(n1.rec.all())
	cfg := n2.cfg
	cfg.BindPort = int(n2.Local().Addr.Port())
	cfg.Meta.BootID = 0
	if err := n2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	again := startNode(t, cfg)
	if again.boot() == old {
		t.Fatal("no new boot id")
	}
	if _, err := again.Join(n1.addr()); err != nil {
		t.Fatal(err)
	}
	up := n1.rec.wait(t, 5*time.Second, mark, "new life of n2", isLife(EventJoined, "n2", again.boot()))
	down := n1.rec.find(mark, isLife(EventFailed, "n2", old))
	if down < 0 || down > up {
		t.Fatalf("old life not reported down before the new one came up: %v", n1.rec.all()[mark:])
	}
	t.Logf("down then up: %v", n1.rec.all()[mark:])
	if m, _ := n1.Member("n2"); m.State != StateAlive || m.Meta.BootID != again.boot() {
		t.Errorf("n1 sees n2 as %+v", m)
	}
}

// TestRestartNewAddress: the new life comes back on another port, so
// memberlist only accepts it once the old life is declared dead; the rejoin
// loop (JoinAddrs retried) brings it in without help.
func TestRestartNewAddress(t *testing.T) {
	nodes := cluster(t, []string{"n1", "n2"})
	n1, n2 := nodes[0], nodes[1]
	old := n2.boot()
	mark := len(n1.rec.all())
	cfg := n2.cfg
	cfg.Meta.BootID = 0
	cfg.JoinAddrs = []string{n1.addr()}
	cfg.RejoinInterval = 200 * time.Millisecond
	if err := n2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	again := startNode(t, cfg)
	if again.addr() == n2.addr() {
		t.Fatal("same address")
	}
	up := n1.rec.wait(t, 10*time.Second, mark, "new life of n2", isLife(EventJoined, "n2", again.boot()))
	down := n1.rec.find(mark, isLife(EventFailed, "n2", old))
	if down < 0 || down > up {
		t.Fatalf("old life not reported down before the new one came up: %v", n1.rec.all()[mark:])
	}
	if m, _ := n1.Member("n2"); m.Addr.String() != again.addr() {
		t.Errorf("n1 sees n2 at %v, want %v", m.Addr, again.addr())
	}
	again.rec.wait(t, 5*time.Second, 0, "n1 seen by the new n2", is(EventJoined, "n1"))
}

// TestPartitionHeals cuts n1 off from n2 and n3 until each side declares
// the other dead, then restores the links. memberlist is tuned to never
// talk to dead nodes again, so only the rejoin loop can merge the halves.
func TestPartitionHeals(t *testing.T) {
	names := []string{"n1", "n2", "n3"}
	trs := map[string]*cutTransport{}
	nodes := cluster(t, names, func(c *Config) {
		tr := newCutTransport(t)
		trs[c.Name] = tr
		c.Transport = tr
		c.RejoinInterval = 300 * time.Millisecond
		c.tune = func(mc *memberlist.Config) { mc.GossipToTheDeadTime = 0 }
	})
	cut := func(on bool) {
		for _, o := range nodes[1:] {
			trs["n1"].set(o.addr(), on)
			trs[o.cfg.Name].set(nodes[0].addr(), on)
		}
	}
	mark := map[string]int{}
	for _, n := range nodes {
		mark[n.cfg.Name] = len(n.rec.all())
	}
	cut(true)
	n1 := nodes[0]
	for _, o := range nodes[1:] {
		n1.rec.wait(t, 5*time.Second, mark["n1"], o.cfg.Name+" failed at n1", is(EventFailed, o.cfg.Name))
		o.rec.wait(t, 5*time.Second, mark[o.cfg.Name], "n1 failed at "+o.cfg.Name, is(EventFailed, "n1"))
	}
	if got := n1.Counts(); got.Alive != 1 || got.Dead != 2 {
		t.Fatalf("n1 counts during the partition = %+v", got)
	}
	healed := time.Now()
	cut(false)
	for _, o := range nodes[1:] {
		n1.rec.wait(t, 5*time.Second, mark["n1"], o.cfg.Name+" back at n1", isLife(EventJoined, o.cfg.Name, o.boot()))
		o.rec.wait(t, 5*time.Second, mark[o.cfg.Name], "n1 back at "+o.cfg.Name, isLife(EventJoined, "n1", n1.boot()))
	}
	t.Logf("merged %v after the links came back", time.Since(healed).Round(time.Millisecond))
	// The merge may flap: a side learns the other's stale "dead" states,
	// which memberlist turns into suspicion, and under the fast profile a
	// refutation can come too late. It settles once the refutations
	// spread.
	for _, n := range nodes {
		n.waitCounts(t, 5*time.Second, Counts{Alive: 3})
	}
	if st := n1.Stats(); st.Rejoins == 0 {
		t.Errorf("n1 never ran a rejoin round: %+v", st)
	}
}

func TestEventQueueOverflowIsCounted(t *testing.T) {
	cfg := testConfig("self")
	cfg.EventQueue = 2
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	node := func(name string, boot uint64) *memberlist.Node {
		return &memberlist.Node{Name: name, Addr: []byte{127, 0, 0, 1}, Port: 1,
			Meta: encodeMeta(Meta{BootID: boot, ProtoMin: 1, ProtoMax: 1})}
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		m.d.NotifyJoin(node(name, 1))
	}
	if got := m.Stats().EventsDropped; got != 2 {
		t.Fatalf("dropped = %d, want 2", got)
	}
	if got := m.Counts().Alive; got != 4 {
		t.Fatalf("the table lost updates: %d alive", got)
	}
	for _, want := range []string{"a", "b"} {
		if ev := <-m.events; ev.Member.Name != want || ev.Missed != 0 {
			t.Fatalf("event %v, missed %d; want %s", ev, ev.Missed, want)
		}
	}
	m.d.NotifyLeave(node("a", 1))
	if ev := <-m.events; !is(EventFailed, "a")(ev) || ev.Missed != 2 {
		t.Fatalf("event %v with missed %d; want a failed with 2 missed", ev, ev.Missed)
	}
	// Peer input that does not decode is refused and counted.
	bad := node("x", 0)
	if err := m.d.NotifyAlive(bad); !errors.Is(err, ErrBadMeta) {
		t.Fatalf("NotifyAlive(bad meta) = %v", err)
	}
	m.d.NotifyMsg([]byte{0xff})
	m.d.NotifyMsg(encodeIntent(intent{Name: "b", Boot: 1}))
	if st := m.Stats(); st.BadMeta != 1 || st.BadMessages != 1 || st.IntentsReceived != 1 {
		t.Fatalf("stats = %+v", st)
	}
	if mem, _ := m.Member("b"); !mem.Leaving {
		t.Fatal("intent not applied")
	}
	// The applied intent is relayed by gossip.
	if got := m.bcast.NumQueued(); got != 1 {
		t.Fatalf("%d broadcasts queued, want the relayed intent", got)
	}
}

func TestLifecycle(t *testing.T) {
	m, err := New(testConfig("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Join("127.0.0.1:1"); !errors.Is(err, ErrNotStarted) {
		t.Errorf("join before start: %v", err)
	}
	if err := m.Leave(time.Second); !errors.Is(err, ErrNotStarted) {
		t.Errorf("leave before start: %v", err)
	}
	if err := m.Leave(0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("leave with no timeout: %v", err)
	}
	var early atomic.Int32
	m.Subscribe(func(Event) { early.Add(1) })
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("second start: %v", err)
	}
	late := newRecorder()
	m.Subscribe(late.add)
	cancelled := newRecorder()
	m.Subscribe(cancelled.add)()
	// cancel returns once the subscriber is no longer called: a delivery
	// already under way (Start's own join) may reach it before that, none
	// after.
	atCancel := len(cancelled.all())
	if got := m.Local(); got.State != StateAlive || got.Addr.Port() == 0 {
		t.Errorf("local = %+v, want alive on the bound port", got)
	}
	if err := m.Leave(time.Second); err != nil {
		t.Errorf("leave alone: %v", err)
	}
	if err := m.Leave(time.Second); err != nil {
		t.Errorf("second leave: %v", err)
	}
	if _, err := m.Join("127.0.0.1:1"); !errors.Is(err, ErrLeft) {
		t.Errorf("join after leave: %v", err)
	}
	if err := m.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
	if err := m.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("start after shutdown: %v", err)
	}
	if err := m.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("leave after shutdown: %v", err)
	}
	// Its own join, then its own leave. The late subscriber gets the leave,
	// and maybe the join if it was still queued when it subscribed.
	if got := early.Load(); got != 2 {
		t.Errorf("early subscriber got %d events, want 2", got)
	}
	if got := late.all(); len(got) == 0 || len(got) > 2 || !is(EventLeft, "a")(got[len(got)-1]) {
		t.Errorf("late subscriber got %v", got)
	}
	if got := cancelled.all(); len(got) != atCancel {
		t.Errorf("cancelled subscriber got %v after its cancel returned (had %d before)", got[atCancel:], atCancel)
	}
	if got := m.Local(); got.State != StateLeft {
		t.Errorf("local after leave = %+v", got)
	}

	never, err := New(testConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := never.Shutdown(); err != nil {
		t.Errorf("shutdown before start: %v", err)
	}
}

func TestStartFailsOnBusyPort(t *testing.T) {
	a := startNode(t, testConfig("a"))
	cfg := testConfig("b")
	cfg.BindPort = int(a.Local().Addr.Port())
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err == nil {
		t.Fatal("started on a busy port")
	}
	if err := m.Start(); !errors.Is(err, ErrClosed) {
		t.Errorf("start after a failed start: %v", err)
	}
	if err := m.Shutdown(); err != nil {
		t.Errorf("shutdown after a failed start: %v", err)
	}
}
