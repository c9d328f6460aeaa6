package transport

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Endpoint is one node's end of the internode transport: it listens for
// peers, keeps one outbound connection to every peer it knows an address
// for, and owns the session with each peer. See the package documentation.
type Endpoint struct {
	cfg  Config
	nw   Network
	log  *slog.Logger
	boot uint64
	tkey []byte // derived from Config.SecretKey; nil without one

	// Set before Start, read-only after.
	handlers [256]Handler
	streams  streamSet
	// transient are the streams whose handlers keep no body past the
	// call (RegisterTransient).
	transient streamSet
	onUp      []func(SessionEvent)
	onLost    []func(SessionEvent)

	// Lock order: mu, then a peer's mu, then tmu.
	mu      sync.Mutex
	started bool
	closed  bool
	ln      net.Listener
	addr    string // advertised to peers
	peers   map[string]*peer
	// reserved holds the generation an inbound handshake promised a peer
	// not created yet, so that a Connect racing with it creates the peer
	// with that same generation instead of a second one.
	reserved map[string]*reservation

	// tmu guards the goroutine and connection trackers; it is a leaf lock,
	// so a peer may start goroutines while holding its own lock.
	tmu     sync.Mutex
	tclosed bool
	conns   map[net.Conn]struct{} // every open connection, closed by Close

	// peersRO is a copy of peers for the Send path, replaced under mu.
	peersRO atomic.Pointer[map[string]*peer]

	ctx       context.Context // ends when the endpoint closes
	cancel    context.CancelFunc
	stopped   atomic.Bool   // set when Close begins
	gens      atomic.Uint64 // last session generation handed out
	wg        sync.WaitGroup
	adm       *admission // inbound connections in their handshake
	warn      *logLimiter
	closeOnce sync.Once
	ctr       counters
}

// New validates cfg and returns an endpoint using nw. It starts nothing:
// register streams and hooks, then call Start.
func New(cfg Config, nw Network) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if nw == nil {
		return nil, fmt.Errorf("%w: nil network", ErrInvalidConfig)
	}
	cfg.SecretKey = slices.Clone(cfg.SecretKey)
	e := &Endpoint{
		cfg:      cfg,
		tkey:     transportKey(cfg.SecretKey),
		nw:       nw,
		log:      cfg.Logger,
		boot:     cfg.BootID,
		peers:    map[string]*peer{},
		reserved: map[string]*reservation{},
		conns:    map[net.Conn]struct{}{},
		adm:      newAdmission(cfg.MaxPendingPerSource, cfg.MaxPendingHandshakes),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("node", cfg.Name)
	e.warn = newLogLimiter(e.log, cfg.WarnBurst)
	for e.boot == 0 {
		e.boot = randUint64()
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.peersRO.Store(&map[string]*peer{})
	return e, nil
}

// minVersion is the lowest protocol version this endpoint accepts: with a
// key, only a version that seals.
func (e *Endpoint) minVersion() uint16 {
	if e.tkey != nil {
		return max(e.cfg.MinVersion, sealedVersion)
	}
	return e.cfg.MinVersion
}

// linkFor sets up the framing of a connection whose handshake (bodies hb
// and wb) settled on version: sealed with a key, in clear otherwise.
// dialer says which end this is.
func (e *Endpoint) linkFor(conn net.Conn, fr *frameReader, version uint16, hb, wb []byte, dialer bool) (*link, error) {
	l := &link{conn: conn, src: frameSource{fr: fr}, dialed: dialer}
	fr.max = e.cfg.MaxFrame
	if e.tkey == nil || version < sealedVersion {
		return l, nil
	}
	keys, err := newSealKeys(e.tkey, hb, wb)
	if err != nil {
		return nil, err
	}
	in, out := keys.acceptor, keys.dialer
	if !dialer {
		in, out = out, in
	}
	l.src.open = &opener{aead: in, max: e.cfg.MaxFrame}
	l.seal = newSealer(out)
	fr.max = sealedMax(e.cfg.MaxFrame)
	return l, nil
}

// Name returns this node's name.
func (e *Endpoint) Name() string { return e.cfg.Name }

// Boot returns this node's boot id.
func (e *Endpoint) Boot() uint64 { return e.boot }

// Addr returns the address advertised to peers ("" before Start).
func (e *Endpoint) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// Register sets the handler for a stream type. It must be called before
// Start, once per stream. Peers learn the registered streams in the
// handshake: Send to a peer on a stream it did not register fails, and a
// frame received for an unregistered stream is dropped and counted.
func (e *Endpoint) Register(st StreamType, h Handler) error {
	return e.register(st, h, false)
}

// RegisterTransient is Register for a handler that keeps nothing of body
// once it returns (it decodes it into values of its own, say): the
// transport may then read the next frames into the same memory, which
// saves allocating a read buffer per 64 KiB received.
func (e *Endpoint) RegisterTransient(st StreamType, h Handler) error {
	return e.register(st, h, true)
}

func (e *Endpoint) register(st StreamType, h Handler, transient bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.started || e.closed:
		return ErrStarted
	case st == 0 || h == nil:
		return fmt.Errorf("%w: stream %d with handler %v", ErrUnknownStream, st, h != nil)
	case e.handlers[st] != nil:
		return fmt.Errorf("%w: %v", ErrStreamRegistered, st)
	}
	e.handlers[st] = h
	e.streams.add(st)
	if transient {
		e.transient.add(st)
	}
	return nil
}

