package cluster_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/cluster"
	"github.com/wippyd/wippyd/cluster/clustertest"
	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
)

// TestNoconnectionOutcome checks what docs/semantics.md says a sender
// knows after noconnection. n1 is paused with messages from n0 in flight
// (written, held back) and declared dead on n0: n0's monitor of the
// receiver fires noconnection, and n0's transport counts every
// unacknowledged message dropped. n1 resumes within the same session
// (same life, nothing told it): the messages may still arrive, after the
// sender's noconnection. What the receiver gets is, in order: a prefix of
// the in-flight messages, its own noconnection for n0's process (n1 learns
// at the new connection that n0 abandoned the session), then every
// message sent after n1 is back, in order. Nothing sent before the
// noconnection arrives after anything sent after it, and the sends made
// while n1 was down are dropped (nodedown), never delivered.
func TestNoconnectionOutcome(t *testing.T) {
	const inflight, after, maxRounds = 20, 20, 8
	blob := strings.Repeat("x", 4096)
	c := clustertest.New(t, 2)
	n0, n1 := c.Node(0), c.Node(1)
	anchor, err := n0.Runtime.Spawn(proc.SpawnRequest{Behavior: native.New(failer{})})
	if err != nil {
		t.Fatal(err)
	}
	// watcher processes: "watch" makes them monitor the PID in the payload;
	// everything else goes to the test.
	watcher := func() *probe {
		p := newProbe()
		p.on = func(ctx *native.Ctx, m native.Message) error {
			if m.Topic == "watch" {
				s, _ := m.Payload.AsString()
				target, err := pid.Parse(s)
				if err != nil {
					return err
				}
				return ctx.Monitor(target)
			}
			p.ch <- m
			return nil
		}
		return p
	}
	sp, rp := watcher(), watcher()
	sender, receiver := sp.spawnReady(t, n0.Runtime), rp.spawnReady(t, n1.Runtime)
	bytesOut := func() uint64 {
		for _, p := range n0.Endpoint.Stats().Peers {
			if p.Name == n1.Name {
				return p.BytesOut
			}
		}
		return 0
	}
	late := 0
	for round := 0; round < maxRounds && late == 0; round++ {
		c.WaitConnected()
		n0.Runtime.Send(pid.PID{}, sender, "watch", msg.String(receiver.String()))
		n1.Runtime.Send(pid.PID{}, receiver, "watch", msg.String(anchor.String()))
		dropsBefore := n0.Runtime.Counters().Dropped[runtime.DropNodeDown]
		abandonedBefore := n0.Endpoint.Stats().Dropped[transport.DropAbandoned]

		c.Net.Pause(n1.Name)
		b0 := bytesOut()
		for i := range inflight {
			n0.Runtime.Send(sender, receiver, fmt.Sprintf("inflight/%d/%d", round, i), msg.String(blob))
		}
		// Written to the connection (held back by the pause), not just
		// queued: each frame carries the 4 KiB payload.
		await.Until(t, "in-flight messages written", func() bool { return bytesOut() >= b0+inflight*4096 })
		n0.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberFailed, Node: n1.Name, Boot: n1.Boot})
		if ev := recv[native.Event](t, sp.ch); ev.From != receiver || !errors.Is(ev.Err, proc.ErrNoConnection) {
			t.Fatalf("round %d: sender got %+v, want noconnection from %v", round, ev, receiver)
		}
		if got := n0.Endpoint.Stats().Dropped[transport.DropAbandoned] - abandonedBefore; got < inflight {
			t.Fatalf("round %d: n0 counts %d messages dropped by the abandonment, want at least %d", round, got, inflight)
		}
		for i := range after {
			n0.Runtime.Send(sender, receiver, fmt.Sprintf("down/%d/%d", round, i), msg.Nil)
		}
		if got := n0.Runtime.Counters().Dropped[runtime.DropNodeDown] - dropsBefore; got != after {
			t.Fatalf("round %d: %d sends to the down node counted nodedown, want %d", round, got, after)
		}

		c.Net.Resume(n1.Name)
		n0.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberUp, Node: n1.Name, Addr: n1.Endpoint.Addr(), Boot: n1.Boot})
		await.Until(t, "n0 routes to n1 again", func() bool { return n0.Cluster.PeerUp(n1.Name) })
		for i := range after {
			n0.Runtime.Send(sender, receiver, fmt.Sprintf("new/%d/%d", round, i), msg.Nil)
		}

		// The receiver's view, in mailbox order.
		var got []string
		for {
			v := recv[any](t, rp.ch)
			switch v := v.(type) {
			case native.Message:
				got = append(got, v.Topic)
			case native.Event:
				if v.From != anchor || !errors.Is(v.Err, proc.ErrNoConnection) {
					t.Fatalf("round %d: receiver got %+v", round, v)
				}
				got = append(got, "noconnection")
			}
			if got[len(got)-1] == fmt.Sprintf("new/%d/%d", round, after-1) {
				break
			}
		}
		j := 0
		for j < len(got) && got[j] == fmt.Sprintf("inflight/%d/%d", round, j) {
			j++
		}
		want := []string{"noconnection"}
		for i := range after {
			want = append(want, fmt.Sprintf("new/%d/%d", round, i))
		}
		if fmt.Sprint(got[j:]) != fmt.Sprint(want) {
			t.Fatalf("round %d: receiver got %v\nwant a prefix of the in-flight messages, then %v", round, got, want)
		}
		t.Logf("round %d: %d of %d in-flight messages delivered after the sender's noconnection", round, j, inflight)
		late += j
	}
	if late == 0 {
		t.Fatalf("in %d rounds no in-flight message arrived after noconnection: the late delivery was not exercised", maxRounds)
	}
}

