package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// errStaleConn ends a connection that belongs to a session that was reset,
// or that a newer connection replaced.
var errStaleConn = errors.New("transport: connection replaced")

// peer is the shell around one peer's session: its lock, its connections,
// its goroutines (outbound loop, delivery) and its counters.
type peer struct {
	e    *Endpoint
	name string
	ctr  peerCounters

	mu           sync.Mutex
	s            *session
	addr         string // where to dial; "" = unknown
	addrExplicit bool   // addr came from Connect, not from the peer's hello
	forgotten    bool
	outRunning   bool     // the outbound loop goroutine exists
	heard        bool     // the peer connected in since the outbound loop last waited
	out, in      net.Conn // established connections of the current session
	// duplex is the connection that carries both directions, when one
	// does: out on the side that dialed it, in on the other (and out
	// there too once the dialer's first ack made it the carrier).
	duplex net.Conn
	// An ack for the writer of out to send (duplex connections: their
	// acks go out with the data, not from a goroutine of their own).
	ackDue     bool
	ackNext    uint64
	writerIdle bool // the writer waits on wake
	// Direct writes (direct.go): raw is the current outbound socket when
	// frames may be written to it directly; directBusy is set while a
	// sender writes; directEnd is when the last direct write ended.
	raw         rawOut
	directBusy  bool
	waitsDirect bool // the writer waits for a direct write to end
	directEnd   time.Time
	directBufs  [][]byte
	dq          []delivery
	dqBytes     int64
	delivering  bool // a goroutine is calling handlers: one at a time
	// inline is the connection's reader while it calls handlers itself
	// (Endpoint.Defer); only the delivering goroutine touches it.
	inline   *inReader
	dispIdle bool // the dispatcher waits on dispWake
	// space, when not nil, is what inbound readers over the delivery
	// bound wait on; the dispatcher closes it when it takes a batch. A
	// channel closed for all, not a signal for one: the reader of a
	// replaced connection may still be waiting when the new one starts,
	// and one wake-up going to it would leave the new one waiting for good.
	space chan struct{}

	kick     chan struct{} // wakes the outbound loop: address changed, session reset
	wake     chan struct{} // wakes the writer: frames queued
	dispWake chan struct{} // wakes the dispatcher: deliveries queued
}

type deliveryKind uint8

const (
	deliverData deliveryKind = iota
	deliverUp
	deliverLost
)

// delivery is one call the dispatcher makes: a handler with a frame, or a
// session hook.
type delivery struct {
	kind   deliveryKind
	stream StreamType
	from   Peer
	body   []byte
	ev     *SessionEvent
}

func newPeer(e *Endpoint, name string, gen uint64) *peer {
	return &peer{
		e:        e,
		name:     name,
		s:        newSession(name, gen),
		kick:     make(chan struct{}, 1),
		wake:     make(chan struct{}, 1),
		dispWake: make(chan struct{}, 1),
	}
}

// setAddrLocked records where to dial the peer and makes sure the
// outbound loop runs. An explicit address (Connect) replaces any; a
// learned one (hello) only fills a gap or replaces a learned one.
func (p *peer) setAddrLocked(addr string, explicit bool) {
	if !explicit && p.addrExplicit {
		return
	}
	changed := addr != p.addr
	p.addr = addr
	p.addrExplicit = p.addrExplicit || explicit
	if !p.outRunning {
		p.outRunning = p.e.spawn(p.runOut)
	} else if changed {
		signal(p.kick)
	}
}

// abandonLocked ends the session from this side (Abandon, Forget, queue
// overflow, broken state): extra counts frames refused on the way in.
func (p *peer) abandonLocked(reason error, extra uint64) {
	ev, report := p.s.reset(reason, extra, p.e.gens.Add(1))
	p.endSessionLocked(ev, report)
	signal(p.kick)
}

// endSessionLocked closes the old session's connections and reports its
// loss after a reset.
func (p *peer) endSessionLocked(ev SessionEvent, report bool) {
	for _, c := range []net.Conn{p.in, p.out} {
		if c != nil {
			c.Close()
		}
	}
	p.in, p.out, p.duplex = nil, nil, nil
	p.ackDue = false
	if !report {
		return
	}
	if ev.Dropped > 0 {
		p.e.ctr.dropped[dropReasonOf(ev.Reason)].Add(ev.Dropped)
		p.ctr.dropped.Add(ev.Dropped)
	}
	p.e.log.Info("transport session lost", "peer", ev.Peer.String(), "reason", ev.Reason, "dropped", ev.Dropped)
	p.pushLocked(delivery{kind: deliverLost, ev: &ev})
}

