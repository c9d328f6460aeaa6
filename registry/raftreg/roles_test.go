package raftreg

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
)

// confLog records every configuration each node commits, in log order.
type confLog struct {
	mu   sync.Mutex
	seen map[string][]raft.Configuration
}

func recordConfs(c *cluster) *confLog {
	l := &confLog{seen: make(map[string][]raft.Configuration)}
	c.prep = func(r *Registry) {
		node := r.cfg.Node
		r.table.onConf = func(_ uint64, conf raft.Configuration) {
			l.mu.Lock()
			l.seen[node] = append(l.seen[node], conf)
			l.mu.Unlock()
		}
	}
	return l
}

func (l *confLog) of(node string) []raft.Configuration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen[node])
}

// roleCounts returns the voters, standbys and the members outside the
// configuration among names, as node sees the configuration.
func (c *cluster) roleCounts(node string, names []string) (voters, standbys, outside []string) {
	s := c.servers(node)
	for _, n := range names {
		suf, in := s[n]
		switch {
		case !in:
			outside = append(outside, n)
		case suf == raft.Voter:
			voters = append(voters, n)
		default:
			standbys = append(standbys, n)
		}
	}
	return
}

// TestTwelveNodeRoles: twelve nodes over three failure domains with
// max_voters 5 and max_standbys 4 settle as 5 voters (spread over the
// three domains), 4 standbys and 3 nodes outside the configuration, which
// resolve every name from a fed copy and register through the leader.
// Two voters are killed: two standbys are promoted, an outside node
// becomes a standby, and no configuration the cluster commits on the way
// has fewer live voters than a majority.
func TestTwelveNodeRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("twelve nodes")
	}
	c := newCluster(t, 12, withConfig(func(cfg *Config) {
		cfg.MaxVoters, cfg.MaxStandbys = 5, 4
		cfg.ReconcileDebounce = 500 * time.Millisecond
	}))
	confs := recordConfs(c)
	domain := func(name string) string {
		var i int
		fmt.Sscanf(name, "n%d", &i)
		return string(rune('a' + i%3))
	}
	for _, name := range c.names {
		cfg := c.config(name)
		cfg.FailureDomain = domain(name)
		c.startWith(name, cfg)
	}
	leader := c.waitLeader(c.names...)
	var outside []string
	await.Within(t, 30*time.Second, "5 voters over 3 domains, 4 standbys, 3 outside", func() bool {
		v, s, o := c.roleCounts(leader, c.names)
		doms := map[string]bool{}
		for _, n := range v {
			doms[domain(n)] = true
		}
		outside = o
		return len(v) == 5 && len(s) == 4 && len(o) == 3 && len(doms) == 3
	})
	for _, n := range outside {
		await.Within(t, 10*time.Second, n+" knows it is outside", func() bool {
			return c.reg(n).Stats().Role == RoleOutside
		})
	}
	ctx := ctxT(t, 60*time.Second)
	var names []string
	owner := map[string]pid.PID{}
	register := func(from string, k int) {
		t.Helper()
		name := fmt.Sprintf("%s-%d", from, k)
		if err := c.reg(from).Register(ctx, name, ppid(from, uint64(k))); err != nil {
			t.Fatalf("register %s on %s: %v", name, from, err)
		}
		names = append(names, name)
		owner[name] = ppid(from, uint64(k))
	}
	for k, n := range c.names {
		register(n, k+1) // outside nodes forward theirs to the leader
	}
	for _, o := range outside {
		for _, name := range names {
			c.resolves(o, name, owner[name])
		}
	}
	// A STRONG name: when RegisterStrong returns, every node resolves it,
	// the nodes outside too (they acknowledge from their fed copies).
	sp := ppid(outside[0], 500)
	if err := c.reg(outside[0]).RegisterStrong(ctx, "strong-one", sp); err != nil {
		t.Fatalf("strong register from a node outside: %v", err)
	}
	for _, n := range c.names {
		if got, ok := c.reg(n).Holder("strong-one", true); !ok || got != sp {
			t.Fatalf("%s: strong-one %v %v right after RegisterStrong", n, got, ok)
		}
	}
	// The leader sends nothing to the nodes outside: its transport never
	// heard from them.
	for _, o := range outside {
		if at := c.reg(leader).trans.lastHeard(o); !at.IsZero() {
			t.Fatalf("the leader exchanged raft RPCs with %s, outside the configuration", o)
		}
	}

	// Kill two voters other than the leader.
	v, _, _ := c.roleCounts(leader, c.names)
	var victims []string
	for _, n := range v {
		if n != leader && len(victims) < 2 {
			victims = append(victims, n)
		}
	}
	before := len(confs.of(leader))
	for _, n := range victims {
		c.kill(n)
	}
	for _, n := range victims {
		c.peers.set(n, true, MemberDead)
	}
	alive := func(n string) bool { return !slices.Contains(victims, n) }
	await.Within(t, 30*time.Second, "5 live voters and 4 standbys again", func() bool {
		v, s, _ := c.roleCounts(leader, c.running())
		sv := c.servers(leader)
		return len(v) == 5 && len(s) == 4 && len(sv) == 9
	})
	// Every configuration committed since the kill, as the leader applied
	// them (up to the one just awaited), kept a majority of live voters.
	var all []raft.Configuration
	await.Within(t, 10*time.Second, "the last change committed", func() bool {
		all = confs.of(leader)
		return len(all) > before && len(all[len(all)-1].Servers) == 9
	})
	if len(all) <= before {
		t.Fatal("no configuration recorded after the kill")
	}
	for i, conf := range all[before:] {
		voters, live := 0, 0
		for _, s := range conf.Servers {
			if s.Suffrage == raft.Voter {
				voters++
				if alive(string(s.ID)) {
					live++
				}
			}
		}
		if live < voters/2+1 {
			t.Fatalf("configuration %d of %d after the kill: %d live voters of %d: %v", i, len(all)-before, live, voters, conf.Servers)
		}
	}
	v, s, o := c.roleCounts(leader, c.running())
	t.Logf("after: voters %v standbys %v outside %v (%d configurations, %d after the kill)", v, s, o, len(all), len(all)-before)
	doms := map[string]bool{}
	for _, n := range v {
		doms[domain(n)] = true
	}
	if len(doms) != 3 || len(o) != 1 {
		t.Fatalf("voters %v over %d domains, outside %v", v, len(doms), o)
	}
	// Names registered after the change reach the node outside too.
	register(o[0], 100)
	register(leader, 101)
	for _, name := range names[len(names)-2:] {
		for _, n := range c.running() {
			c.resolves(n, name, owner[name])
		}
	}
	if got := c.reg(leader).Stats(); got.Voters != 5 || got.Standbys != 4 || got.Role != RoleVoter {
		t.Fatalf("leader stats: %+v", got)
	}
}

