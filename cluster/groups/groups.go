package groups

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
)

// Mesh is what the service uses of the internode transport;
// *transport.Endpoint implements it.
type Mesh interface {
	Register(st transport.StreamType, h transport.Handler) error
	OnSessionUp(f func(transport.SessionEvent)) error
	OnSessionLost(f func(transport.SessionEvent)) error
	Send(name string, st transport.StreamType, body []byte) error
}

var _ Mesh = (*transport.Endpoint)(nil)

// Notifier hands a subscriber its events; *runtime.Runtime implements it.
type Notifier interface {
	Notify(to pid.PID, topic string, payload msg.Value)
}

var _ Notifier = (*runtime.Runtime)(nil)

// Groups is one node's process groups: the pure Table, shipped to the
// other nodes over the mesh's groups stream, and the subscriptions of
// local processes. See the package documentation.
type Groups struct {
	cfg  Config
	log  *slog.Logger
	mesh Mesh // nil: a node with no cluster
	note atomic.Pointer[notifier]

	mu       sync.Mutex // orders every change, its frames and its events
	table    *Table
	peers    map[string]*peer // sessions up
	subs     map[uint64]*sub
	watch    map[Key]map[uint64]*sub    // monitors of one group
	watchAll map[string]map[uint64]*sub // event subscriptions of a scope
	bySub    map[pid.PID][]uint64
	nextSub  uint64
	turn     int // the anti-entropy round robin
	buf      []byte
	logged   map[string]time.Time // throttle of warnings, by what

	ctr       counters
	stop      chan struct{}
	wg        sync.WaitGroup
	startOnce sync.Once
	stopOnce  sync.Once
}

type notifier struct{ n Notifier }

// peer is another node with a session up.
type peer struct {
	boot    uint64
	asked   bool   // a state request is on its way
	pending *State // the parts of a state received so far
	part    uint64 // the next part expected
}

// sub is one subscription of a local process.
type sub struct {
	id    uint64
	owner pid.PID
	scope string
	group string // "" = every group of scope
}

// New returns the service of cfg. With a mesh, it registers its stream
// and session hooks there (before the mesh starts); without one the
// groups are this node's alone.
func New(cfg Config, mesh Mesh) (*Groups, error) {
	def := DefaultConfig()
	if cfg.MaxMembersPerNode == 0 {
		cfg.MaxMembersPerNode = def.MaxMembersPerNode
	}
	if cfg.MaxSubscriptions == 0 {
		cfg.MaxSubscriptions = def.MaxSubscriptions
	}
	if cfg.StatePart == 0 {
		cfg.StatePart = def.StatePart
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Groups{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Node), mesh: mesh,
		table: NewTable(cfg.Node, cfg.Boot, cfg.MaxMembersPerNode),
		peers: map[string]*peer{}, subs: map[uint64]*sub{}, watch: map[Key]map[uint64]*sub{},
		watchAll: map[string]map[uint64]*sub{}, bySub: map[pid.PID][]uint64{},
		logged: map[string]time.Time{}, stop: make(chan struct{}),
	}
	for _, s := range cfg.Scopes {
		g.table.AddScope(s.ID, s.Limits)
	}
	if mesh == nil {
		return g, nil
	}
	if err := mesh.Register(transport.StreamGroups, g.handle); err != nil {
		return nil, fmt.Errorf("groups: register stream: %w", err)
	}
	if err := mesh.OnSessionUp(g.sessionUp); err != nil {
		return nil, fmt.Errorf("groups: session hook: %w", err)
	}
	if err := mesh.OnSessionLost(g.sessionLost); err != nil {
		return nil, fmt.Errorf("groups: session hook: %w", err)
	}
	return g, nil
}

// Bind gives the service the runtime that hands subscribers their
// events. Events before Bind are not sent.
func (g *Groups) Bind(n Notifier) { g.note.Store(&notifier{n}) }

