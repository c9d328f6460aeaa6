package tcp_test

import (
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
	"github.com/wippyd/wippyd/transport/transporttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newNet(t *testing.T) transporttest.Net {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return transporttest.NewFaulty(
		func(string) transport.Network { return nw },
		func(string) string { return "127.0.0.1:0" },
	)
}

func TestContract(t *testing.T) { transporttest.Run(t, newNet) }

func TestContractSealed(t *testing.T) { transporttest.RunSealed(t, newNet) }

// startEndpoint starts endpoint name on nw (mod, when given, adjusts its
// configuration) with h on the cluster stream and onUp, when given, as
// its session-up hook.
func startEndpoint(t *testing.T, nw transport.Network, name string, mod func(*transport.Config), h transport.Handler, onUp func(transport.SessionEvent)) *transport.Endpoint {
	t.Helper()
	cfg := transporttest.TestConfig(name, "127.0.0.1:0")
	if mod != nil {
		mod(&cfg)
	}
	ep, err := transport.New(cfg, nw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	ep.Register(transport.StreamCluster, h)
	if onUp != nil {
		ep.OnSessionUp(onUp)
	}
	if err := ep.Start(); err != nil {
		t.Fatal(err)
	}
	return ep
}

// echoPair starts endpoints a and b over TCP (mod, when given, adjusts
// both configurations) and waits for their session: a's frames go to
// onA; b hands each frame to onB, when given, and sends it back to a.
func echoPair(t *testing.T, mod func(*transport.Config), onA transport.Handler, onB func(body []byte)) (a, b *transport.Endpoint) {
	t.Helper()
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	a = startEndpoint(t, nw, "a", mod, onA, nil)
	b = startEndpoint(t, nw, "b", mod, func(_ transport.Peer, body []byte) {
		if onB != nil {
			onB(body)
		}
		if err := b.Send("a", transport.StreamCluster, body); err != nil {
			t.Error(err)
		}
	}, nil)
	if err := a.Connect("b", b.Addr()); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "session", func() bool {
		sa, sb := a.Stats().Peers, b.Stats().Peers
		return len(sa) == 1 && sa[0].Boot != 0 && (sa[0].Connects > 0 || sa[0].Duplex) &&
			len(sb) == 1 && sb[0].Boot != 0 && (sb[0].Connects > 0 || sb[0].Duplex)
	})
	return a, b
}