// TestHealCostsNothing: a minority cut off, reported dead by gossip for
// less than the debounce window, then healed, while the rejoining nodes
// gossip a healthy voter as dead for longer than the window: no voter is
// removed, the configuration does not change, and the leader stays.
func TestHealCostsNothing(t *testing.T) {
	const debounce = 1500 * time.Millisecond
	// Raft timing of 1s: what this test must tell apart is a leader change
	// the heal causes, not one a loaded machine's stall of 100-200ms
	// causes (with the 100ms default lease, a stall of the whole test
	// process made the leader step down, far from the heal).
	c := newCluster(t, 5, withConfig(func(cfg *Config) {
		cfg.ReconcileDebounce = debounce
		cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = time.Second, time.Second, time.Second
	}))
	confs := recordConfs(c)
	for _, n := range c.names {
		c.start(n)
	}
	leader := c.waitLeader(c.names...)
	await.Within(t, 20*time.Second, "five voters, committed and applied everywhere", func() bool {
		commit := c.reg(leader).Stats().CommitIndex
		for _, n := range c.names {
			if countVoters(c.servers(n)) != 5 || c.reg(n).Stats().AppliedIndex < commit {
				return false
			}
		}
		return true
	})
	leader = c.waitLeader(c.names...)
	fol := c.followers(leader)
	minority, majority := fol[:2], append([]string{leader}, fol[2:]...)
	healthy := fol[2]
	nconf := len(confs.of(leader))
	changes := c.reg(leader).Stats().LeaderChanges
	term := c.reg(leader).Stats().Term

	c.partition(minority, majority)
	for _, n := range minority {
		c.peers.set(n, true, MemberDead)
	}
	// The leader stops hearing from the minority.
	await.Within(t, 5*time.Second, "the minority silent to the leader", func() bool {
		for _, n := range minority {
			if time.Since(c.reg(leader).trans.lastHeard(n)) < 300*time.Millisecond {
				return false
			}
		}
		return true
	})
	c.heal(minority, majority)
	// The rejoining nodes' stale view: the healthy voter dead, for two
	// debounce windows; the minority alive again.
	c.peers.set(healthy, true, MemberDead)
	for _, n := range minority {
		c.peers.set(n, true, MemberAlive)
	}
	// What must stay true is sampled every 20ms for two windows.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(2 * debounce); time.Now().Before(end); <-tick.C {
		s := c.reg(leader).Stats()
		if s.RaftState != uint8(raft.Leader) || s.Term != term {
			t.Fatalf("the leader changed: %+v", s)
		}
		if got := countVoters(c.servers(leader)); got != 5 {
			t.Fatalf("voters %d: %v", got, c.servers(leader))
		}
	}
	c.peers.set(healthy, true, MemberAlive)
	if got := confs.of(leader); len(got) != nconf {
		t.Fatalf("configurations committed during the heal: %v", got[nconf:])
	}
	for _, n := range c.names {
		if got := c.reg(n).Stats(); got.Leader != leader || got.Term != term {
			t.Fatalf("%s: leader %q term %d, want %q %d", n, got.Leader, got.Term, leader, term)
		}
	}
	if got := c.reg(leader).Stats().LeaderChanges; got != changes {
		t.Fatalf("leader changes %d, want %d", got, changes)
	}
}