// Start starts the anti-entropy loop (with a mesh and an interval).
func (g *Groups) Start() {
	g.startOnce.Do(func() {
		if g.mesh == nil || g.cfg.AntiEntropy == 0 {
			return
		}
		g.wg.Add(1)
		go g.antiEntropy()
	})
}

// Stop ends the anti-entropy loop. Idempotent.
func (g *Groups) Stop() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.wg.Wait()
}

func (g *Groups) antiEntropy() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.AntiEntropy)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.sendDigest()
		}
	}
}

// sendDigest sends this node's digest to the next peer in turn.
func (g *Groups) sendDigest() {
	g.mu.Lock()
	defer g.mu.Unlock()
	names := make([]string, 0, len(g.peers))
	for n := range g.peers {
		names = append(names, n)
	}
	if len(names) == 0 {
		return
	}
	slices.Sort(names)
	g.turn++
	boot, seq := g.table.Digest()
	g.send(names[g.turn%len(names)], AppendDigest(g.buf[:0], boot, seq))
	g.ctr.digests.Add(1)
}

// --- runtime.GroupService ---

var _ runtime.GroupService = (*Groups)(nil)

// HasScope implements runtime.GroupService.
func (g *Groups) HasScope(scope string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.table.HasScope(scope)
}

// Join implements runtime.GroupService.
func (g *Groups) Join(scope string, groups []string, p pid.PID) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, evs, err := g.table.Join(scope, groups, p)
	if err != nil {
		return err
	}
	g.announce(&d, evs)
	return nil
}

// Leave implements runtime.GroupService.
func (g *Groups) Leave(scope string, groups []string, p pid.PID) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, evs, err := g.table.Leave(scope, groups, p)
	if err != nil {
		return err
	}
	g.announce(&d, evs)
	return nil
}

// ReleasePID implements runtime.GroupService.
func (g *Groups) ReleasePID(p pid.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range g.bySub[p] {
		g.unsubscribe(id)
	}
	delete(g.bySub, p)
	if d, evs, ok := g.table.LeaveAll(p); ok {
		g.announce(&d, evs)
	}
}

// Members implements runtime.GroupService.
func (g *Groups) Members(scope, group string, local bool) []pid.PID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.table.Members(scope, group, local)
}

// Groups implements runtime.GroupService.
func (g *Groups) Groups(scope string, local bool) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.table.Groups(scope, local)
}

// Targets implements runtime.GroupService.
func (g *Groups) Targets(scope, group string) ([]pid.PID, []string) {
	g.mu.Lock()
	t := g.table.Targets(scope, group)
	g.mu.Unlock()
	return t.Local, t.Nodes
}

// Subscribe implements runtime.GroupService.
func (g *Groups) Subscribe(scope, group string, p pid.PID) (uint64, map[string][]pid.PID, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !g.table.HasScope(scope):
		return 0, nil, ErrNoScope
	case len(group) > MaxName:
		return 0, nil, ErrBadGroup
	case len(g.subs) >= g.cfg.MaxSubscriptions:
		return 0, nil, ErrTooManySubscriptions
	}
	g.nextSub++
	s := &sub{id: g.nextSub, owner: p, scope: scope, group: group}
	g.subs[s.id] = s
	g.bySub[p] = append(g.bySub[p], s.id)
	var snap map[string][]pid.PID
	if group == "" {
		add(g.watchAll, scope, s)
		snap = g.table.Snapshot(scope)
	} else {
		add(g.watch, Key{scope, group}, s)
		snap = map[string][]pid.PID{group: g.table.Members(scope, group, false)}
	}
	return s.id, snap, nil
}

func add[K comparable](m map[K]map[uint64]*sub, k K, s *sub) {
	if m[k] == nil {
		m[k] = map[uint64]*sub{}
	}
	m[k][s.id] = s
}