// OnSessionUp adds a hook called when a session with a peer life starts.
// Must be called before Start.
func (e *Endpoint) OnSessionUp(f func(SessionEvent)) error {
	return e.addHook(&e.onUp, f)
}

// OnSessionLost adds a hook called when a session ends other than by
// Close: abandoned here or by the peer, queue overflow, peer restart.
// Must be called before Start.
func (e *Endpoint) OnSessionLost(f func(SessionEvent)) error {
	return e.addHook(&e.onLost, f)
}

func (e *Endpoint) addHook(hooks *[]func(SessionEvent), f func(SessionEvent)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.closed {
		return ErrStarted
	}
	*hooks = append(*hooks, f)
	return nil
}

// Start listens on Config.BindAddr and begins accepting peers.
func (e *Endpoint) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case e.started:
		return ErrStarted
	}
	ln, err := e.nw.Listen(e.cfg.BindAddr)
	if err != nil {
		return fmt.Errorf("transport: listen %s: %w", e.cfg.BindAddr, err)
	}
	e.ln, e.started = ln, true
	e.addr = e.cfg.AdvertiseAddr
	if e.addr == "" {
		e.addr = ln.Addr().String()
	}
	e.spawn(e.acceptLoop)
	e.log.Info("transport listening", "addr", ln.Addr().String(), "boot", fmt.Sprintf("%016x", e.boot))
	return nil
}

// Connect makes name a known peer at addr: the endpoint keeps an outbound
// connection to it, reconnecting with backoff. Calling it again with a new
// address moves the connection there. An address given here takes
// precedence over the one a peer advertises when it connects in.
func (e *Endpoint) Connect(name, addr string) error {
	if name == e.cfg.Name {
		return ErrSelf
	}
	if name == "" || len(name) > maxNameLen || addr == "" {
		return fmt.Errorf("transport: connect: bad name %q or address %q", name, addr)
	}
	p, err := e.peerFor(name, 0)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setAddrLocked(addr, true)
	return nil
}

// Send queues body for the peer on stream st and returns; a writer
// goroutine sends it. Frames to one peer are delivered in Send order, at
// most once, and exactly once unless the session is lost. body is copied.
// A frame sent while the writer waits with nothing queued, on a plain TCP
// connection, is written by Send itself in one write that never blocks
// (see direct.go): a request then reaches the socket without a goroutine
// switch.
//
// A Send that would make the queue exceed Config.SendQueueBytes abandons
// the session and returns ErrQueueFull: the queued frames are dropped and
// counted, and both sides report the session lost.
func (e *Endpoint) Send(name string, st StreamType, body []byte) error {
	p := (*e.peersRO.Load())[name]
	if p == nil || e.stopped.Load() {
		return e.sendError(name)
	}
	if st == 0 {
		return fmt.Errorf("%w: %v", ErrUnknownStream, st)
	}
	p.mu.Lock()
	s := p.s
	switch {
	case p.forgotten:
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	case s.up() && !s.streams.has(st):
		p.mu.Unlock()
		return fmt.Errorf("%w: %s does not serve %v", ErrUnknownStream, name, st)
	}
	size := s.q.frameSize(st, len(body))
	if limit := s.frameLimit(e.cfg.MaxFrame); size-headerSize > limit {
		p.mu.Unlock()
		return fmt.Errorf("%w: %d-byte body, limit %d", ErrFrameTooLarge, len(body), limit)
	}
	if s.q.bytes+int64(size) > e.cfg.SendQueueBytes {
		p.abandonLocked(ErrQueueFull, 1)
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrQueueFull, name)
	}
	wasPending := s.q.hasPending()
	s.q.push(st, body, size)
	p.ctr.framesOut.Add(1)
	if p.directLocked(wasPending) {
		p.writeDirect()
		return nil
	}
	p.wakeWriterUnlock()
	return nil
}

