package eventual

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/transport"
)

// Streams is what the plane needs of the internode transport
// (*transport.Endpoint satisfies it): a handler for the names stream,
// registered before the endpoint starts, and Send, which queues a body for
// a peer and returns at once.
type Streams interface {
	Register(st transport.StreamType, h transport.Handler) error
	Send(name string, st transport.StreamType, body []byte) error
}

var _ Streams = (*transport.Endpoint)(nil)

// PeerSource is the membership the plane follows: the bindings of a node
// count while membership reports it up (alive or suspect). node adapts
// cluster/membership to it.
type PeerSource interface {
	// Up returns the names of the members that are alive or suspect,
	// this node included or not. The slice is the caller's.
	Up() []string
	// OnChange registers f, called after membership changed; f does not
	// block. The returned function unregisters it.
	OnChange(f func()) (cancel func())
}

// Plane is one node's EVENTUAL names: its Replica, kept in step with the
// other nodes' over the names stream. See the package documentation.
type Plane struct {
	cfg   Config
	log   *slog.Logger
	out   Streams
	peers PeerSource

	mu     sync.RWMutex
	r      *Replica
	up     []string             // peers up, sorted, this node excluded
	pages  map[[2]string]*build // states being received, by (sender, origin)
	revoke atomic.Pointer[func(string, pid.PID)]

	wake     chan struct{}
	stopping chan struct{}
	done     chan struct{}
	started  atomic.Bool
	closed   sync.Once
	cancel   func()

	deltasOut, deltasIn, digestsIn, statesIn atomic.Uint64
	bad, sendFailed, full                    atomic.Uint64
}

// build is a state arriving in pages.
type build struct {
	v    Version
	next int
	bs   []Binding
}

// New returns the plane of cfg.Node and registers its handler on the names
// stream of streams, which must not be started yet. Nothing runs until
// Start.
func New(cfg Config, streams Streams, peers PeerSource) (*Plane, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Plane{
		cfg: cfg, log: cfg.Logger.With("component", "eventual", "node", cfg.Node), out: streams, peers: peers,
		r:     NewReplica(cfg.Node, uint64(time.Now().UnixNano()), cfg.MaxNames),
		pages: make(map[[2]string]*build),
		wake:  make(chan struct{}, 1), stopping: make(chan struct{}), done: make(chan struct{}),
	}
	if err := streams.Register(transport.StreamNames, p.handle); err != nil {
		return nil, err
	}
	return p, nil
}

// Start follows membership and starts anti-entropy. Call once, after the
// endpoint started.
func (p *Plane) Start() {
	if !p.started.CompareAndSwap(false, true) {
		return
	}
	p.cancel = p.peers.OnChange(func() { signal(p.wake) })
	p.follow()
	go p.loop()
}

// Close stops the plane. Its bindings stay on the other nodes until
// membership reports this node gone.
func (p *Plane) Close() {
	p.closed.Do(func() {
		close(p.stopping)
		if p.started.Load() {
			p.cancel()
			<-p.done
		}
	})
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (p *Plane) loop() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-p.wake:
			p.follow()
		case <-t.C:
			p.mu.RLock()
			var to string
			if len(p.up) > 0 {
				to = p.up[rand.IntN(len(p.up))]
			}
			p.mu.RUnlock()
			if to != "" {
				p.sendDigest(to, false)
			}
		case <-p.stopping:
			return
		}
	}
}

// follow applies membership: the bindings of nodes no longer up go, and a
// node newly up gets this node's digest, so the two catch up at once.
func (p *Plane) follow() {
	up := map[string]bool{}
	var peers []string
	for _, n := range p.peers.Up() {
		if n != p.cfg.Node && !up[n] {
			up[n] = true
			peers = append(peers, n)
		}
	}
	slices.Sort(peers)
	p.mu.Lock()
	p.r.SetUp(up)
	old := p.up
	p.up = peers
	p.mu.Unlock()
	for _, n := range peers {
		if !slices.Contains(old, n) {
			p.sendDigest(n, false)
		}
	}
}

