package membership

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Stats are cumulative counters, for metrics.
type Stats struct {
	// EventsDropped counts events not delivered because the event queue
	// was full (see Config.EventQueue and Event.Missed).
	EventsDropped uint64
	// IntentsSent and IntentsUnsent count this node's intent-to-leave sent
	// directly to a peer, successfully or not (error or Leave's timeout).
	IntentsSent, IntentsUnsent uint64
	// IntentsReceived counts valid intents-to-leave from peers, including
	// repeats relayed by gossip.
	IntentsReceived uint64
	// BadMessages counts user messages from peers that did not decode.
	BadMessages uint64
	// BadMeta counts alive messages refused because the node meta did not
	// decode.
	BadMeta uint64
	// Rejoins counts rejoin rounds that had addresses to contact;
	// RejoinFailures the rounds that reached none of them.
	Rejoins, RejoinFailures uint64
}

type phase uint8

const (
	phaseNew phase = iota
	phaseRunning
	phaseClosed
)

// Membership runs memberlist for one node and keeps the member table. See
// the package documentation.
type Membership struct {
	cfg   Config
	log   *slog.Logger
	meta  []byte
	d     *delegate
	bcast *memberlist.TransmitLimitedQueue
	// aliveN is the number of up members (alive or suspect, as memberlist
	// counts them), read by bcast to scale retransmissions without taking
	// mu.
	aliveN atomic.Int64

	// lifeMu serialises Start, Leave and Shutdown (memberlist's Leave
	// panics after its Shutdown). It is held across memberlist calls that
	// run callbacks, so it must never be taken with mu held.
	lifeMu    sync.Mutex
	stop      chan struct{}  // closed by Shutdown: ends the rejoin loop
	wg        sync.WaitGroup // rejoin loop and intent senders
	delivered chan struct{}  // closed when the delivery goroutine returns

	// subMu guards subs; a leaf lock.
	subMu sync.Mutex
	subs  []*subscription

	// mu guards everything below. memberlist callbacks take it while
	// memberlist holds its node lock: never call memberlist with mu held.
	mu     sync.Mutex
	phase  phase
	left   bool
	ml     *memberlist.Memberlist
	self   map[netip.AddrPort]bool // addresses that reach this node
	port   uint16                  // the bound (advertised) gossip port
	tbl    *table
	events chan Event
	missed uint64
	stats  Stats
}

// New validates and copies cfg. It does not touch the network; Start does.
func New(cfg Config) (*Membership, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.JoinAddrs = slices.Clone(cfg.JoinAddrs)
	cfg.SecretKey = slices.Clone(cfg.SecretKey)
	for cfg.Meta.BootID == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		cfg.Meta.BootID = binary.BigEndian.Uint64(b[:])
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pc, _ := profileConfig(cfg.Profile)
	m := &Membership{
		cfg:       cfg,
		log:       cfg.Logger,
		meta:      encodeMeta(cfg.Meta),
		stop:      make(chan struct{}),
		delivered: make(chan struct{}),
		tbl:       newTable(cfg.Name),
		events:    make(chan Event, cfg.EventQueue),
	}
	m.d = &delegate{m}
	m.bcast = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return int(m.aliveN.Load()) },
		RetransmitMult: pc.RetransmitMult,
	}
	return m, nil
}

// Subscribe makes fn receive every event queued from now on, in order, one
// at a time, on the delivery goroutine; it may be called at any time, also
// before Start (to see this node's own EventJoined). An event queued just
// before Subscribe may still reach fn: read Members after subscribing and
// treat events as idempotent updates. A slow fn delays the other
// subscribers and, past Config.EventQueue events, makes events drop
// (counted, Event.Missed). cancel stops the subscription and returns once
// fn is not running; neither cancel nor Shutdown may be called from inside
// fn (they would wait for fn itself).
func (m *Membership) Subscribe(fn func(Event)) (cancel func()) {
	s := &subscription{fn: fn}
	m.subMu.Lock()
	m.subs = append(m.subs, s)
	m.subMu.Unlock()
	return func() {
		m.subMu.Lock()
		m.subs = slices.DeleteFunc(m.subs, func(o *subscription) bool { return o == s })
		m.subMu.Unlock()
		s.mu.Lock()
		s.cancelled = true
		s.mu.Unlock()
	}
}

