package cluster

import (
	"errors"
	"fmt"
	"github.com/wippyd/wippyd/internal/throttle"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
	"github.com/wippyd/wippyd/transport"
)

// Endpoint is what the cluster uses of a transport endpoint;
// *transport.Endpoint implements it.
type Endpoint interface {
	RegisterTransient(st transport.StreamType, h transport.Handler) error
	Defer(from transport.Peer, d transport.Deferred) bool
	OnSessionUp(f func(transport.SessionEvent)) error
	OnSessionLost(f func(transport.SessionEvent)) error
	Send(name string, st transport.StreamType, body []byte) error
	Connect(name, addr string) error
	Abandon(name string) error
	Stats() transport.Stats
}

var _ Endpoint = (*transport.Endpoint)(nil)

// Runtime is what the cluster uses of the local runtime;
// *runtime.Runtime implements it. Deliver must not keep e after it
// returns: the cluster reuses it.
type Runtime interface {
	Deliver(e *runtime.Envelope)
	// DeliverGroup hands in a broadcast to a process group, for the
	// group's local members.
	DeliverGroup(scope, group string, e *runtime.Envelope)
	NodeDown(node string)
	SpawnFor(parent pid.PID, req proc.SpawnRequest, created func(child pid.PID)) (pid.PID, error)
	RelateRemote(parent, child pid.PID, link, monitor bool)
	// Guard is the node's permission checks: a spawn request is checked
	// with it before it reaches SpawnFor (Deliver checks envelopes).
	Guard() *security.Guard
}

var _ Runtime = (*runtime.Runtime)(nil)

// Cluster connects one node's runtime to the others: it is the runtime's
// Router for PIDs of other nodes, the handler of the transport's cluster
// stream, and the place where membership and session events become
// NodeDown. See the package documentation.
type Cluster struct {
	cfg  Config
	node string
	log  *slog.Logger
	ep   Endpoint
	rt   atomic.Pointer[boundRuntime]

	// routes is the copy of the peer table the send path reads: node ->
	// route, replaced (copy on write) under mu when a node becomes known.
	routes atomic.Pointer[map[string]*route]

	// mu orders peer events: the table and the effects of each event.
	mu    sync.Mutex
	table *peerTable
	// changed is closed, and replaced, when a route goes up or down or
	// the cluster stops (Changed); written under mu.
	changed atomic.Pointer[chan struct{}]

	// pmu guards the remote spawns awaiting a reply.
	pmu     sync.Mutex
	pending map[uint64]*spawnCall
	nextID  atomic.Uint64

	encoders sync.Pool // *wire.Encoder with a body buffer
	decoders sync.Pool // *inbound
	guests   sync.Pool // *guestRun

	denyLog   throttle.Pairs
	stopped   atomic.Bool
	startOnce sync.Once
	stopOnce  sync.Once
	unsub     func()
	ctr       counters
}

type boundRuntime struct{ rt Runtime }

// route is one known node as the send path sees it.
type route struct {
	node string
	up   atomic.Bool
	sent atomic.Uint64 // envelopes handed to the transport
	recv atomic.Uint64 // envelopes delivered to the runtime

	// gate puts this node's NodeDown for the node after every envelope
	// of it already handed to the runtime: the stream handler holds it
	// shared while it hands one over, a down takes it to set deaf. While
	// deaf, what arrives from the node is the rest of a session that
	// ended here, and is dropped: nothing of it reaches a process after
	// its noconnection. The node's next session-up event clears it (the
	// transport hands it over after every frame of the old session).
	gate sync.RWMutex
	deaf bool
}

// New returns a cluster for the node cfg.Node using ep, and registers its
// stream handler and session hooks on ep, which must not be started yet.
// The cluster has no runtime until Bind; see the package documentation
// for the order of construction.
func New(cfg Config, ep Endpoint) (*Cluster, error) {
	def := DefaultConfig()
	if cfg.SpawnTimeout == 0 {
		cfg.SpawnTimeout = def.SpawnTimeout
	}
	if cfg.DenyLogInterval == 0 {
		cfg.DenyLogInterval = def.DenyLogInterval
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if ep == nil {
		return nil, fmt.Errorf("%w: nil endpoint", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cluster{
		cfg:     cfg,
		node:    cfg.Node,
		log:     cfg.Logger.With("node", cfg.Node),
		ep:      ep,
		table:   newPeerTable(cfg.Node),
		pending: map[uint64]*spawnCall{},
	}
	c.routes.Store(&map[string]*route{})
	changed := make(chan struct{})
	c.changed.Store(&changed)
	c.encoders.New = func() any { return &encoder{enc: wire.NewEncoder()} }
	c.decoders.New = func() any { return &inbound{dec: wire.NewDecoder()} }
	c.guests.New = func() any { return &guestRun{c: c} }
	// The handler decodes each body into values of its own (the wire
	// decoder shares no memory with it), so the transport may reuse it.
	if err := ep.RegisterTransient(transport.StreamCluster, c.handle); err != nil {
		return nil, fmt.Errorf("cluster: register stream: %w", err)
	}
	if err := ep.OnSessionUp(c.sessionUp); err != nil {
		return nil, fmt.Errorf("cluster: session hook: %w", err)
	}
	if err := ep.OnSessionLost(c.sessionLost); err != nil {
		return nil, fmt.Errorf("cluster: session hook: %w", err)
	}
	return c, nil
}

// Bind gives the cluster its runtime. The runtime is built with the
// cluster as its Router, so it exists only after New: call Bind before
// the endpoint starts (inbound traffic before Bind is dropped and
// counted as "notready"). Binding again replaces the runtime.
func (c *Cluster) Bind(rt Runtime) {
	if rt == nil {
		c.rt.Store(nil)
		return
	}
	c.rt.Store(&boundRuntime{rt: rt})
}

func (c *Cluster) runtime() Runtime {
	if b := c.rt.Load(); b != nil {
		return b.rt
	}
	return nil
}

// Start subscribes to Config.Members, if set. Idempotent.
func (c *Cluster) Start() error {
	if c.stopped.Load() {
		return ErrStopped
	}
	c.startOnce.Do(func() {
		if c.cfg.Members != nil {
			stop := c.cfg.Members.Subscribe(c.HandleMember)
			c.mu.Lock()
			c.unsub = stop
			c.mu.Unlock()
		}
	})
	return nil
}

// Stop ends the membership subscription and fails every remote spawn
// still waiting with ErrStopped; afterwards Route and Spawn refuse
// everything and inbound traffic is dropped. Stop the runtime first (so
// exits still reach other nodes) and close the endpoint after.
// Idempotent.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.stopped.Store(true)
		c.mu.Lock()
		unsub := c.unsub
		c.unsub = nil
		c.mu.Unlock()
		if unsub != nil {
			unsub()
		}
		c.failPending("", ErrStopped)
		c.mu.Lock()
		c.notifyLocked()
		c.mu.Unlock()
	})
}

