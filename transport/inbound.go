package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"
)

// acceptLoop accepts inbound connections until the listener closes.
func (e *Endpoint) acceptLoop() {
	bo := backoff{min: 5 * time.Millisecond, max: time.Second}
	for {
		conn, err := e.ln.Accept()
		if err != nil {
			if e.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: wait, then try again.
			e.warn.Log(slog.LevelWarn, "transport accept failed", "err", err)
			t := time.NewTimer(bo.next())
			select {
			case <-t.C:
			case <-e.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		bo.reset()
		e.ctr.accepted.Add(1)
		if !e.track(conn) {
			conn.Close()
			return
		}
		for _, old := range e.adm.admit(conn) {
			e.ctr.handshakesEvicted.Add(1)
			e.warn.Log(slog.LevelWarn, "transport too many pending handshakes, oldest closed",
				"remote", old.RemoteAddr().String(), "new", conn.RemoteAddr().String())
			old.Close()
		}
		if !e.spawnTracked(func(t *tracked) { e.serveInbound(conn, t) }) {
			e.release(conn)
			return
		}
	}
}

// serveInbound runs one inbound connection: handshake, then receive.
// owner is the endpoint's count of this goroutine.
func (e *Endpoint) serveInbound(conn net.Conn, owner *tracked) {
	p, l, epoch, err := e.acceptHandshake(conn)
	e.adm.done(conn)
	if err != nil {
		// Counted before the close, which the peer sees: a refusal it
		// has seen is in Stats.
		if !errors.Is(err, errRetry) && !e.isClosed() {
			e.ctr.handshakeFailures.Add(1)
		}
		e.release(conn)
		e.logConnError("transport inbound handshake failed", err, "remote", conn.RemoteAddr().String())
		return
	}
	e.endInbound(p, conn, p.serveIn(l, epoch, owner))
}

// endInbound closes an inbound connection whose reading ended with err,
// unless the reading went on in another goroutine.
func (e *Endpoint) endInbound(p *peer, conn net.Conn, err error) {
	if err == errDetached {
		return
	}
	e.release(conn)
	if err != nil {
		p.mu.Lock()
		if p.duplex != nil && p.duplex != conn {
			// The peer closed its own connection (which may end in a
			// reset, acks unread): the duplex one carries its frames.
			err = fmt.Errorf("%w: %w", errStaleConn, err)
		}
		p.mu.Unlock()
	}
	if err != nil && !e.isClosed() {
		e.logConnError("transport inbound connection ended", err, "peer", p.name, "remote", conn.RemoteAddr().String())
	}
}

// acceptHandshake runs the acceptor's side of the handshake and attaches
// conn as the session's inbound connection.
func (e *Endpoint) acceptHandshake(conn net.Conn) (*peer, *link, uint64, error) {
	conn.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	fr := &frameReader{r: conn, max: maxHandshakeFrame}
	hb, err := expect(fr, frameHello)
	if err != nil {
		return nil, nil, 0, err
	}
	h, err := decodeHello(hb)
	if err != nil {
		return nil, nil, 0, refuse(conn, err)
	}
	version, err := e.checkHello(h)
	if err == nil {
		err = e.checkMember(h.From, h.Boot)
	}
	if err != nil {
		return nil, nil, 0, refuse(conn, fmt.Errorf("from %q: %w", h.From, err))
	}
	// The welcome promises a generation and a resume point; attachIn
	// checks both still hold once the dialer has proved itself. A peer not
	// met yet is created only then, with the generation reserved here.
	// A Connect racing with this handshake creates the peer with the
	// reserved generation, so the promise holds whichever comes first.
	next := uint64(0)
	known, gen := e.knownOrReserve(h.From)
	if known != nil {
		known.mu.Lock()
		gen, next = known.s.gen, known.s.nextFrom(h.Boot, h.Gen)
		known.mu.Unlock()
	} else {
		defer e.unreserve(h.From)
	}
	w := welcome{
		Version: version, Cluster: e.cfg.Cluster, Name: e.cfg.Name,
		Boot: e.boot, Gen: gen, Next: next,
		Nonce: newNonce(), Streams: e.streams, MaxFrame: uint64(e.cfg.MaxFrame),
		Duplex: !e.cfg.OneWay,
	}
	wb := w.encode()
	out := appendFrame(nil, frameWelcome, wb)
	out = appendFrame(out, frameProof, encodeProof(proofMAC(e.tkey, labelAcceptor, hb, wb)))
	if _, err := conn.Write(out); err != nil {
		return nil, nil, 0, err
	}
	body, err := expect(fr, frameProof)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("from %q: %w", h.From, err)
	}
	mac, err := decodeProof(body)
	if err == nil {
		err = checkProof(e.tkey, labelDialer, hb, wb, mac)
	}
	if err != nil {
		return nil, nil, 0, refuse(conn, fmt.Errorf("from %q: %w", h.From, err))
	}
	l, err := e.linkFor(conn, fr, version, hb, wb, false)
	if err != nil {
		return nil, nil, 0, err
	}
	l.duplex = duplexPair(h.Duplex, w.Duplex, h.From, e.cfg.Name)
	p, epoch, err := e.attachIn(conn, h, known, gen, next, l.duplex)
	if err != nil {
		return nil, nil, 0, refuse(conn, err)
	}
	conn.SetDeadline(time.Time{})
	return p, l, epoch, nil
}

// checkHello validates a hello and picks the protocol version.
func (e *Endpoint) checkHello(h *hello) (uint16, error) {
	switch {
	case h.Cluster != e.cfg.Cluster:
		return 0, fmt.Errorf("%w: peer is in %q, this node in %q", ErrClusterMismatch, h.Cluster, e.cfg.Cluster)
	case h.From == e.cfg.Name:
		return 0, fmt.Errorf("%w: peer uses this node's name", errWrongName)
	case h.To != "" && h.To != e.cfg.Name:
		return 0, fmt.Errorf("%w: peer wants %q, this is %q", errWrongName, h.To, e.cfg.Name)
	}
	return negotiate(e.minVersion(), e.cfg.MaxVersion, h.VMin, h.VMax)
}

// checkMember refuses a peer life Config.Members does not list.
func (e *Endpoint) checkMember(name string, boot uint64) error {
	if e.cfg.Members == nil || e.cfg.Members.IsMember(name, boot) {
		return nil
	}
	return fmt.Errorf("%w: %s/%016x", ErrNotMember, name, boot)
}

// attachIn reconciles the session with an authenticated hello and makes
// conn the inbound connection. known is the peer the welcome was computed
// from (nil: none, gen was reserved for a new one); gen and next are what
// the welcome promised.
func (e *Endpoint) attachIn(conn net.Conn, h *hello, known *peer, gen, next uint64, duplex bool) (*peer, uint64, error) {
	var p *peer
	var err error
	if known != nil {
		p, err = e.revive(known)
	} else {
		p, err = e.peerFor(h.From, gen)
	}
	if err != nil {
		return nil, 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.s.gen != gen || p.s.stale(h.Boot, h.Gen) {
		return nil, 0, errRetry
	}
	p.applyObservedLocked(p.s.observe(h.Boot, h.Gen, h.Streams, h.MaxFrame))
	if next > p.s.recvNext {
		// The session reset since the welcome; the dialer would skip frames.
		return nil, 0, errRetry
	}
	if h.Addr != "" {
		p.setAddrLocked(dialBackAddr(h.Addr, conn.RemoteAddr()), false)
	}
	if p.in != nil {
		p.in.Close()
	}
	p.in = conn
	if !duplex {
		// The peer is up: an outbound loop waiting out its backoff dials
		// now. (A duplex connection is about to carry this side's frames
		// as well: no need to dial.)
		p.heard = true
		signal(p.kick)
	}
	return p, p.s.epoch, nil
}

// dialBackAddr is the address to dial a peer that advertised adv and
// connected from remote: an unspecified host in adv is replaced by the
// remote host.
func dialBackAddr(adv string, remote net.Addr) string {
	host, port, err := net.SplitHostPort(adv)
	if err != nil || remote == nil {
		return adv
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return adv
	}
	rhost, _, err := net.SplitHostPort(remote.String())
	if err != nil {
		return adv
	}
	return net.JoinHostPort(rhost, port)
}

// inFrame is a data frame read but not yet numbered into the session.
type inFrame struct {
	seq    uint64
	stream StreamType
	body   []byte
}

// inReader reads an inbound connection: the data frames of each read are
// numbered and delivered as one batch, and an ack goroutine answers. Its
// loop runs on one goroutine at a time; Detach moves it to a new one.
type inReader struct {
	p     *peer
	l     *link
	epoch uint64
	acks  *ackState
	done  chan struct{} // closed when the reading ends: stops the ack writer
	// owner is the endpoint's count of the goroutine reading now.
	owner *tracked
	// gen counts Detach calls: a goroutine that sees it change while it
	// ran deferred work has handed the loop over and returns.
	gen atomic.Uint64

	batch  []inFrame
	inline []delivery
	warned bool
	err    error // why the reading ended; set before done is closed
	// deferred is the work a handler left to this goroutine for after
	// the current batch (Endpoint.Defer); short says the current batch
	// is short enough for that.
	deferred Deferred
	short    bool
	detach   func() // Detach, bound once
}

// Deferred work is what a Handler leaves to the goroutine that delivered
// its frame (Endpoint.Defer).
type Deferred interface {
	// RunDeferred does the work on that goroutine, a connection's reader.
	// If the work may block, it calls detach first, on the same
	// goroutine: the reading goes on in a new goroutine.
	RunDeferred(detach func())
}

// shortBatch is the most data frames a read may bring for its handlers to
// leave work to the reader (Endpoint.Defer): a request or a reply comes
// alone, a stream comes in larger reads, and work left to the reader of a
// stream would hold up the reading it has to do.
const shortBatch = 2

// Defer leaves d to the goroutine that is delivering the frame from peer
// being handled now: that goroutine calls d.RunDeferred after the frames
// of its current read are delivered, before it reads again. It must be
// called from a Handler, for the frame it was handed. It reports false,
// and does not keep d, unless that goroutine is the connection's reader
// delivering a read of at most a couple of frames itself, with no other
// work left for it yet: the caller then does the work another way.
func (e *Endpoint) Defer(from Peer, d Deferred) bool {
	p := e.lookup(from.Name)
	if p == nil {
		return false
	}
	// Set and cleared by the delivering goroutine around its handler
	// calls, and this is one of them.
	r := p.inline
	if r == nil || !r.short || r.deferred != nil {
		return false
	}
	r.deferred = d
	return true
}

// serveIn reads an inbound connection until it fails, or until a Detach
// hands the reading to another goroutine (errDetached).
func (p *peer) serveIn(l *link, epoch uint64, owner *tracked) error {
	r := p.newInReader(l, epoch)
	if r == nil {
		return ErrClosed
	}
	r.owner = owner
	return r.run()
}

// newInReader sets up the reading of a connection, and starts the ack
// writer of one that brings the peer's frames (every inbound one, and an
// outbound duplex one); nil when the endpoint is closing. Its owner is set
// by the goroutine that runs it.
func (p *peer) newInReader(l *link, epoch uint64) *inReader {
	r := &inReader{p: p, l: l, epoch: epoch,
		acks: &ackState{wake: make(chan struct{}, 1)}, done: make(chan struct{})}
	r.detach = r.Detach
	if l.bringsData() && !p.e.spawn(func() { p.writeAcks(l, epoch, r.acks, r.done) }) {
		close(r.done)
		return nil
	}
	// The handshake's bodies are in the first chunk: not for reuse.
	l.src.fr.release(true)
	return r
}

// finish ends a reading goroutine: an inbound connection is closed and
// why it ended logged; an outbound one is left to its writer (stream).
func (r *inReader) finish(err error) {
	if !r.l.dialed {
		r.p.e.endInbound(r.p, r.l.conn, err)
	}
}

// errDetached ends a goroutine that handed the reading to another.
var errDetached = errors.New("transport: reading handed to another goroutine")

// run is the reading loop. It returns errDetached when it handed the loop
// over (the new goroutine owns everything then), else the error that
// ended the reading, after ending it.
func (r *inReader) run() error {
	err := r.loop()
	if err != errDetached {
		r.err = err
		close(r.done)
	}
	return err
}

func (r *inReader) loop() error {
	p, e := r.p, r.p.e
	conn, fr := r.l.conn, r.l.src.fr
	for {
		// The bytes of a read are counted before its frames are
		// delivered, so BytesIn never lags FramesIn; the first read is
		// the handshake's, which may hold data frames too.
		p.ctr.bytesIn.Add(fr.takeCount())
		r.batch = r.batch[:0]
		for {
			t, body, ok, err := r.l.src.next()
			if err != nil {
				return p.connError(err)
			}
			if !ok {
				break
			}
			if !r.l.accepts(t) {
				return p.connError(fmt.Errorf("%w: unexpected %v frame", ErrProtocol, t))
			}
			switch t {
			case frameData:
				seq, st, payload, err := decodeData(body)
				if err != nil {
					return p.connError(err)
				}
				r.batch = append(r.batch, inFrame{seq, st, payload})
			case framePing:
				if err := checkPing(body); err != nil {
					return p.connError(err)
				}
			case frameAck:
				next, err := decodeAck(body)
				if err == nil {
					err = p.ackIn(r, next)
				}
				if err != nil {
					return p.connError(err)
				}
			case frameReject:
				return rejectError(body)
			}
		}
		if len(r.batch) > 0 {
			r.short = len(r.batch) <= shortBatch
			unknown, got, kept, inline, err := p.receive(conn, r.epoch, r.batch, r.inline[:0], r)
			r.inline = inline
			if r.deferred != nil {
				// Run even when the batch ended the connection: the
				// handler that left the work counts on it.
				d := r.deferred
				r.deferred = nil
				gen := r.gen.Load()
				d.RunDeferred(r.detach)
				if r.gen.Load() != gen {
					return errDetached
				}
			}
			if err != nil {
				return p.connError(err)
			}
			fr.release(kept)
			if unknown != 0 && !r.warned {
				r.warned = true
				e.log.Warn("transport frames for unregistered stream dropped", "peer", p.name, "stream", unknown)
			}
			if r.acks.wanted(got) {
				signal(r.acks.wake)
			}
		}
		conn.SetReadDeadline(time.Now().Add(e.cfg.ReadTimeout))
		if _, err := fr.fill(); err != nil {
			return err
		}
	}
}

// Detach hands the reading loop to a new goroutine; the calling one, the
// loop's, returns from it once its deferred work is done (it is no longer
// counted among the endpoint's goroutines, which Close waits for). Called
// by deferred work, on the loop's goroutine, before it blocks. When the
// endpoint is closing the loop stays where it is.
func (r *inReader) Detach() {
	old := r.owner
	r.gen.Add(1)
	// Counted before the new goroutine may read: what it delivers must
	// not be seen before the count that says it reads.
	r.p.e.ctr.detached.Add(1)
	if !r.p.e.spawnTracked(func(t *tracked) {
		r.owner = t
		r.finish(r.run())
	}) {
		r.gen.Add(^uint64(0))
		r.p.e.ctr.detached.Add(^uint64(0))
		return
	}
	old.release()
}

// recvState is where the session's receiving side stands: the first
// sequence number not received yet and the payload bytes received.
type recvState struct {
	next, bytes uint64
}

// receive numbers a batch into the session and has it delivered: by this
// goroutine if nothing else is queued or being delivered, else through the
// dispatcher, waiting while its queue is over the bound. inline is a
// reusable buffer, returned for the next call. It also returns a stream
// type frames were dropped for, if any, where the session stands after
// the batch, and whether a body of the batch may still be referenced (it
// is queued, or went to a handler that may keep it).
func (p *peer) receive(conn net.Conn, epoch uint64, batch []inFrame, inline []delivery, r *inReader) (StreamType, recvState, bool, []delivery, error) {
	e := p.e
	p.mu.Lock()
	if p.s.epoch != epoch || !p.currentLocked(conn) {
		p.mu.Unlock()
		return 0, recvState{}, true, inline, errStaleConn
	}
	direct := len(p.dq) == 0 && !p.delivering
	from := Peer{Name: p.name, Boot: p.s.peerBoot}
	var dups, drops uint64
	var unknown StreamType
	kept := false
	var gap error // frames before a gap are delivered, then the connection ends
	for _, f := range batch {
		deliver, err := p.s.receive(f.seq)
		if err != nil {
			gap = err
			break
		}
		p.s.recvBytes += uint64(len(f.body))
		switch {
		case !deliver:
			dups++
		case !e.streams.has(f.stream):
			drops++
			unknown = f.stream
		case direct:
			inline = append(inline, delivery{kind: deliverData, stream: f.stream, from: from, body: f.body})
			kept = kept || !e.transient.has(f.stream)
		default:
			p.pushLocked(delivery{kind: deliverData, stream: f.stream, from: from, body: f.body})
			kept = true
		}
	}
	got := recvState{next: p.s.recvNext, bytes: p.s.recvBytes}
	direct = direct && len(inline) > 0
	p.delivering = p.delivering || direct
	var space chan struct{}
	if p.dqBytes > e.cfg.RecvQueueBytes {
		if p.space == nil {
			p.space = make(chan struct{})
		}
		space = p.space
	}
	p.mu.Unlock()
	if dups > 0 {
		e.ctr.dropped[DropDuplicate].Add(dups)
	}
	if drops > 0 {
		e.ctr.dropped[DropUnknownStream].Add(drops)
		p.ctr.dropped.Add(drops)
	}
	if direct {
		// Handlers may leave work to r (Endpoint.Defer) while it holds
		// the delivering token.
		p.inline = r
		for i := range inline {
			p.deliver(&inline[i])
		}
		p.inline = nil
		clear(inline)
		p.mu.Lock()
		p.delivering = false
		p.wakeDispatcherLocked()
		p.mu.Unlock()
	}
	if space != nil {
		select {
		case <-space:
		case <-e.ctx.Done():
			return 0, got, true, inline, ErrClosed
		}
	}
	return unknown, got, kept, inline, gap
}

// Acks are delayed a little so that a trickle of frames (a request and
// its reply) does not cost an ack write, and a wake-up on the other side,
// per frame. A stream of frames is acked every ackFrames frames or
// ackBytes bytes; anything else within ackDelay.
const (
	ackDelay  = 2 * time.Millisecond
	ackFrames = 512
	ackBytes  = 64 << 10
)

// ackState is what an inbound connection's reader and its ack writer
// share. The reader wakes the writer only when an ack is due at once or
// none is scheduled: a trickle of frames (request and reply) then costs
// one wake-up of the ack writer per ackDelay, not one per frame, which
// took a turn on a core right when the frame's receiver was to run.
type ackState struct {
	wake  chan struct{}
	armed atomic.Bool   // the writer has an ack scheduled within ackDelay
	next  atomic.Uint64 // what the last ack written said (^0: none yet)
	bytes atomic.Uint64 // recvBytes when it was written
}

// wanted reports whether the reader should wake the ack writer now that
// the session stands at got. A frame numbered before the writer clears
// armed is seen by the ack it then writes (armed is cleared before the
// writer reads the session under the peer's lock), so none waits longer
// than ackDelay; KeepAlive acks would cover it anyway.
func (a *ackState) wanted(got recvState) bool {
	last := a.next.Load()
	return last == ^uint64(0) || !a.armed.Load() ||
		got.next-last >= ackFrames || got.bytes-a.bytes.Load() >= ackBytes
}

// writeAcks answers an inbound connection with cumulative acks, and with
// one every KeepAlive when idle.
func (p *peer) writeAcks(l *link, epoch uint64, acks *ackState, done <-chan struct{}) {
	conn := l.conn
	cfg := &p.e.cfg
	tick := time.NewTicker(cfg.KeepAlive)
	defer tick.Stop()
	delay := time.NewTimer(time.Hour)
	delay.Stop()
	defer delay.Stop()
	armed := false
	var ack, buf []byte
	lastNext, lastBytes := ^uint64(0), uint64(0)
	acks.next.Store(lastNext)
	for {
		due := false
		select {
		case <-acks.wake:
		case <-delay.C:
			armed, due = false, true
			acks.armed.Store(false)
		case <-tick.C:
			due = true
		case <-done:
			return
		case <-p.e.ctx.Done():
			return
		}
		p.mu.Lock()
		stale := p.s.epoch != epoch
		next, bytes := p.s.recvNext, p.s.recvBytes
		p.mu.Unlock()
		if stale {
			return
		}
		if !due && next != lastNext {
			due = next-lastNext >= ackFrames || bytes-lastBytes >= ackBytes || lastNext == ^uint64(0)
			if !due && !armed {
				armed = true
				acks.armed.Store(true)
				delay.Reset(ackDelay)
			}
		}
		if !due {
			continue
		}
		if l.duplex {
			// The connection's writer sends it, with the data.
			if !p.postAck(conn, next) {
				continue
			}
		} else {
			ack = appendAck(ack[:0], next)
			buf = l.seal.appendSealed(buf[:0], ack)
			conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			n, err := conn.Write(buf)
			p.ctr.bytesOut.Add(uint64(n))
			if err != nil {
				conn.Close()
				return
			}
		}
		lastNext, lastBytes = next, bytes
		acks.bytes.Store(bytes)
		acks.next.Store(next)
	}
}

// postAck hands an ack for the peer's frames to the writer of conn, a
// duplex connection; false when conn carries no frames of this side's
// (yet): nothing writes on it then.
func (p *peer) postAck(conn net.Conn, next uint64) bool {
	p.mu.Lock()
	if p.out != conn {
		p.mu.Unlock()
		return false
	}
	p.ackDue, p.ackNext = true, next
	p.wakeWriterUnlock()
	return true
}

// ackIn applies an ack read on a duplex connection. On the side that
// accepted the connection, the dialer's first frame is such an ack, which
// says where the dialer stands with this side's frames: the connection
// then becomes this side's carrier, resuming from there, and gets a
// writer.
func (p *peer) ackIn(r *inReader, next uint64) error {
	conn := r.l.conn
	p.mu.Lock()
	if p.s.epoch != r.epoch || !p.currentLocked(conn) {
		p.mu.Unlock()
		return errStaleConn
	}
	if r.l.dialed || p.out == conn {
		err := p.s.q.ack(next)
		p.mu.Unlock()
		return err
	}
	if err := p.s.resume(next); err != nil {
		p.e.log.Error("transport session broken", "peer", p.name, "err", err)
		p.abandonLocked(ErrSessionBroken, 0)
		p.mu.Unlock()
		return err
	}
	// This side's own connection, if any, goes stale: its writer ends
	// and its outbound loop waits until this one ends.
	p.out, p.duplex = conn, conn
	p.raw = rawOut{}
	if rc := rawOf(r.l); rc != nil {
		p.raw = rawOut{conn: conn, rc: rc}
	}
	p.writerIdle = false
	p.mu.Unlock()
	if !p.e.spawn(func() { p.carry(r.l, r.epoch, r.done) }) {
		return ErrClosed
	}
	return nil
}

// carry writes this side's frames on a duplex connection the peer
// dialed, until it ends or goes stale.
func (p *peer) carry(l *link, epoch uint64, readerDone <-chan struct{}) {
	if err := p.writeLoop(l, epoch, readerDone); err != nil {
		l.conn.Close() // the reader ends, and the connection with it
	}
	p.mu.Lock()
	p.dropConnLocked(l.conn, true)
	p.mu.Unlock()
}