// subscription is one Subscribe. mu is held while fn runs, so cancel can
// wait for a running call.
type subscription struct {
	fn        func(Event)
	mu        sync.Mutex
	cancelled bool
}

// Start binds memberlist's port, makes this node a member of its own
// one-node cluster (its EventJoined) and starts the rejoin loop, whose
// first round, at once, contacts JoinAddrs. Start does not wait for that
// join: wait for events, or call Join. A failed Start leaves the
// Membership closed.
func (m *Membership) Start() error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.mu.Lock()
	switch m.phase {
	case phaseRunning:
		m.mu.Unlock()
		return ErrStarted
	case phaseClosed:
		m.mu.Unlock()
		return ErrClosed
	}
	m.phase = phaseRunning
	m.mu.Unlock()

	go m.deliver()
	ml, err := memberlist.Create(m.cfg.memberlistConfig(m.d))
	if err != nil {
		m.mu.Lock()
		m.phase = phaseClosed
		close(m.events)
		m.mu.Unlock()
		<-m.delivered
		return fmt.Errorf("membership: start: %w", err)
	}
	local := ml.LocalNode()
	self := selfAddrs(m.cfg.BindAddr, local.Addr, local.Port)
	m.mu.Lock()
	m.ml, m.self, m.port = ml, self, local.Port
	m.mu.Unlock()
	m.log.Info("membership started", "name", m.cfg.Name, "addr", net.JoinHostPort(local.Addr.String(), strconv.Itoa(int(local.Port))),
		"boot", fmt.Sprintf("%016x", m.cfg.Meta.BootID), "profile", m.cfg.Profile, "encrypted", len(m.cfg.SecretKey) > 0)
	m.wg.Add(1)
	go m.rejoinLoop()
	return nil
}

// Join contacts the given host:port addresses (this node's own skipped)
// and merges state with each; it returns how many were reached, and
// ErrJoin when there were addresses to try and none was reached.
func (m *Membership) Join(addrs ...string) (int, error) {
	m.mu.Lock()
	ml, err := m.usableLocked()
	var targets []string
	for _, a := range addrs {
		if !m.isSelfLocked(a) {
			targets = append(targets, a)
		}
	}
	m.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if len(targets) == 0 {
		return 0, nil
	}
	n, err := ml.Join(targets)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("%w: %v", ErrJoin, err)
	}
	return n, nil
}

// Leave leaves the cluster gracefully, so the others report EventLeft
// rather than EventFailed: it sends an intent-to-leave to every up
// member directly (a packet, then TCP) and by gossip, waits until the
// gossip copy has been handed out (its retransmit limit, about two gossip
// intervals), then has memberlist announce the departure, waiting at most
// timeout (which must be positive) in all. The node stops rejoining; call Shutdown next. A
// second Leave is a no-op.
func (m *Membership) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("%w: leave timeout must be positive, got %v", ErrInvalidConfig, timeout)
	}
	deadline := time.Now().Add(timeout)
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.mu.Lock()
	ml, err := m.usableLocked()
	if err != nil {
		m.mu.Unlock()
		if errors.Is(err, ErrLeft) {
			return nil
		}
		return err
	}
	m.left = true
	in := intent{Name: m.cfg.Name, Boot: m.cfg.Meta.BootID}
	m.tbl.intent(in)
	var peers []*memberlist.Node
	for _, mem := range m.tbl.snapshot() {
		if mem.State.Up() && mem.Name != m.cfg.Name {
			ip := mem.Addr.Addr()
			peers = append(peers, &memberlist.Node{Name: mem.Name, Addr: ip.AsSlice(), Port: mem.Addr.Port()})
		}
	}
	m.mu.Unlock()

	msg := encodeIntent(in)
	gossip := &intentBroadcast{in: in, msg: msg, done: make(chan struct{})}
	m.bcast.QueueBroadcast(gossip)
	m.sendIntent(ml, peers, msg, deadline)
	if len(peers) > 0 {
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-gossip.done:
		case <-timer.C:
			m.log.Warn("membership intent-to-leave not fully gossiped before the leave timeout")
		}
		timer.Stop()
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		wait = time.Millisecond // memberlist waits forever on 0
	}
	if err := ml.Leave(wait); err != nil {
		return fmt.Errorf("%w: %v", ErrLeaveTimeout, err)
	}
	m.log.Info("membership left", "name", m.cfg.Name)
	return nil
}

