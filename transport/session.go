package transport

import "fmt"

// session is the state one endpoint keeps about its session with one peer:
// who the peer is (boot id and generation), the numbering of frames both
// ways, and the send queue. It makes every session decision and does no
// I/O; peer (the shell) holds its lock around it, turns its results into
// events and closes connections.
//
// A session is named by four numbers: both sides' boot ids and both sides'
// generations for the pair. A side bumps its own generation when it
// abandons the session; the other side learns the new generation (or a new
// boot id) at the next handshake, reports the old session lost and starts
// a fresh one. Both sides reset together, so frame numbering always
// restarts at 0 on both.
type session struct {
	name string // the peer's name

	gen      uint64 // this side's generation for the pair (never 0)
	peerBoot uint64 // 0 while no session is up
	peerGen  uint64
	streams  streamSet // streams the peer registered
	maxFrame uint64    // largest frame body the peer accepts; 0 = unknown

	// epoch changes whenever the session resets; a connection remembers
	// the epoch it joined and is stale once it differs.
	epoch uint64

	recvNext  uint64 // first sequence number not yet received from the peer
	recvBytes uint64 // payload bytes received in this session
	q         sendQueue
}

// newSession starts a session with generation gen. Generations come from
// one counter per endpoint, so they only grow, even for a peer forgotten
// and met again.
func newSession(name string, gen uint64) *session {
	return &session{name: name, gen: gen, epoch: 1}
}

// up reports whether a session with a known peer life exists.
func (s *session) up() bool { return s.peerBoot != 0 }

// frameLimit is the largest frame body that may be sent: this side's
// limit, lowered to the peer's once known, so a peer configured smaller
// never gets a frame it must refuse (and would be replayed forever).
func (s *session) frameLimit(local int) int {
	if s.maxFrame > 0 && s.maxFrame < uint64(local) {
		return int(s.maxFrame)
	}
	return local
}

// reset ends the session: it drops the send queue (plus extra frames that
// were refused on the way in), forgets the peer life and, when this side
// is the one abandoning, bumps the generation so the peer learns of it. It
// returns the loss to report, and whether there is one: a session that was
// up, or frames dropped. newGen is the generation to take when abandoning
// (0 otherwise); it must exceed the current one.
func (s *session) reset(reason error, extra uint64, newGen uint64) (SessionEvent, bool) {
	ev := SessionEvent{
		Peer:    Peer{Name: s.name, Boot: s.peerBoot},
		Reason:  reason,
		Dropped: s.q.reset() + extra,
	}
	report := s.up() || ev.Dropped > 0
	s.peerBoot, s.peerGen = 0, 0
	s.streams, s.maxFrame = streamSet{}, 0
	s.recvNext, s.recvBytes = 0, 0
	s.epoch++
	if newGen != 0 {
		s.gen = newGen
	}
	return ev, report
}

// stale reports whether a handshake presenting the peer life (boot, gen)
// is older than what this side already knows.
func (s *session) stale(boot, gen uint64) bool {
	return s.peerBoot == boot && gen < s.peerGen
}

// nextFrom is what an acceptor tells a dialer presenting (boot, gen) in
// its hello: the sequence number to resume from.
func (s *session) nextFrom(boot, gen uint64) uint64 {
	if s.peerBoot != boot || s.peerGen != gen {
		return 0
	}
	return s.recvNext
}

// observe records the peer life presented in a handshake. If it differs
// from the one the session was with, that session is lost (reported in
// lost) and a new one starts; up reports a new session.
func (s *session) observe(boot, gen uint64, streams streamSet, maxFrame uint64) (lost SessionEvent, fireLost, up bool) {
	if s.up() && (s.peerBoot != boot || s.peerGen != gen) {
		reason := ErrPeerAbandoned
		if s.peerBoot != boot {
			reason = ErrPeerRestarted
		}
		lost, fireLost = s.reset(reason, 0, 0)
	}
	if !s.up() {
		s.peerBoot, s.peerGen = boot, gen
		up = true
	}
	s.streams, s.maxFrame = streams, maxFrame
	return lost, fireLost, up
}

// resume positions the send queue to replay from next, the acceptor's
// resume point, on a new outbound connection.
func (s *session) resume(next uint64) error {
	if next > s.q.next {
		return fmt.Errorf("%w: peer expects frame %d, only %d sent", ErrSessionBroken, next, s.q.next)
	}
	if err := s.q.ack(next); err != nil {
		return err
	}
	s.q.rewind()
	return nil
}

// receive classifies an incoming data frame: deliver it, or drop it as a
// duplicate; a gap is a protocol error.
func (s *session) receive(seq uint64) (deliver bool, err error) {
	switch {
	case seq == s.recvNext:
		s.recvNext++
		return true, nil
	case seq < s.recvNext:
		return false, nil
	}
	return false, fmt.Errorf("%w: frame %d, expected %d", ErrProtocol, seq, s.recvNext)
}