// TestNothingAfterNoconnection: once a node has declared another down,
// none of the other's messages reaches a local process after its
// noconnection. A process of n1 floods one of n0, which monitors it; the
// two are cut apart and n0 declares n1 failed while frames of the flood
// it had read are still being handed over: the receiver gets its
// monitor's EXIT, then nothing more from n1 (the rest of the old session
// is dropped, counted nodedown).
func TestNothingAfterNoconnection(t *testing.T) {
	const n = 50_000
	c := clustertest.New(t, 2)
	n0, n1 := c.Node(0), c.Node(1)
	fp := newProbe()
	fp.on = func(ctx *native.Ctx, m native.Message) error {
		s, _ := m.Payload.AsString()
		to, err := pid.Parse(s)
		if err != nil {
			return err
		}
		for i := range n {
			if err := ctx.Send(to, "m", msg.Int(int64(i))); err != nil {
				return err
			}
		}
		return nil
	}
	flooder := fp.spawnReady(t, n1.Runtime)
	rp := newProbe()
	rp.init = func(ctx *native.Ctx) error { return ctx.Monitor(flooder) }
	receiver := rp.spawnReady(t, n0.Runtime)
	n1.Runtime.Send(pid.PID{}, flooder, "go", msg.String(receiver.String()))
	for got := 0; got < 2000; got++ {
		recv[native.Message](t, rp.ch)
	}
	// Cut apart first, so no new session starts: all that n0 hands over
	// from now on is what it had read before.
	c.Partition(0, 1)
	n0.Members.Emit(cluster.MemberEvent{Kind: cluster.MemberFailed, Node: n1.Name, Boot: n1.Boot})
	for {
		v := recv[any](t, rp.ch)
		if ev, ok := v.(native.Event); ok {
			if ev.From != flooder || !errors.Is(ev.Err, proc.ErrNoConnection) {
				t.Fatalf("receiver got %+v", ev)
			}
			break
		}
	}
	late := 0
	await.Never(t, 300*time.Millisecond, "a message from n1 after the noconnection", func() bool {
		for len(rp.ch) > 0 {
			<-rp.ch
			late++
		}
		return late > 0
	})
	if st := n0.Cluster.Stats(); st.Dropped[cluster.DropNodeDown] == 0 {
		t.Logf("no frame of the old session was left to drop (stats %+v)", st.Dropped)
	}
}