// Unsubscribe implements runtime.GroupService.
func (g *Groups) Unsubscribe(id uint64, p pid.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.subs[id]; s != nil && s.owner == p {
		g.unsubscribe(id)
		ids := slices.DeleteFunc(g.bySub[p], func(x uint64) bool { return x == id })
		if len(ids) == 0 {
			delete(g.bySub, p)
		} else {
			g.bySub[p] = ids
		}
	}
}

// unsubscribe forgets subscription id (not its owner's list). Called with
// mu held.
func (g *Groups) unsubscribe(id uint64) {
	s := g.subs[id]
	if s == nil {
		return
	}
	delete(g.subs, id)
	if s.group == "" {
		drop(g.watchAll, s.scope, id)
	} else {
		drop(g.watch, Key{s.scope, s.group}, id)
	}
}

func drop[K comparable](m map[K]map[uint64]*sub, k K, id uint64) {
	delete(m[k], id)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// --- changes out ---

// announce sends a local change to every peer and its events to the
// subscribers. Called with mu held, so peers get deltas in sequence.
func (g *Groups) announce(d *Delta, evs []Event) {
	if len(g.peers) > 0 {
		g.buf = AppendDelta(g.buf[:0], d)
		for name := range g.peers {
			g.send(name, g.buf)
		}
		g.ctr.deltasOut.Add(1)
	}
	g.dispatch(evs)
}

// dispatch hands events to the subscribers of their groups and scopes.
// Called with mu held: every subscriber sees changes in table order.
func (g *Groups) dispatch(evs []Event) {
	n := g.note.Load()
	if n == nil {
		return
	}
	for _, ev := range evs {
		one, all := g.watch[ev.Key], g.watchAll[ev.Scope]
		if len(one) == 0 && len(all) == 0 {
			continue
		}
		kind := "member.left"
		if ev.Joined {
			kind = "member.joined"
		}
		pids := make([]msg.Value, len(ev.PIDs))
		for i, p := range ev.PIDs {
			pids[i] = msg.PIDValue(p)
		}
		list := msg.List(pids...)
		for _, set := range []map[uint64]*sub{one, all} {
			for _, s := range sorted(set) {
				n.n.Notify(s.owner, proc.TopicGroupEvent, msg.StringMap(map[string]msg.Value{
					"id": msg.Int(int64(s.id)), "kind": msg.String(kind),
					"group": msg.String(ev.Group), "pids": list,
				}))
				g.ctr.events.Add(1)
			}
		}
	}
}

// sorted returns a set's subscriptions by id: the order they were made.
func sorted(set map[uint64]*sub) []*sub {
	out := make([]*sub, 0, len(set))
	for _, s := range set {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *sub) int { return cmp.Compare(a.id, b.id) })
	return out
}

// send queues body for peer on the groups stream. Called with mu held.
func (g *Groups) send(name string, body []byte) {
	if err := g.mesh.Send(name, transport.StreamGroups, body); err != nil {
		// A peer that does not serve the stream (an older version), or a
		// session lost: its lost event follows and the next session
		// starts with a full state.
		g.ctr.sendErrors.Add(1)
		if !errors.Is(err, transport.ErrQueueFull) {
			g.warn("send:"+name, "groups: send", "peer", name, "err", err)
		}
	}
}

// sendState sends this node's full state to peer, in parts. Called with
// mu held.
func (g *Groups) sendState(name string) {
	st := g.table.State()
	parts := splitState(st.Members, g.cfg.StatePart)
	for i, part := range parts {
		g.buf = AppendStatePart(g.buf[:0], st.Boot, st.Seq, uint64(i), i == len(parts)-1, part)
		g.send(name, g.buf)
	}
	g.ctr.statesOut.Add(1)
}

// warn logs at most once a minute per key.
func (g *Groups) warn(key, m string, args ...any) {
	now := g.cfg.Now()
	if t, ok := g.logged[key]; ok && now.Sub(t) < time.Minute {
		return
	}
	if len(g.logged) > 1024 {
		clear(g.logged)
	}
	g.logged[key] = now
	g.log.Warn(m, args...)
}
