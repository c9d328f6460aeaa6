package tcp_test

import (
	"bytes"
	"sync/atomic"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
	"github.com/wippyd/wippyd/transport/transporttest"
)

// benchPair starts two endpoints on loopback; handle receives b's frames.
func benchPair(b *testing.B, handleA, handleB transport.Handler) (*transport.Endpoint, *transport.Endpoint) {
	return benchPairKeyed(b, nil, handleA, handleB)
}

// benchPairKeyed is benchPair with a secret: every frame is sealed.
func benchPairKeyed(b *testing.B, key []byte, handleA, handleB transport.Handler) (*transport.Endpoint, *transport.Endpoint) {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	start := func(name string, h transport.Handler) *transport.Endpoint {
		cfg := transporttest.TestConfig(name, "127.0.0.1:0")
		cfg.SecretKey = key
		ep, err := transport.New(cfg, nw)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ep.Close() })
		ep.Register(transport.StreamCluster, h)
		if err := ep.Start(); err != nil {
			b.Fatal(err)
		}
		return ep
	}
	a, c := start("a", handleA), start("b", handleB)
	if err := a.Connect("b", c.Addr()); err != nil {
		b.Fatal(err)
	}
	await.Until(b, "session", func() bool {
		sa, sc := a.Stats().Peers, c.Stats().Peers
		return len(sa) == 1 && sa[0].Boot != 0 && len(sc) == 1 && sc[0].Boot != 0
	})
	return a, c
}

// BenchmarkSend64B measures one-way throughput of 64-byte bodies over
// loopback TCP, one sender goroutine, at most `window` frames in flight
// (the send queue would otherwise overflow by design).
func BenchmarkSend64B(b *testing.B) { send64B(b, nil) }

// BenchmarkSend64BSealed is BenchmarkSend64B with a secret: every frame
// sealed (AES-256-GCM per record of up to 64 KiB).
func BenchmarkSend64BSealed(b *testing.B) { send64B(b, bytes.Repeat([]byte{9}, 32)) }

func send64B(b *testing.B, key []byte) {
	const window = 1 << 18
	var got atomic.Int64
	progress := make(chan struct{}, 1)
	a, _ := benchPairKeyed(b, key, func(transport.Peer, []byte) {}, func(transport.Peer, []byte) {
		if got.Add(1)&4095 == 0 {
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	})
	body := make([]byte, 64)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range int64(b.N) {
		for i-got.Load() > window {
			<-progress
		}
		if err := a.Send("b", transport.StreamCluster, body); err != nil {
			b.Fatal(err)
		}
	}
	await.Until(b, "all frames", func() bool { return got.Load() == int64(b.N) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkSend64BParallel is BenchmarkSend64B with GOMAXPROCS senders
// sharing the peer, as processes on one node do.
func BenchmarkSend64BParallel(b *testing.B) {
	const window = 1 << 18
	var sent, got atomic.Int64
	progress := make(chan struct{}, 64)
	a, _ := benchPair(b, func(transport.Peer, []byte) {}, func(transport.Peer, []byte) {
		if got.Add(1)&1023 == 0 {
			for range 2 {
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}
	})
	b.SetBytes(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 64)
		for pb.Next() {
			for sent.Load()-got.Load() > window {
				<-progress
			}
			sent.Add(1)
			if err := a.Send("b", transport.StreamCluster, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	await.Until(b, "all frames", func() bool { return got.Load() == sent.Load() })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkRTT measures a round trip: a sends 64 bytes to b, b's handler
// sends them back, a's handler wakes the benchmark.
func BenchmarkRTT(b *testing.B) {
	back := make(chan struct{}, 1)
	var peerB atomic.Pointer[transport.Endpoint]
	a, c := benchPair(b,
		func(transport.Peer, []byte) { back <- struct{}{} },
		func(from transport.Peer, body []byte) { peerB.Load().Send(from.Name, transport.StreamCluster, body) })
	peerB.Store(c)
	// The return path: a's connection (duplex), or c's own.
	await.Until(b, "return path", func() bool { p := c.Stats().Peers[0]; return p.Connects > 0 || p.Duplex })
	body := make([]byte, 64)
	b.ResetTimer()
	for range b.N {
		if err := a.Send("b", transport.StreamCluster, body); err != nil {
			b.Fatal(err)
		}
		<-back
	}
}