// sendIntent sends msg to every peer as a packet, then over memberlist's
// reliable (TCP) channel, concurrently, until all are done or the
// deadline. A send still running at the deadline finishes in the
// background (bounded by memberlist's TCP timeout); Shutdown waits for it.
//
// The packet is what orders the intent before the departure: a peer hands
// the packets it reads (user messages and memberlist's dead messages
// alike) to one queue, in order, while a TCP message is handled on a
// connection of its own, which a loaded peer may get to after the
// departure memberlist announces next. TCP is for a packet lost.
func (m *Membership) sendIntent(ml *memberlist.Memberlist, peers []*memberlist.Node, msg []byte, deadline time.Time) {
	for _, n := range peers {
		if err := ml.SendBestEffort(n, msg); err != nil {
			m.log.Debug("membership intent-to-leave packet not sent", "peer", n.Name, "err", err)
		}
	}
	results := make(chan error, len(peers))
	for _, n := range peers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			results <- ml.SendReliable(n, msg)
		}()
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var sent, unsent uint64
wait:
	for range peers {
		select {
		case err := <-results:
			if err != nil {
				unsent++
				m.log.Warn("membership intent-to-leave not sent", "err", err)
			} else {
				sent++
			}
		case <-timer.C:
			unsent = uint64(len(peers)) - sent
			break wait
		}
	}
	m.mu.Lock()
	m.stats.IntentsSent += sent
	m.stats.IntentsUnsent += unsent
	m.mu.Unlock()
}

// Shutdown stops memberlist without leaving (the others see a failure,
// unless Leave came first), delivers the events already queued, and
// returns once every goroutine this package started has ended. No event
// is queued once Shutdown has begun. Idempotent; safe before Start.
func (m *Membership) Shutdown() error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.mu.Lock()
	if m.phase == phaseClosed {
		m.mu.Unlock()
		return nil
	}
	started := m.phase == phaseRunning
	m.phase = phaseClosed
	close(m.events)
	ml := m.ml
	m.mu.Unlock()
	if !started {
		return nil
	}
	close(m.stop)
	err := ml.Shutdown()
	m.wg.Wait()
	<-m.delivered
	if err != nil {
		return fmt.Errorf("membership: shutdown: %w", err)
	}
	return nil
}

// usableLocked returns memberlist if Join and Leave may use it.
func (m *Membership) usableLocked() (*memberlist.Memberlist, error) {
	switch {
	case m.phase == phaseClosed:
		return nil, ErrClosed
	case m.phase == phaseNew || m.ml == nil:
		return nil, ErrNotStarted
	case m.left:
		return nil, ErrLeft
	}
	return m.ml, nil
}

// deliver hands queued events to the subscribers until Shutdown closes the
// queue.
func (m *Membership) deliver() {
	defer close(m.delivered)
	for ev := range m.events {
		m.subMu.Lock()
		subs := slices.Clone(m.subs)
		m.subMu.Unlock()
		for _, s := range subs {
			s.mu.Lock()
			if !s.cancelled {
				s.fn(ev)
			}
			s.mu.Unlock()
		}
	}
}