// applyObservedLocked turns session.observe results into events.
func (p *peer) applyObservedLocked(lost SessionEvent, fireLost, up bool) {
	if fireLost {
		p.endSessionLocked(lost, true)
	}
	if up {
		ev := SessionEvent{Peer: Peer{Name: p.name, Boot: p.s.peerBoot}}
		p.e.log.Info("transport session up", "peer", ev.Peer.String())
		p.pushLocked(delivery{kind: deliverUp, ev: &ev})
	}
}

// Delivery. Handlers and hooks for one peer run one at a time, in queue
// order. Whoever holds the delivering token calls them: the inbound reader
// for its own batch when nothing else is queued (no hand-off, the common
// case), the dispatcher goroutine for everything else (session events, and
// frames that arrive while something is queued or being delivered).

// pushLocked queues a delivery and wakes the dispatcher unless a delivery
// is under way (its owner wakes the dispatcher when done).
func (p *peer) pushLocked(d delivery) {
	p.dq = append(p.dq, d)
	p.dqBytes += int64(len(d.body))
	p.wakeDispatcherLocked()
}

func (p *peer) wakeDispatcherLocked() {
	if p.dispIdle && !p.delivering && len(p.dq) > 0 {
		p.dispIdle = false
		signal(p.dispWake)
	}
}

// dispatch is the peer's delivery goroutine for queued deliveries. It ends
// when the endpoint closes or the peer is forgotten and drained.
func (p *peer) dispatch() {
	var batch []delivery
	for {
		p.mu.Lock()
		for len(p.dq) == 0 || p.delivering {
			if p.forgotten && len(p.dq) == 0 && !p.delivering {
				p.mu.Unlock()
				if p.e.retire(p) {
					return
				}
				p.mu.Lock()
				continue
			}
			p.dispIdle = true
			p.mu.Unlock()
			select {
			case <-p.dispWake:
			case <-p.e.ctx.Done():
				return
			}
			p.mu.Lock()
		}
		batch, p.dq = p.dq, batch[:0]
		p.dqBytes = 0
		p.delivering = true
		if p.space != nil {
			close(p.space)
			p.space = nil
		}
		p.mu.Unlock()
		for i := range batch {
			if p.e.stopped.Load() {
				// Left for discard to count.
				p.mu.Lock()
				p.dq = append(p.dq, batch[i:]...)
				p.mu.Unlock()
				return
			}
			p.deliver(&batch[i])
		}
		clear(batch)
		p.mu.Lock()
		p.delivering = false
		p.mu.Unlock()
	}
}

func (p *peer) deliver(d *delivery) {
	switch d.kind {
	case deliverData:
		p.ctr.framesIn.Add(1)
		p.e.handlers[d.stream](d.from, d.body)
	case deliverUp:
		for _, f := range p.e.onUp {
			f(*d.ev)
		}
	case deliverLost:
		for _, f := range p.e.onLost {
			f(*d.ev)
		}
	}
}

// discard drops what is left after Close and returns how many frames that
// was.
func (p *peer) discard() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.s.q.next - p.s.q.acked
	for _, d := range p.dq {
		if d.kind == deliverData {
			n++
		}
	}
	p.s.q.reset()
	p.dq = nil
	return n
}

func (p *peer) stats() PeerStats {
	p.mu.Lock()
	st := PeerStats{
		Name:       p.name,
		Addr:       p.addr,
		Boot:       p.s.peerBoot,
		SendSeq:    p.s.q.next,
		Acked:      p.s.q.acked,
		RecvSeq:    p.s.recvNext,
		QueueBytes: p.s.q.bytes,
		Duplex:     p.duplex != nil,
	}
	p.mu.Unlock()
	st.BytesIn = p.ctr.bytesIn.Load()
	st.BytesOut = p.ctr.bytesOut.Load()
	st.FramesIn = p.ctr.framesIn.Load()
	st.FramesOut = p.ctr.framesOut.Load()
	st.Connects = p.ctr.connects.Load()
	if st.Connects > 1 {
		st.Reconnects = st.Connects - 1
	}
	st.Dropped = p.ctr.dropped.Load()
	st.DirectWrites = p.ctr.directWrites.Load()
	return st
}