// Node returns this node's name.
func (c *Cluster) Node() string { return c.node }

// HandleMember applies a membership event: a member up is routed to (and
// connected to at its address); a member failed or left is down: every
// local link and monitor to its processes fires with noconnection, once,
// and its transport session is abandoned. A member seen with a new boot
// id is down (its old life), then up.
func (c *Cluster) HandleMember(ev MemberEvent) {
	if c.stopped.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case MemberUp:
		c.applyLocked(c.table.memberUp(ev.Node, ev.Addr, ev.Boot), "member up")
	case MemberFailed, MemberLeft:
		c.applyLocked(c.table.memberDown(ev.Node, ev.Boot), "member "+ev.Kind.String())
	}
}

func (c *Cluster) sessionUp(ev transport.SessionEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyLocked(c.table.sessionUp(ev.Peer.Name, ev.Peer.Boot), "session up")
	// A new session: what comes next was sent in it, after the peer
	// learnt of any down (after the effects above, which may down the
	// peer's old life).
	if r := (*c.routes.Load())[ev.Peer.Name]; r != nil {
		r.gate.Lock()
		r.deaf = false
		r.gate.Unlock()
	}
}

func (c *Cluster) sessionLost(ev transport.SessionEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ours := errors.Is(ev.Reason, transport.ErrAbandoned)
	c.applyLocked(c.table.sessionLost(ev.Peer.Name, ev.Peer.Boot, ours), fmt.Sprintf("session lost: %v", ev.Reason))
}

// applyLocked carries out the table's effects, in order.
func (c *Cluster) applyLocked(effs []effect, why string) {
	for _, e := range effs {
		switch e.kind {
		case effKnown:
			c.routeFor(e.node)
		case effUp:
			c.routeFor(e.node).up.Store(true)
			c.notifyLocked()
			c.log.Info("cluster: node up", "peer", e.node, "boot", fmt.Sprintf("%016x", e.boot), "why", why)
		case effDown:
			// Routing stops before NodeDown, so a link made from now on
			// fails at once instead of slipping past NodeDown; and so does
			// delivery from the node, once an envelope being handed over
			// is in.
			r := c.routeFor(e.node)
			r.up.Store(false)
			r.gate.Lock()
			r.deaf = true
			r.gate.Unlock()
			c.notifyLocked()
			c.ctr.nodeDowns.Add(1)
			c.log.Info("cluster: node down", "peer", e.node, "boot", fmt.Sprintf("%016x", e.boot), "why", why)
			if rt := c.runtime(); rt != nil {
				rt.NodeDown(e.node)
			}
			c.failPending(e.node, proc.ErrNoConnection)
		case effAbandon:
			if err := c.ep.Abandon(e.node); err != nil && !errors.Is(err, transport.ErrUnknownPeer) {
				c.log.Warn("cluster: abandon session", "peer", e.node, "err", err)
			}
		case effConnect:
			if err := c.ep.Connect(e.node, e.addr); err != nil {
				c.log.Warn("cluster: connect", "peer", e.node, "addr", e.addr, "err", err)
			}
		}
	}
}

// routeFor returns the route of node, adding a (down) one if needed.
// Called with mu held.
func (c *Cluster) routeFor(node string) *route {
	cur := *c.routes.Load()
	if r := cur[node]; r != nil {
		return r
	}
	next := make(map[string]*route, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	r := &route{node: node}
	next[node] = r
	c.routes.Store(&next)
	return r
}

// notifyLocked wakes the Changed waiters. Called with mu held.
func (c *Cluster) notifyLocked() {
	next := make(chan struct{})
	close(*c.changed.Swap(&next))
}

// Changed returns a channel closed at the next change of Nodes (a node
// routed to, or no longer) and when the cluster stops: get it, check
// Nodes or PeerUp, then wait on it, so no change is missed.
func (c *Cluster) Changed() <-chan struct{} { return *c.changed.Load() }

// Stopped reports whether Stop was called.
func (c *Cluster) Stopped() bool { return c.stopped.Load() }

// PeerUp reports whether node is known and routed to now.
func (c *Cluster) PeerUp(node string) bool {
	r := (*c.routes.Load())[node]
	return r != nil && r.up.Load()
}

// Nodes returns the nodes routed to now, sorted: those a send reaches
// (Erlang's nodes()).
func (c *Cluster) Nodes() []string {
	var out []string
	for name, r := range *c.routes.Load() {
		if r.up.Load() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