// A request/reply stream over TCP: each side's Send writes its frame to
// the socket itself (the writer waits with nothing queued), and every
// frame arrives once and in order.
func TestDirectWrites(t *testing.T) {
	const rounds = 300
	replies := make(chan int, 1)
	next := 0 // b's handler runs one frame at a time
	a, b := echoPair(t, nil, func(_ transport.Peer, body []byte) { replies <- int(body[0]) | int(body[1])<<8 }, func(body []byte) {
		if got := int(body[0]) | int(body[1])<<8; got != next {
			t.Errorf("request %d, want %d", got, next)
		}
		next++
	})
	for i := range rounds {
		if err := a.Send("b", transport.StreamCluster, []byte{byte(i), byte(i >> 8), 7}); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-replies:
			if got != i {
				t.Fatalf("reply %d, want %d", got, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply to request %d", i)
		}
	}
	da, db := a.Stats().Peers[0].DirectWrites, b.Stats().Peers[0].DirectWrites
	if (da == 0 || db == 0) && goruntime.GOOS != "windows" { // Windows has no direct writes
		t.Fatalf("direct writes: a %d, b %d of %d frames each", da, db, rounds)
	}
	t.Logf("direct writes: a %d, b %d of %d frames each", da, db, rounds)
}

// Concurrent request/reply streams mix direct writes with the writer's;
// an idle connection afterwards still carries keep-alives, so it is not
// dropped for silence.
func TestDirectWritesThenIdle(t *testing.T) {
	const senders, rounds = 4, 300
	var replies [senders]chan int
	for i := range replies {
		replies[i] = make(chan int, 1)
	}
	a, b := echoPair(t, func(cfg *transport.Config) {
		cfg.KeepAlive, cfg.ReadTimeout = 20*time.Millisecond, 200*time.Millisecond
	}, func(_ transport.Peer, body []byte) { replies[body[0]] <- int(body[1]) | int(body[2])<<8 }, nil)
	done := make(chan error, senders)
	for s := range senders {
		go func() {
			for i := range rounds {
				if err := a.Send("b", transport.StreamCluster, []byte{byte(s), byte(i), byte(i >> 8)}); err != nil {
					done <- err
					return
				}
				select {
				case got := <-replies[s]:
					if got != i {
						done <- fmt.Errorf("sender %d: reply %d, want %d", s, got, i)
						return
					}
				case <-time.After(10 * time.Second):
					done <- fmt.Errorf("sender %d: no reply to %d", s, i)
					return
				}
			}
			done <- nil
		}()
	}
	for range senders {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Idle for five read timeouts: only keep-alives cross.
	<-time.After(time.Second)
	sa, sb := a.Stats(), b.Stats()
	if c := sa.Peers[0].Connects; c != 1 {
		t.Fatalf("a connected %d times: an idle connection was dropped", c)
	}
	if sa.Peers[0].DirectWrites == 0 && goruntime.GOOS != "windows" {
		t.Fatal("no direct writes")
	}
	if d := sa.Dropped[transport.DropDuplicate] + sb.Dropped[transport.DropDuplicate]; d != 0 {
		t.Fatalf("%d duplicates", d)
	}
}

// blockingWork is deferred work that hands the reading on, then blocks.
type blockingWork struct {
	started chan struct{}
	release chan struct{}
	ended   chan struct{}
}

func (w *blockingWork) RunDeferred(detach func()) {
	close(w.started)
	detach()
	<-w.release
	close(w.ended)
}

// Work a handler leaves to the reader of a short read runs on it after
// the delivery; when that work hands the reading on and blocks, the
// peer's next frames are still read and delivered, and Close does not
// wait for the blocked work.
func TestDeferredWorkDetaches(t *testing.T) {
	work := &blockingWork{started: make(chan struct{}), release: make(chan struct{}), ended: make(chan struct{})}
	got := make(chan byte, 16)
	deferred := make(chan bool, 1)
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{}, 1)
	var srv *transport.Endpoint
	srv = startEndpoint(t, nw, "srv", nil, func(from transport.Peer, body []byte) {
		if body[0] == 0 {
			deferred <- srv.Defer(from, work)
			return
		}
		got <- body[0]
	}, func(transport.SessionEvent) { up <- struct{}{} })
	cli := startEndpoint(t, nw, "cli", nil, func(transport.Peer, []byte) {}, nil)
	if err := cli.Connect("srv", srv.Addr()); err != nil {
		t.Fatal(err)
	}
	// Once the session-up hook ran, nothing is queued for delivery: the
	// reader delivers the next read itself.
	select {
	case <-up:
	case <-time.After(10 * time.Second):
		t.Fatal("no session")
	}
	if err := cli.Send("srv", transport.StreamCluster, []byte{0}); err != nil {
		t.Fatal(err)
	}
	if !<-deferred {
		t.Fatal("the reader of a one-frame read did not take the work")
	}
	select {
	case <-work.started:
	case <-time.After(10 * time.Second):
		t.Fatal("deferred work never ran")
	}
	for i := byte(1); i <= 5; i++ {
		if err := cli.Send("srv", transport.StreamCluster, []byte{i}); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-got:
			if v != i {
				t.Fatalf("frame %d, want %d", v, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("frame %d not delivered while the deferred work blocks", i)
		}
	}
	if n := srv.Stats().ReadersDetached; n != 1 {
		t.Fatalf("ReadersDetached %d, want 1", n)
	}
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the blocked deferred work")
	}
	close(work.release)
	<-work.ended
}