// emitLocked queues events without ever blocking: memberlist's callbacks
// must not wait for subscribers.
func (m *Membership) emitLocked(evs []Event) {
	if len(evs) == 0 {
		return
	}
	c := m.tbl.counts()
	m.aliveN.Store(int64(c.Alive + c.Suspect))
	if m.phase == phaseClosed {
		return
	}
	for _, ev := range evs {
		m.log.Info("membership "+ev.Kind.String(), "node", ev.Member.Name, "boot", fmt.Sprintf("%016x", ev.Member.Meta.BootID),
			"addr", ev.Member.Addr.String(), "restart", ev.Restart)
		ev.Missed = m.missed
		select {
		case m.events <- ev:
			m.missed = 0
		default:
			if m.missed == 0 {
				m.log.Warn("membership event queue full, dropping events", "queue", cap(m.events))
			}
			m.missed++
			m.stats.EventsDropped++
		}
	}
}

func (m *Membership) onAlive(n *memberlist.Node) {
	info, err := nodeInfoOf(n)
	if err != nil {
		m.badMeta(n.Name, err)
		return
	}
	m.update(func(now time.Time) []Event { return m.tbl.alive(info, now) })
}

func (m *Membership) onDown(name string) {
	m.update(func(now time.Time) []Event { return m.tbl.down(name, now) })
}

// onProbeFailed handles this node's failed probe of name, learned from
// memberlist's log (logbridge.go). It runs on memberlist's probe
// goroutine, inside its logger's Write, so like the delegates it only
// updates the table and queues events.
func (m *Membership) onProbeFailed(name string) {
	m.update(func(now time.Time) []Event { return m.tbl.probeFailed(name, now) })
}

// onProbeAnswered handles an ack to this node's direct probe of name
// (memberlist's PingDelegate), once per successful probe of any member.
func (m *Membership) onProbeAnswered(name string) {
	m.update(func(now time.Time) []Event { return m.tbl.probeAnswered(name, now) })
}

// update applies a change to the table, unless the membership is closed,
// and queues the events it makes.
func (m *Membership) update(change func(now time.Time) []Event) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.phase != phaseClosed {
		m.emitLocked(change(now))
	}
}

// onMessage handles a user message from a peer. A new intent is also
// queued for gossip here, so it spreads like the departure it announces
// and reaches nodes the leaving node could not reach directly.
func (m *Membership) onMessage(b []byte) {
	in, err := decodeMessage(b)
	m.mu.Lock()
	if err != nil {
		m.stats.BadMessages++
		m.mu.Unlock()
		m.log.Debug("membership bad message", "err", err)
		return
	}
	m.stats.IntentsReceived++
	applied := m.phase != phaseClosed && m.tbl.intent(in)
	m.mu.Unlock()
	if applied {
		m.bcast.QueueBroadcast(&intentBroadcast{in: in, msg: encodeIntent(in)})
	}
}

func (m *Membership) badMeta(name string, err error) {
	m.mu.Lock()
	m.stats.BadMeta++
	first := m.stats.BadMeta == 1
	m.mu.Unlock()
	lvl := slog.LevelDebug
	if first {
		lvl = slog.LevelWarn
	}
	m.log.Log(context.Background(), lvl, "membership refused a node with bad meta", "node", name, "err", err)
}

// rejoinLoop runs a rejoin round at once, then every RejoinInterval.
func (m *Membership) rejoinLoop() {
	defer m.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.rejoin(time.Now())
		t.Reset(m.cfg.RejoinInterval)
	}
}