func (e *Endpoint) sendError(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case !e.started:
		return ErrNotStarted
	}
	return fmt.Errorf("%w: %s", ErrUnknownPeer, name)
}

// Abandon ends the session with name now, as when the upper layer has
// declared the peer dead: its queue is dropped and counted, OnSessionLost
// fires here, and the peer reports the session lost at the next
// handshake. The address is kept; a fresh session starts when the peer is
// reachable again.
func (e *Endpoint) Abandon(name string) error {
	p := e.lookup(name)
	if p == nil {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forgotten {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	}
	p.abandonLocked(ErrAbandoned, 0)
	return nil
}

// Forget abandons the session with name, stops connecting to it and drops
// it from Stats once its pending events are delivered. A later inbound
// connection from it, or Connect, makes it known again.
func (e *Endpoint) Forget(name string) error {
	p := e.lookup(name)
	if p == nil {
		return fmt.Errorf("%w: %s", ErrUnknownPeer, name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forgotten {
		return nil
	}
	p.forgotten = true
	p.addr, p.addrExplicit = "", false
	p.abandonLocked(ErrAbandoned, 0)
	signal(p.dispWake)
	return nil
}

// Stats returns a snapshot of the counters.
func (e *Endpoint) Stats() Stats {
	st := Stats{
		Dropped:           make(map[DropReason]uint64, numDropReasons),
		HandshakeFailures: e.ctr.handshakeFailures.Load(),
		HandshakesEvicted: e.ctr.handshakesEvicted.Load(),
		ReadersDetached:   e.ctr.detached.Load(),
		SealFailures:      e.ctr.sealFailures.Load(),
		ProtocolErrors:    e.ctr.protocolErrors.Load(),
		Accepted:          e.ctr.accepted.Load(),
	}
	for r := range numDropReasons {
		if n := e.ctr.dropped[r].Load(); n > 0 {
			st.Dropped[r] = n
		}
	}
	for _, p := range *e.peersRO.Load() {
		st.Peers = append(st.Peers, p.stats())
	}
	slices.SortFunc(st.Peers, func(a, b PeerStats) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// Close stops the endpoint: it closes the listener and every connection
// and returns once every goroutine it started has ended. Frames still
// queued or awaiting a handler are dropped (DropClosed) and no session
// event fires. Idempotent. Must not be called from a Handler or hook.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.stopped.Store(true)
		e.mu.Lock()
		e.closed = true
		ln := e.ln
		e.mu.Unlock()
		e.tmu.Lock()
		e.tclosed = true
		conns := make([]net.Conn, 0, len(e.conns))
		for c := range e.conns {
			conns = append(conns, c)
		}
		e.tmu.Unlock()
		e.cancel()
		if ln != nil {
			ln.Close()
		}
		for _, c := range conns {
			c.Close()
		}
		e.wg.Wait()
		var dropped uint64
		for _, p := range *e.peersRO.Load() {
			dropped += p.discard()
		}
		e.ctr.dropped[DropClosed].Add(dropped)
	})
	return nil
}

// lookup returns the peer named name, or nil.
func (e *Endpoint) lookup(name string) *peer {
	return (*e.peersRO.Load())[name]
}

// peerFor returns the peer named name, creating it (with generation gen,
// or a fresh one if 0) or bringing a forgotten one back as needed.
func (e *Endpoint) peerFor(name string, gen uint64) (*peer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrClosed
	case !e.started:
		return nil, ErrNotStarted
	}
	p := e.peers[name]
	if p == nil {
		if r := e.reserved[name]; r != nil {
			gen = r.gen
		} else if gen == 0 {
			gen = e.gens.Add(1)
		}
		p = newPeer(e, name, gen)
		e.peers[name] = p
		e.publishPeersLocked()
		e.spawn(p.dispatch)
		return p, nil
	}
	p.mu.Lock()
	p.forgotten = false
	p.mu.Unlock()
	return p, nil
}

// reservation is a generation promised to a peer not created yet, held
// by refs inbound handshakes.
type reservation struct {
	gen  uint64
	refs int
}

// knownOrReserve returns the peer named name if there is one; if not, it
// reserves the generation such a peer will be created with, whoever
// creates it, and returns it. A reservation must be given back with
// unreserve.
func (e *Endpoint) knownOrReserve(name string) (*peer, uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[name]; p != nil {
		return p, 0
	}
	r := e.reserved[name]
	if r == nil {
		r = &reservation{gen: e.gens.Add(1)}
		e.reserved[name] = r
	}
	r.refs++
	return nil, r.gen
}

// unreserve gives back a reservation made by knownOrReserve.
func (e *Endpoint) unreserve(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.reserved[name]; r != nil {
		if r.refs--; r.refs == 0 {
			delete(e.reserved, name)
		}
	}
}

// revive returns p, brought back if it was forgotten, or errRetry if it
// is no longer the peer known under its name (it was retired).
func (e *Endpoint) revive(p *peer) (*peer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return nil, ErrClosed
	case e.peers[p.name] != p:
		return nil, errRetry
	}
	p.mu.Lock()
	p.forgotten = false
	p.mu.Unlock()
	return p, nil
}

