package transport

import (
	"errors"
	"testing"
	"time"
)

func TestSessionLifecycle(t *testing.T) {
	var streams streamSet
	streams.add(StreamCluster)
	s := newSession("p", 5)
	if s.up() || s.nextFrom(1, 1) != 0 {
		t.Fatal("fresh session up")
	}
	// First handshake: up, no loss.
	if _, lost, up := s.observe(100, 7, streams, 0); lost || !up || s.peerBoot != 100 || !s.streams.has(StreamCluster) {
		t.Fatalf("first observe: lost %v up %v", lost, up)
	}
	// Same life again (a reconnect): nothing to report, resume point kept.
	for _, seq := range []uint64{0, 1, 2} {
		if ok, err := s.receive(seq); !ok || err != nil {
			t.Fatalf("receive %d: %v %v", seq, ok, err)
		}
	}
	if ok, err := s.receive(1); ok || err != nil {
		t.Fatalf("duplicate: %v %v", ok, err)
	}
	if _, err := s.receive(9); !errors.Is(err, ErrProtocol) {
		t.Fatalf("gap: %v", err)
	}
	if _, lost, up := s.observe(100, 7, streams, 0); lost || up {
		t.Fatal("reconnect to the same life reported a change")
	}
	if n := s.nextFrom(100, 7); n != 3 {
		t.Fatalf("resume point %d, want 3", n)
	}
	if n := s.nextFrom(100, 8); n != 0 {
		t.Fatalf("resume point for a new generation %d, want 0", n)
	}
	if !s.stale(100, 6) || s.stale(100, 8) || s.stale(101, 1) {
		t.Fatal("stale")
	}
	// The peer abandoned (new generation): loss reported, fresh session.
	pushN(&s.q, 4, 10)
	epoch := s.epoch
	ev, lost, up := s.observe(100, 8, streams, 0)
	if !lost || !up || !errors.Is(ev.Reason, ErrPeerAbandoned) || ev.Dropped != 4 || ev.Peer != (Peer{"p", 100}) {
		t.Fatalf("peer abandoned: %+v lost %v up %v", ev, lost, up)
	}
	if s.epoch == epoch || s.recvNext != 0 || s.q.next != 0 || s.gen != 5 {
		t.Fatalf("after reset: epoch %d recv %d send %d gen %d", s.epoch, s.recvNext, s.q.next, s.gen)
	}
	// The peer restarted (new boot).
	ev, lost, _ = s.observe(200, 1, streams, 0)
	if !lost || !errors.Is(ev.Reason, ErrPeerRestarted) || ev.Peer.Boot != 100 {
		t.Fatalf("peer restarted: %+v", ev)
	}
	// This side abandons: new generation, loss reported even with no frames.
	ev, report := s.reset(ErrAbandoned, 0, 6)
	if !report || s.gen != 6 || s.up() || ev.Peer.Boot != 200 {
		t.Fatalf("abandon: %+v report %v gen %d", ev, report, s.gen)
	}
	// Abandoning a session that was never up reports only dropped frames.
	if _, report := s.reset(ErrAbandoned, 0, 7); report {
		t.Fatal("empty session reported lost")
	}
	if ev, report := s.reset(ErrQueueFull, 1, 8); !report || ev.Peer.Boot != 0 || ev.Dropped != 1 {
		t.Fatalf("overflow before any session: %+v", ev)
	}
}

func TestSessionFrameLimit(t *testing.T) {
	s := newSession("p", 1)
	if got := s.frameLimit(1000); got != 1000 {
		t.Fatalf("unknown peer limit: %d", got)
	}
	s.observe(1, 1, streamSet{}, 500)
	if got := s.frameLimit(1000); got != 500 {
		t.Fatalf("smaller peer limit: %d", got)
	}
	s.observe(1, 1, streamSet{}, 5000)
	if got := s.frameLimit(1000); got != 1000 {
		t.Fatalf("larger peer limit: %d", got)
	}
	s.reset(ErrAbandoned, 0, 2)
	if got := s.frameLimit(1000); got != 1000 {
		t.Fatalf("limit kept after reset: %d", got)
	}
}

func TestSessionResume(t *testing.T) {
	s := newSession("p", 1)
	pushN(&s.q, 10, 10)
	drain(t, &s.q)
	if err := s.resume(4); err != nil || s.q.acked != 4 {
		t.Fatalf("resume 4: %v", err)
	}
	if got := drain(t, &s.q); !equalSeqs(got, seqRange(4, 10)) {
		t.Fatalf("replay %v", got)
	}
	// A resume point below what is already acked is stale, not an error.
	s.q.ack(8)
	if err := s.resume(6); err != nil || s.q.acked != 8 {
		t.Fatalf("stale resume: %v, acked %d", err, s.q.acked)
	}
	if err := s.resume(11); !errors.Is(err, ErrSessionBroken) {
		t.Fatalf("resume beyond sent: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 10 * time.Millisecond, max: 5 * time.Second}
	var got []time.Duration
	for range 12 {
		got = append(got, b.next())
	}
	want := []time.Duration{10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5000, 5000, 5000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("step %d: %v, want %vms", i, got[i], want[i])
		}
	}
	b.reset()
	if d := b.next(); d != 10*time.Millisecond {
		t.Fatalf("after reset: %v", d)
	}
}

// The inbound reader wakes the ack writer for the first frame, when an
// ack is due at once, or when none is scheduled; not for every frame of a
// trickle while one is.
func TestAckWanted(t *testing.T) {
	cases := []struct {
		name        string
		armed       bool
		last, bytes uint64 // what the last ack said
		got         recvState
		want        bool
	}{
		{"no ack yet", true, ^uint64(0), 0, recvState{next: 1, bytes: 10}, true},
		{"none scheduled", false, 5, 50, recvState{next: 6, bytes: 60}, true},
		{"scheduled, trickle", true, 5, 50, recvState{next: 6, bytes: 60}, false},
		{"scheduled, frames due", true, 5, 50, recvState{next: 5 + ackFrames, bytes: 60}, true},
		{"scheduled, bytes due", true, 5, 50, recvState{next: 6, bytes: 50 + ackBytes}, true},
	}
	for _, c := range cases {
		var a ackState
		a.armed.Store(c.armed)
		a.next.Store(c.last)
		a.bytes.Store(c.bytes)
		if got := a.wanted(c.got); got != c.want {
			t.Errorf("%s: wanted = %v, want %v", c.name, got, c.want)
		}
	}
}
