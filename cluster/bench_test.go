package cluster_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
)

// tcpNode is one node of a benchmark pair over real loopback TCP.
type tcpNode struct {
	rt *runtime.Runtime
	cl *cluster.Cluster
	ep *transport.Endpoint
}

// tcpPair starts two nodes on 127.0.0.1 with real TCP transport and tells
// each about the other; with a secret, every frame is sealed.
func tcpPair(b testing.TB, secret []byte) (*tcpNode, *tcpNode) {
	b.Helper()
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	start := func(name string) *tcpNode {
		tc := transport.DefaultConfig()
		tc.Name, tc.Cluster, tc.BindAddr = name, "bench", "127.0.0.1:0"
		tc.SecretKey = secret
		ep, err := transport.New(tc, nw)
		if err != nil {
			b.Fatal(err)
		}
		cc := cluster.DefaultConfig()
		cc.Node = name
		cl, err := cluster.New(cc, ep)
		if err != nil {
			b.Fatal(err)
		}
		rc := runtime.DefaultConfig()
		rc.Node, rc.Workers, rc.Router = name, 2, cl
		rt, err := runtime.New(rc)
		if err != nil {
			b.Fatal(err)
		}
		cl.Bind(rt)
		rt.Start()
		if err := ep.Start(); err != nil {
			b.Fatal(err)
		}
		n := &tcpNode{rt: rt, cl: cl, ep: ep}
		b.Cleanup(func() {
			cl.Stop()
			ep.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			rt.Stop(ctx)
		})
		return n
	}
	a, c := start("a"), start("b")
	// Both learn of the other at once, as membership tells them.
	c.cl.HandleMember(cluster.MemberEvent{Kind: cluster.MemberUp, Node: "a", Addr: a.ep.Addr(), Boot: a.ep.Boot()})
	a.cl.HandleMember(cluster.MemberEvent{Kind: cluster.MemberUp, Node: "b", Addr: c.ep.Addr(), Boot: c.ep.Boot()})
	await.Until(b, "the sessions up", func() bool {
		pa, pc := a.ep.Stats().Peers, c.ep.Stats().Peers
		return len(pa) == 1 && pa[0].Boot != 0 && (pa[0].Connects > 0 || pa[0].Duplex) &&
			len(pc) == 1 && pc[0].Boot != 0 && (pc[0].Connects > 0 || pc[0].Duplex)
	})
	return a, c
}

// BenchmarkRemoteSend64B: one Go-native process on node a sends 64-byte
// payloads to one on node b over loopback TCP. The receiver acknowledges
// every 4096 messages and the sender keeps at most `window` unacknowledged
// (flow control in the processes: the transport's send queue is bounded).
// msgs/s is end to end: from the first send to the last message handled.
func BenchmarkRemoteSend64B(b *testing.B) { remoteSend64B(b, nil) }

// BenchmarkRemoteSend64BSealed is BenchmarkRemoteSend64B with a secret:
// every frame is sealed (AES-256-GCM per record).
func BenchmarkRemoteSend64BSealed(b *testing.B) { remoteSend64B(b, bytes.Repeat([]byte{7}, 32)) }

func remoteSend64B(b *testing.B, secret []byte) {
	const window, ackEvery = 1 << 16, 1 << 12
	a, c := tcpPair(b, secret)
	payload := msg.Bytes(make([]byte, 64))
	done := make(chan struct{}, 1)
	var total int64
	var sender pid.PID
	recvd := int64(0)
	receiver, err := c.rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		recvd++
		if recvd%ackEvery == 0 || recvd == total {
			if err := ctx.Send(sender, "ack", msg.Int(recvd)); err != nil {
				return err
			}
		}
		if recvd == total {
			done <- struct{}{}
		}
		return nil
	}))})
	if err != nil {
		b.Fatal(err)
	}
	// The sender sends at most burst messages per callback and then
	// messages itself to go on, so no callback holds its worker for long.
	const burst = 1 << 10
	sent, acked := int64(0), int64(0)
	more := false
	pump := func(ctx *native.Ctx) error {
		for i := 0; i < burst && sent < total && sent-acked < window; i++ {
			if err := ctx.Send(receiver, "data", payload); err != nil {
				return err
			}
			sent++
		}
		if !more && sent < total && sent-acked < window {
			more = true
			return ctx.Send(ctx.Self(), "more", msg.Nil)
		}
		return nil
	}
	sender, err = a.rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		switch m.Topic {
		case "ack":
			acked, _ = m.Payload.AsInt()
		case "more":
			more = false
		}
		return pump(ctx)
	}))})
	if err != nil {
		b.Fatal(err)
	}
	total = int64(b.N)
	b.SetBytes(64)
	b.ResetTimer()
	a.rt.Send(pid.PID{}, sender, "go", msg.Nil)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatalf("stuck: n=%d\nsender %+v\nreceiver %+v\ncluster a %+v\ncluster b %+v\ntransport a %+v\ntransport b %+v",
			b.N, a.rt.Counters(), c.rt.Counters(), a.cl.Stats(), c.cl.Stats(), a.ep.Stats(), c.ep.Stats())
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRemoteRTT: a process on node a sends to an echo process on
// node b and waits for the reply before sending again; the latency of
// each round trip is measured inside the process and p50/p99 reported.
func BenchmarkRemoteRTT(b *testing.B) {
	a, c := tcpPair(b, nil)
	server, err := c.rt.Spawn(proc.SpawnRequest{Behavior: native.New(echo{})})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	var t0 time.Time
	n := 0
	payload := msg.Bytes(make([]byte, 64))
	client, err := a.rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(ctx *native.Ctx, m native.Message) error {
		if m.Topic == "re:ping" {
			mu.Lock()
			lat = append(lat, time.Since(t0))
			mu.Unlock()
			n++
			if n == b.N {
				close(done)
				return nil
			}
		}
		t0 = time.Now()
		return ctx.Send(server, "ping", payload)
	}))})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	a.rt.Send(pid.PID{}, client, "start", msg.Nil)
	<-done
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