// retire removes a forgotten peer with nothing left to deliver; it reports
// whether it did.
func (e *Endpoint) retire(p *peer) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.forgotten || len(p.dq) > 0 || e.peers[p.name] != p {
		return false
	}
	delete(e.peers, p.name)
	e.publishPeersLocked()
	return true
}

func (e *Endpoint) publishPeersLocked() {
	m := make(map[string]*peer, len(e.peers))
	for k, v := range e.peers {
		m[k] = v
	}
	e.peersRO.Store(&m)
}

// spawn runs f on a goroutine that Close joins; it reports false, running
// nothing, once the endpoint is closed.
func (e *Endpoint) spawn(f func()) bool {
	return e.spawnTracked(func(*tracked) { f() })
}

// tracked is a goroutine the endpoint counts until it ends or stops
// doing the endpoint's work (release, once). nil: not counted.
type tracked struct {
	e    *Endpoint
	done atomic.Bool
}

func (t *tracked) release() {
	if t != nil && t.done.CompareAndSwap(false, true) {
		t.e.wg.Done()
	}
}

// spawnTracked is spawn for a goroutine that may stop being counted
// before it ends (see inReader.Detach).
func (e *Endpoint) spawnTracked(f func(t *tracked)) bool {
	e.tmu.Lock()
	defer e.tmu.Unlock()
	if e.tclosed {
		return false
	}
	e.wg.Add(1)
	t := &tracked{e: e}
	go func() {
		defer t.release()
		f(t)
	}()
	return true
}

// track records an open connection for Close; false means the endpoint
// is closed and the caller must close c itself.
func (e *Endpoint) track(c net.Conn) bool {
	e.tmu.Lock()
	defer e.tmu.Unlock()
	if e.tclosed {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

// release closes a connection and forgets it.
func (e *Endpoint) release(c net.Conn) {
	c.Close()
	e.tmu.Lock()
	delete(e.conns, c)
	e.tmu.Unlock()
}

func (e *Endpoint) isClosed() bool { return e.stopped.Load() }

// logConnError logs why a connection ended: quietly when the endpoint
// closing or a session reset caused it, else as a throttled warning.
func (e *Endpoint) logConnError(msg string, err error, args ...any) {
	args = append(args, "err", err)
	switch {
	case e.isClosed(), errors.Is(err, errStaleConn), errors.Is(err, errRetry), errors.Is(err, net.ErrClosed):
		e.log.Debug(msg, args...)
	case errors.Is(err, ErrNotMember):
		// Also what a node just started meets until membership has seen it.
		e.warn.Log(slog.LevelInfo, msg, args...)
	default:
		e.warn.Log(slog.LevelWarn, msg, args...)
	}
}

func randUint64() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

func newNonce() []byte {
	b := make([]byte, nonceSize)
	rand.Read(b)
	return b
}

// signal wakes the goroutine waiting on c, if any, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