// runOut is the outbound loop: dial, handshake, stream until the
// connection breaks, wait, again, until the peer is forgotten or the
// endpoint closes.
func (p *peer) runOut() {
	e := p.e
	bo := backoff{min: e.cfg.BackoffMin, max: e.cfg.BackoffMax}
	for {
		p.mu.Lock()
		addr := p.addr
		if p.forgotten {
			p.outRunning = false
			p.mu.Unlock()
			return
		}
		carried := p.carriedLocked()
		p.mu.Unlock()
		if carried {
			// The peer's connection carries this side's frames too: no
			// connection of this side's is needed until it ends (which
			// kicks).
			select {
			case <-p.kick:
				continue
			case <-p.e.ctx.Done():
				return
			}
		}
		connects := p.ctr.connects.Load()
		if addr != "" {
			if err := p.connectOnce(addr, &bo); err != nil && !e.isClosed() {
				e.logConnError("transport outbound connection ended", err, "peer", p.name, "addr", addr)
			}
		}
		wait := bo.next()
		if addr == "" {
			wait = time.Hour
		}
		if !p.waitRetry(time.NewTimer(wait), addr, p.ctr.connects.Load() != connects) {
			return
		}
	}
}

// waitRetry waits for the backoff timer t. A kick (a new address, an
// abandoned session, Forget) cuts the wait short, except after an attempt
// at the same address that never got a connection up: then the backoff
// stands, so however often the peer is kicked, an address that does not
// answer is dialed on the backoff schedule only. A handshake the peer
// made with this endpoint cuts it short in any case (once per handshake):
// the peer is up again, after a pause or a partition, and should not wait
// out a backoff that its absence grew. It reports false when the
// endpoint closes.
func (p *peer) waitRetry(t *time.Timer, addr string, established bool) bool {
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case <-p.kick:
			p.mu.Lock()
			cut := established || p.addr != addr || p.forgotten || p.heard
			p.heard = false
			p.mu.Unlock()
			if cut {
				return true
			}
		case <-p.e.ctx.Done():
			return false
		}
	}
}

// connectOnce dials addr, handshakes and streams until the connection ends.
func (p *peer) connectOnce(addr string, bo *backoff) error {
	e := p.e
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.DialTimeout)
	conn, err := e.nw.Dial(ctx, addr)
	cancel()
	if err != nil {
		e.log.Debug("transport dial failed", "peer", p.name, "addr", addr, "err", err)
		return nil
	}
	if !e.track(conn) {
		conn.Close()
		return ErrClosed
	}
	defer e.release(conn)
	l, epoch, err := p.dialHandshake(conn)
	if err != nil {
		if !errors.Is(err, errRetry) && !e.isClosed() {
			e.ctr.handshakeFailures.Add(1)
		}
		return fmt.Errorf("handshake: %w", err)
	}
	bo.reset()
	p.ctr.connects.Add(1)
	return p.stream(l, epoch)
}

// dialHandshake runs the dialer's side of the handshake and attaches conn
// as the session's outbound connection.
func (p *peer) dialHandshake(conn net.Conn) (*link, uint64, error) {
	e := p.e
	conn.SetDeadline(time.Now().Add(e.cfg.HandshakeTimeout))
	p.mu.Lock()
	gen := p.s.gen
	p.mu.Unlock()
	h := hello{
		VMin: e.minVersion(), VMax: e.cfg.MaxVersion,
		Cluster: e.cfg.Cluster, From: e.cfg.Name, To: p.name,
		Boot: e.boot, Gen: gen, Addr: e.addr,
		Nonce: newNonce(), Streams: e.streams, MaxFrame: uint64(e.cfg.MaxFrame),
		Duplex: !e.cfg.OneWay,
	}
	hb := h.encode()
	if _, err := conn.Write(appendFrame(nil, frameHello, hb)); err != nil {
		return nil, 0, err
	}
	fr := &frameReader{r: conn, max: maxHandshakeFrame}
	wb, err := expect(fr, frameWelcome)
	if err != nil {
		return nil, 0, err
	}
	w, err := decodeWelcome(wb)
	if err == nil {
		err = p.checkWelcome(w)
	}
	if err == nil {
		err = e.checkMember(w.Name, w.Boot)
	}
	if err != nil {
		return nil, 0, refuse(conn, err)
	}
	body, err := expect(fr, frameProof)
	if err != nil {
		return nil, 0, err
	}
	mac, err := decodeProof(body)
	if err == nil {
		err = checkProof(e.tkey, labelAcceptor, hb, wb, mac)
	}
	if err != nil {
		return nil, 0, refuse(conn, err)
	}
	l, err := e.linkFor(conn, fr, w.Version, hb, wb, true)
	if err != nil {
		return nil, 0, err
	}
	l.duplex = duplexPair(h.Duplex, w.Duplex, e.cfg.Name, p.name)
	epoch, next, err := p.attachOut(l, gen, w)
	if err != nil {
		return nil, 0, refuse(conn, err)
	}
	out := appendFrame(nil, frameProof, encodeProof(proofMAC(e.tkey, labelDialer, hb, wb)))
	if l.duplex {
		// The first frame after the proof, sealed like every other:
		// where this side stands with the acceptor's frames. It makes
		// the connection the acceptor's carrier, resuming from there.
		out = l.seal.appendSealed(out, appendAck(nil, next))
	}
	if _, err := conn.Write(out); err != nil {
		p.mu.Lock()
		p.dropConnLocked(conn, false)
		p.mu.Unlock()
		return nil, 0, err
	}
	conn.SetDeadline(time.Time{})
	return l, epoch, nil
}