// TestDeadVoterEvicted: a voter that is dead in gossip and silent is
// removed once the debounce window passed, and a standby takes its slot,
// added before the removal.
func TestDeadVoterEvicted(t *testing.T) {
	const debounce = 400 * time.Millisecond
	c := newCluster(t, 4, withConfig(func(cfg *Config) { cfg.MaxVoters, cfg.ReconcileDebounce = 3, debounce }))
	confs := recordConfs(c)
	for _, n := range c.names {
		c.start(n)
	}
	leader := c.waitLeader(c.names...)
	await.Within(t, 20*time.Second, "3 voters, 1 standby", func() bool {
		s := c.servers(leader)
		return len(s) == 4 && countVoters(s) == 3
	})
	var victim, standby string
	for n, suf := range c.servers(leader) {
		switch {
		case suf == raft.Nonvoter:
			standby = n
		case n != leader:
			victim = n
		}
	}
	c.kill(victim)
	dead := time.Now()
	c.peers.set(victim, true, MemberDead)
	await.Within(t, 20*time.Second, "the standby promoted, the victim removed", func() bool {
		s := c.servers(leader)
		_, in := s[victim]
		return !in && s[standby] == raft.Voter
	})
	if took := time.Since(dead); took < debounce {
		t.Fatalf("evicted %v after the kill, before the %v window", took, debounce)
	}
	// The latest configuration may not be committed yet: wait until the
	// leader applied it.
	var all []raft.Configuration
	await.Within(t, 10*time.Second, "the removal committed", func() bool {
		all = confs.of(leader)
		return len(all) >= 2 && !slices.ContainsFunc(all[len(all)-1].Servers, func(s raft.Server) bool { return string(s.ID) == victim })
	})
	last := all[len(all)-1]
	prev := all[len(all)-2]
	// The promotion came first: the configuration before the last still
	// had the victim and the standby as a voter.
	var hadVictim, promoted bool
	for _, s := range prev.Servers {
		hadVictim = hadVictim || string(s.ID) == victim
		promoted = promoted || string(s.ID) == standby && s.Suffrage == raft.Voter
	}
	if !hadVictim || !promoted || len(last.Servers) != 3 {
		t.Fatalf("order: %v then %v", prev.Servers, last.Servers)
	}
}