// rejoin reaps old members, then contacts the dead members and the join
// addresses that are not up members, so a partition heals and a node
// that started before its seeds finds them.
func (m *Membership) rejoin(now time.Time) {
	m.mu.Lock()
	ml, err := m.usableLocked()
	if err != nil {
		m.mu.Unlock()
		return
	}
	m.emitLocked(m.tbl.reap(now, m.cfg.ReapAfter))
	seen := make(map[string]bool)
	var targets []string
	for _, a := range m.tbl.failedAddrs() {
		seen[a.String()] = true
		targets = append(targets, a.String())
	}
	for _, mem := range m.tbl.snapshot() {
		if mem.State.Up() {
			seen[mem.Addr.String()] = true
		}
	}
	for _, a := range m.cfg.JoinAddrs {
		if ap, err := netip.ParseAddrPort(a); err == nil {
			a = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
		}
		if !seen[a] && !m.isSelfLocked(a) {
			seen[a] = true
			targets = append(targets, a)
		}
	}
	m.mu.Unlock()
	if len(targets) == 0 {
		return
	}
	n, err := ml.Join(targets)
	m.mu.Lock()
	m.stats.Rejoins++
	if n == 0 {
		m.stats.RejoinFailures++
	}
	m.mu.Unlock()
	m.log.Debug("membership rejoin", "targets", targets, "reached", n, "err", err)
}

// selfAddrs returns the gossip addresses that reach this node: the
// advertised one, the bound one, and when bound to an unspecified address,
// the unspecified address and every local interface address, all on the
// bound port.
func selfAddrs(bindAddr string, advertise net.IP, port uint16) map[netip.AddrPort]bool {
	self := make(map[netip.AddrPort]bool)
	add := func(ip netip.Addr) { self[netip.AddrPortFrom(ip.Unmap(), port)] = true }
	if ip, ok := netip.AddrFromSlice(advertise); ok {
		add(ip)
	}
	bind, err := netip.ParseAddr(bindAddr)
	if err != nil {
		return self
	}
	add(bind)
	if bind.IsUnspecified() {
		add(netip.IPv4Unspecified())
		add(netip.IPv6Unspecified())
		ifAddrs, _ := net.InterfaceAddrs()
		for _, a := range ifAddrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				add(p.Addr())
			}
		}
	}
	return self
}

// isSelfLocked reports whether addr, host:port or a bare host (meaning the
// bound port), is a literal IP address of this node.
func (m *Membership) isSelfLocked(addr string) bool {
	if len(m.self) == 0 {
		return false
	}
	port := int(m.port)
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	} else if port, err = strconv.Atoi(p); err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || port < 0 || port > 65535 {
		return false
	}
	return m.self[netip.AddrPortFrom(ip.Unmap(), uint16(port))]
}

// Members returns every member in the table, this node included, sorted
// by name: alive and suspect ones, and dead or left ones not reaped yet.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tbl.snapshot()
}

// Member returns the member named name.
func (m *Membership) Member(name string) (Member, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tbl.get(name)
}

// Local returns this node as a member. After Start, Addr is the gossip
// address peers use, with the bound port (BindPort 0 is resolved). Before
// Start, only Name and Meta are set.
func (m *Membership) Local() Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mem, ok := m.tbl.get(m.cfg.Name); ok {
		return mem
	}
	return Member{Name: m.cfg.Name, Meta: m.cfg.Meta}
}

// HealthScore is memberlist's awareness score of this node: 0 when
// healthy, rising (up to the profile's awareness maximum, 8 by default)
// while this node's own probes and acks are late, which points at this
// node (overloaded, cut off) more than at its peers. -1 when membership
// is not running.
func (m *Membership) HealthScore() int {
	m.mu.Lock()
	ml, err := m.usableLocked()
	m.mu.Unlock()
	if err != nil {
		return -1
	}
	return ml.GetHealthScore()
}

// Voters returns the names of the up members (alive or suspect), this node
// included, that advertise RoleVoter, sorted.
func (m *Membership) Voters() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tbl.names(RoleVoter)
}

// Clients returns the names of the up members (alive or suspect) that
// advertise RoleClient, sorted.
func (m *Membership) Clients() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tbl.names(RoleClient)
}

// Counts returns the members by state.
func (m *Membership) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tbl.counts()
}

// Stats returns the cumulative counters.
func (m *Membership) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}