// OnRevoke sets the callback for a name taken from a process of this node
// because another node's registration of it won a conflict. It runs on
// the goroutine that merged the winner and must not block.
func (p *Plane) OnRevoke(f func(name string, p pid.PID)) {
	if f == nil {
		p.revoke.Store(nil)
		return
	}
	p.revoke.Store(&f)
}

// Register gives name to q, a process of this node, on every node without
// waiting for any: nil, ALREADY_EXISTS when another process holds it as
// far as this node knows, UNAVAILABLE past MaxNames, INVALID for a
// process of another node. Registering a name q holds is a no-op.
func (p *Plane) Register(_ context.Context, name string, q pid.PID) error {
	p.mu.Lock()
	d, owner, err := p.r.Register(name, q, uint64(time.Now().UnixNano()))
	p.mu.Unlock()
	switch {
	case errors.Is(err, ErrFull):
		if n := p.full.Add(1); n&(n-1) == 0 {
			p.log.Warn("eventual namespace full: registration refused", "max_names", p.cfg.MaxNames, "refused", n)
		}
		return registry.Wrap(err, name)
	case err != nil:
		return registry.WrapHeld(err, name, owner)
	}
	p.publish(d)
	return nil
}

// Unregister removes name if owner, a process of this node, holds it:
// NOT_FOUND when nobody holds it, PERMISSION_DENIED when another process
// does (including one of another node: its node owns the binding).
func (p *Plane) Unregister(_ context.Context, name string, owner pid.PID) error {
	p.mu.Lock()
	d, holder, err := p.r.Unregister(name, owner)
	p.mu.Unlock()
	if err != nil {
		return registry.WrapHeld(err, name, holder)
	}
	p.publish(d)
	return nil
}

// ReleasePID removes the names of q, a process of this node that ended.
func (p *Plane) ReleasePID(q pid.PID) {
	if q.Node != p.cfg.Node {
		return
	}
	p.mu.Lock()
	d := p.r.ReleasePID(q)
	p.mu.Unlock()
	p.publish(d)
}

// Resolve returns the holder of name: the winner among the bindings this
// node holds. It never waits.
func (p *Plane) Resolve(name string) (pid.PID, bool) {
	p.mu.RLock()
	b, ok := p.r.Resolve(name)
	p.mu.RUnlock()
	return b.PID, ok
}

// List returns the names with their holders, sorted, when there are at
// most limit (nil otherwise), and how many there are.
func (p *Plane) List(limit int) ([]registry.Entry, int) {
	p.mu.RLock()
	bs, n := p.r.List(limit)
	p.mu.RUnlock()
	if bs == nil {
		return nil, n
	}
	out := make([]registry.Entry, len(bs))
	for i, b := range bs {
		out[i] = registry.Entry{Name: b.Name, PID: b.PID}
	}
	return out, n
}

// publish sends a change of this node to every peer up: as a delta, or,
// when it is larger than a page, as a digest after which they fetch the
// state.
func (p *Plane) publish(d *Delta) {
	if d == nil {
		return
	}
	body := encodeDelta(d)
	p.mu.RLock()
	peers := p.up
	p.mu.RUnlock()
	if len(body) > p.cfg.PageBytes {
		for _, n := range peers {
			p.sendDigest(n, false)
		}
		return
	}
	for _, n := range peers {
		p.send(n, body)
	}
	p.deltasOut.Add(1)
}

func (p *Plane) send(to string, body []byte) {
	if err := p.out.Send(to, transport.StreamNames, body); err != nil {
		p.sendFailed.Add(1) // anti-entropy repairs it
	}
}

func (p *Plane) sendDigest(to string, reply bool) {
	p.mu.RLock()
	d := p.r.Digest()
	p.mu.RUnlock()
	p.send(to, encodeDigest(d, reply))
}