func (p *peer) checkWelcome(w *welcome) error {
	cfg := &p.e.cfg
	switch {
	case w.Cluster != cfg.Cluster:
		return fmt.Errorf("%w: peer is in %q", ErrClusterMismatch, w.Cluster)
	case w.Name != p.name:
		return fmt.Errorf("%w: dialed %q, reached %q", errWrongName, p.name, w.Name)
	case w.Version < p.e.minVersion() || w.Version > cfg.MaxVersion:
		return fmt.Errorf("%w: peer chose %d, this node speaks %d..%d", ErrVersionMismatch, w.Version, p.e.minVersion(), cfg.MaxVersion)
	}
	return nil
}

// duplexPair reports whether the connection dialer dialed to acceptor
// carries both directions: both sides can, and it is the pair's
// connection dialed by the name that sorts first, so that both sides
// pick the same one.
func duplexPair(dialerCan, acceptorCan bool, dialer, acceptor string) bool {
	return dialerCan && acceptorCan && dialer < acceptor
}

// currentLocked reports whether conn is one of the session's established
// connections, whose frames count; those of a replaced one do not.
func (p *peer) currentLocked(conn net.Conn) bool { return conn == p.in || conn == p.out }

// carriedLocked reports whether a connection the peer dialed carries this
// side's frames: this side then needs none of its own.
func (p *peer) carriedLocked() bool { return p.duplex != nil && p.duplex == p.in }

// attachOut reconciles the session with the acceptor's welcome and makes
// l's connection the outbound one. gen is the generation sent in the
// hello. On a duplex link it also returns where this side stands with the
// acceptor's frames (the first it has not received).
func (p *peer) attachOut(l *link, gen uint64, w *welcome) (uint64, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.forgotten || p.s.gen != gen || p.s.stale(w.Boot, w.Gen) {
		return 0, 0, errRetry
	}
	if p.carriedLocked() {
		return 0, 0, errCarried
	}
	p.applyObservedLocked(p.s.observe(w.Boot, w.Gen, w.Streams, w.MaxFrame))
	if err := p.s.resume(w.Next); err != nil {
		p.e.log.Error("transport session broken", "peer", p.name, "err", err)
		p.abandonLocked(ErrSessionBroken, 0)
		return 0, 0, err
	}
	if p.out != nil {
		p.out.Close()
	}
	p.out = l.conn
	if l.duplex {
		p.duplex = l.conn
	}
	return p.s.epoch, p.s.recvNext, nil
}

// stream runs an established outbound connection: this goroutine writes
// queued frames, another reads acks (and on a duplex connection the
// peer's frames, as an inbound connection's reader does). It returns when
// either fails or the connection goes stale.
func (p *peer) stream(l *link, epoch uint64) error {
	conn := l.conn
	if rc := rawOf(l); rc != nil {
		p.mu.Lock()
		if p.out == conn {
			p.raw = rawOut{conn: conn, rc: rc}
		}
		p.mu.Unlock()
	}
	r := p.newInReader(l, epoch)
	if r == nil || !p.e.spawnTracked(func(t *tracked) {
		r.owner = t
		r.finish(r.run())
	}) {
		if r != nil {
			close(r.done)
		}
		return ErrClosed
	}
	err := p.writeLoop(l, epoch, r.done)
	conn.Close()
	<-r.done
	if err == nil {
		err = r.err
	}
	p.mu.Lock()
	p.dropConnLocked(conn, false)
	p.mu.Unlock()
	return err
}

// dropConnLocked forgets conn, which has ended, as the carrier of this
// side's frames, direct writes' socket and duplex connection. When it was
// a duplex connection the peer dialed (accepted), this side dials again
// (its outbound loop waits for the kick); the side that dialed it goes on
// after its backoff, as after any connection.
func (p *peer) dropConnLocked(conn net.Conn, accepted bool) {
	if p.duplex == conn {
		p.duplex = nil
	}
	if accepted {
		signal(p.kick)
	}
	if p.out == conn {
		p.out = nil
		p.ackDue = false
	}
	if p.raw.conn == conn {
		p.raw = rawOut{}
	}
}

// writeLoop writes whatever is queued in one write per batch and pings
// when idle. A nil error means the connection's reader ended first.
func (p *peer) writeLoop(l *link, epoch uint64, readerDone <-chan struct{}) error {
	cfg := &p.e.cfg
	conn := l.conn
	keepAlive := time.NewTimer(cfg.KeepAlive)
	defer keepAlive.Stop()
	var bufs [][]byte
	var sealed []byte // a batch sealed into records, reused
	var ack []byte    // a posted ack's frame, reused
	for {
		p.mu.Lock()
		if p.s.epoch != epoch || p.out != conn {
			p.mu.Unlock()
			// A wake-up this writer took may have been meant for the
			// connection's successor.
			signal(p.wake)
			return errStaleConn
		}
		if p.directBusy {
			// A sender is writing; it wakes the writer when done.
			p.writerIdle, p.waitsDirect = true, true
			p.mu.Unlock()
			select {
			case <-p.wake:
			case <-readerDone:
				return nil
			case <-p.e.ctx.Done():
				return ErrClosed
			}
			continue
		}
		var end qpos
		bufs, end = p.s.q.pending(bufs[:0])
		held := len(bufs) > 0
		var hold uint64
		if held {
			hold = p.s.q.hold()
		}
		if p.ackDue {
			// After the data: a frame a direct write left half written
			// is finished first.
			p.ackDue = false
			ack = appendAck(ack[:0], p.ackNext)
			bufs = append(bufs, ack)
		}
		if len(bufs) == 0 {
			p.writerIdle = true
			p.mu.Unlock()
			select {
			case <-p.wake:
				continue
			case <-readerDone:
				return nil
			case <-p.e.ctx.Done():
				return ErrClosed
			case <-keepAlive.C:
				p.mu.Lock()
				busy := p.directBusy
				p.writerIdle = busy
				p.mu.Unlock()
				if busy {
					// Data is being written: no ping needed, and none may
					// cut into a frame a direct write left half written.
					keepAlive.Reset(cfg.KeepAlive)
					continue
				}
				bufs = append(bufs, pingFrame)
			}
		} else {
			p.writerIdle = false
			p.mu.Unlock()
		}
		conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		var n int64
		var err error
		if l.seal == nil {
			nb := net.Buffers(bufs)
			n, err = nb.WriteTo(conn)
		} else {
			sealed = sealed[:0]
			for _, b := range bufs {
				sealed = l.seal.appendSealed(sealed, b)
			}
			var w int
			w, err = conn.Write(sealed)
			n = int64(w)
		}
		clear(bufs)
		p.ctr.bytesOut.Add(uint64(n))
		if err != nil {
			if held {
				p.mu.Lock()
				p.s.q.release(hold)
				p.mu.Unlock()
			}
			return err
		}
		p.mu.Lock()
		if held {
			p.s.q.release(hold)
		}
		if held && p.s.epoch == epoch && p.out == conn {
			// Not when the frames moved to another connection meanwhile:
			// it resumes from the last ack, and must not skip what this
			// write gave a connection that is gone.
			p.s.q.sent(end)
		}
		p.mu.Unlock()
		keepAlive.Reset(cfg.KeepAlive)
	}
}

// connError counts protocol errors and broken seals on an established
// connection.
func (p *peer) connError(err error) error {
	switch {
	case errors.Is(err, ErrSealBroken):
		p.e.ctr.sealFailures.Add(1)
	case errors.Is(err, ErrProtocol) || errors.Is(err, ErrFrameTooLarge):
		p.e.ctr.protocolErrors.Add(1)
	}
	return err
}

// expect reads one handshake frame of type want; a reject becomes its
// error.
func expect(fr *frameReader, want frameType) ([]byte, error) {
	t, body, err := fr.read()
	switch {
	case err != nil:
		return nil, err
	case t == frameReject:
		return nil, rejectError(body)
	case t != want:
		return nil, fmt.Errorf("%w: got %v frame, want %v", ErrProtocol, t, want)
	}
	return body, nil
}

// refuse tells the peer why the handshake failed, best effort, and
// returns err.
func refuse(conn net.Conn, err error) error {
	conn.Write(appendFrame(nil, frameReject, encodeReject(codeOf(err), err.Error())))
	return err
}