// handle is the names stream's handler: messages of one peer, in order.
func (p *Plane) handle(from transport.Peer, body []byte) {
	m, err := decode(body, p.cfg.MaxNames)
	if err != nil {
		p.bad.Add(1)
		p.log.Debug("bad names message", "from", from.Name, "err", err)
		return
	}
	switch m.kind {
	case kindDelta:
		if m.delta.Origin != from.Name {
			p.bad.Add(1)
			return
		}
		p.deltasIn.Add(1)
		p.mu.Lock()
		out := p.r.ApplyDelta(m.delta)
		p.mu.Unlock()
		if out.Behind {
			p.sendDigest(from.Name, false)
		}
		p.settled(out)
	case kindDigest:
		p.digestsIn.Add(1)
		p.answerDigest(from.Name, m.digest, m.reply)
	case kindState:
		p.receivePage(from.Name, m.page)
	}
}

// answerDigest sends peer the states this node holds newer than its
// digest says, and, for a first digest that shows peer newer somewhere,
// this node's digest so that peer sends those.
func (p *Plane) answerDigest(peer string, d []DigestEntry, reply bool) {
	p.mu.RLock()
	newer, behind := p.r.Compare(d)
	states := make([]State, 0, len(newer))
	for _, o := range newer {
		if s, ok := p.r.StateOf(o); ok {
			states = append(states, s)
		}
	}
	p.mu.RUnlock()
	for _, s := range states {
		for _, b := range encodeState(s, p.cfg.PageBytes) {
			p.send(peer, b)
		}
	}
	if behind && !reply {
		p.sendDigest(peer, true)
	}
}

// receivePage collects the pages of a state from one sender, in order,
// and merges the state when the last one arrives. A page out of order
// drops what was collected (the next anti-entropy round sends it again).
func (p *Plane) receivePage(from string, pg page) {
	key := [2]string{from, pg.state.Origin}
	p.mu.Lock()
	b := p.pages[key]
	if pg.index == 0 {
		b = &build{v: pg.state.Version}
		p.pages[key] = b
	}
	if b == nil || b.v != pg.state.Version || b.next != pg.index || len(b.bs)+len(pg.state.Bindings) > p.cfg.MaxNames {
		delete(p.pages, key)
		p.mu.Unlock()
		p.bad.Add(1)
		return
	}
	b.bs = append(b.bs, pg.state.Bindings...)
	b.next++
	if b.next < pg.count {
		p.mu.Unlock()
		return
	}
	delete(p.pages, key)
	p.statesIn.Add(1)
	out := p.r.ApplyState(State{Origin: pg.state.Origin, Version: b.v, Bindings: b.bs})
	p.mu.Unlock()
	p.settled(out)
}

// settled publishes this node's removals of lost bindings and revokes
// their processes, once each.
func (p *Plane) settled(out Outcome) {
	if out.Own == nil {
		return
	}
	p.publish(out.Own)
	f := p.revoke.Load()
	for _, b := range out.Revoked {
		p.log.Info("eventual name lost a conflict", "name", b.Name, "pid", b.PID.String())
		if f != nil {
			(*f)(b.Name, b.PID)
		}
	}
}

// Stats are the plane's figures.
type Stats struct {
	// Names is the number of names this node resolves
	// (wippy_registry_names{scope="eventual"}); Bindings counts every
	// binding held, Own this node's.
	Names, Bindings, Own int
	// Conflicts counts this node's bindings revoked by a conflict;
	// Refused remote additions dropped past twice MaxNames; Full
	// registrations refused at MaxNames.
	Conflicts, Refused, Full uint64
	// DeltasOut/In, DigestsIn and StatesIn count messages; Bad malformed
	// ones; SendFailed sends the transport refused.
	DeltasOut, DeltasIn, DigestsIn, StatesIn, Bad, SendFailed uint64
}

// Stats returns the current figures.
func (p *Plane) Stats() Stats {
	p.mu.RLock()
	s := Stats{Names: len(p.r.byName), Bindings: p.r.Len(), Own: p.r.Own(), Conflicts: p.r.Conflicts(), Refused: p.r.Refused()}
	p.mu.RUnlock()
	s.Full = p.full.Load()
	s.DeltasOut, s.DeltasIn, s.DigestsIn, s.StatesIn = p.deltasOut.Load(), p.deltasIn.Load(), p.digestsIn.Load(), p.statesIn.Load()
	s.Bad, s.SendFailed = p.bad.Load(), p.sendFailed.Load()
	return s
}
