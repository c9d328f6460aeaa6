package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSendAndReply(t *testing.T) {
	rt := newRuntime(t, nil)
	p := newProbe()
	me := p.spawn(t, rt)
	echo, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		return c.Send(m.From, "re:"+m.Topic, m.Payload)
	}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Send(me, echo, "ping", msg.Int(7)); err != nil {
		t.Fatal(err)
	}
	m := recv[native.Message](t, p.ch)
	if m.Topic != "re:ping" || m.From != echo || !msg.Equal(m.Payload, msg.Int(7)) {
		t.Fatalf("got %+v", m)
	}
	if echo.Node != "n1" || echo.Host != "app:processes" {
		t.Fatalf("pid %v", echo)
	}
}

func TestBadTopicAndDeadTarget(t *testing.T) {
	rt := newRuntime(t, nil)
	p := newProbe()
	me := p.spawn(t, rt)
	for _, topic := range []string{"", "@inbox"} {
		if err := rt.Send(pid.PID{}, me, topic, msg.Nil); proc.AsError(err).Kind != proc.KindInvalid {
			t.Fatalf("topic %q: %v", topic, err)
		}
	}
	dead := pid.PID{Node: "n1", Host: "app:processes", Seq: 1}
	before := rt.Counters().Dropped[runtime.DropNoProcess]
	if err := rt.Send(pid.PID{}, dead, "x", msg.Nil); err != nil {
		t.Fatalf("send to a dead pid must not fail: %v", err)
	}
	if rt.Counters().Dropped[runtime.DropNoProcess] != before+1 {
		t.Fatal("drop to a dead pid not counted")
	}
	// A remote node never seen is NOT_FOUND on a standalone node.
	if err := rt.Send(pid.PID{}, pid.PID{Node: "other", Host: "h", Seq: 1}, "x", msg.Nil); proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("send to an unknown node: %v", err)
	}
}

// 8 senders x 100,000 messages to one receiver arrive in order per sender.
func TestPerSenderOrder(t *testing.T) {
	const senders, per = 8, 100000
	rt := newRuntime(t, nil)
	done := make(chan error, 1)
	next := map[pid.PID]int64{}
	total := 0
	recvPID, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		n, _ := m.Payload.AsInt()
		if n != next[m.From] {
			done <- errors.New("out of order")
			c.Stop(msg.Nil)
			return nil
		}
		next[m.From]++
		total++
		if total == senders*per {
			done <- nil
		}
		return nil
	}))})
	for s := 0; s < senders; s++ {
		_, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
			for i := 0; i < per; i++ {
				if err := c.Send(recvPID, "n", msg.Int(int64(i))); err != nil {
					return err
				}
			}
			c.Stop(msg.Nil)
			return nil
		}})})
		if err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("received %d of %d", total, senders*per)
	}
}

func TestLinkChainCrashPropagates(t *testing.T) {
	rt := newRuntime(t, nil)
	const n = 1000
	watcher := newProbe()
	w := watcher.spawn(t, rt)
	var pids []pid.PID
	var prev pid.PID
	for i := 0; i < n; i++ {
		link := prev
		id, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{
			init: func(c *native.Ctx, _ []msg.Value) error {
				if !link.IsZero() {
					if err := c.Link(link); err != nil {
						return err
					}
				}
				return c.Send(w, "linked", msg.Nil)
			},
			msg: func(c *native.Ctx, m native.Message) error {
				if m.Topic == "crash" {
					return errors.New("boom")
				}
				return nil
			},
		})})
		if err != nil {
			t.Fatal(err)
		}
		recv[native.Message](t, watcher.ch) // linked before the next one starts
		pids = append(pids, id)
		prev = id
	}
	// Monitor both ends to see how they die.
	mon := monitorOf(t, rt, pids[0], pids[n-1])
	rt.Send(pid.PID{}, pids[n-1], "crash", msg.Nil)
	got := map[pid.PID]native.Event{}
	for len(got) < 2 {
		e := recv[native.Event](t, mon.ch)
		got[e.From] = e
	}
	if e := got[pids[n-1]]; e.Err == nil || e.Err.Error() != "boom" {
		t.Fatalf("crashing end: %+v", e)
	}
	if e := got[pids[0]]; !proc.IsLinkDown(e.Err) || e.Err.Error() != "link down: "+pids[1].String() {
		t.Fatalf("far end: %+v", e)
	}
	await.Until(t, "chain gone", func() bool { return rt.ProcessCount() == 2 })
}

func TestTrapLinksAndNormalExit(t *testing.T) {
	rt := newRuntime(t, nil)
	trapper := newProbe()
	trapper.trap = true
	tp := trapper.spawn(t, rt)
	// A child that fails: the trapping parent gets LINK_DOWN and lives.
	spawnLinked := func(fail bool) pid.PID {
		ready := make(chan pid.PID, 1)
		trapper.on = func(c *native.Ctx, m native.Message) error {
			id, err := c.Spawn(proc.SpawnRequest{Link: true, Behavior: native.New(&fn{msg: func(c *native.Ctx, m native.Message) error {
				if fail {
					return errors.New("child failed")
				}
				c.Stop(msg.String("ok"))
				return nil
			}})})
			if err != nil {
				return err
			}
			ready <- id
			return nil
		}
		rt.Send(pid.PID{}, tp, "go", msg.Nil)
		return <-ready
	}
	child := spawnLinked(true)
	rt.Send(pid.PID{}, child, "x", msg.Nil)
	e := recv[native.Event](t, trapper.ch)
	if e.Kind != proc.DeliveryLinkDown || e.From != child || e.Err.Error() != "child failed" {
		t.Fatalf("got %+v", e)
	}
	if !rt.Alive(tp) {
		t.Fatal("trapping process died")
	}
	// A normal exit does not propagate, even to a non-trapping process.
	trapper.trap = false
	plain := newProbe()
	pp := plain.spawn(t, rt)
	child2, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{msg: func(c *native.Ctx, m native.Message) error {
		if m.Topic == "link" {
			p, _ := m.Payload.AsPID()
			return c.Link(p)
		}
		c.Stop(msg.Nil)
		return nil
	}})})
	rt.Send(pid.PID{}, child2, "link", msg.PIDValue(pp))
	rt.Send(pid.PID{}, child2, "stop", msg.Nil)
	await.Until(t, "child2 ends", func() bool { return !rt.Alive(child2) })
	expectNothing(t, plain.ch, 50*time.Millisecond)
	if !rt.Alive(pp) {
		t.Fatal("normal exit propagated along a link")
	}
}

func TestMonitorDeadPidAndExitValue(t *testing.T) {
	rt := newRuntime(t, nil)
	dead := pid.PID{Node: "n1", Host: "app:processes", Seq: 3}
	p := newProbe()
	p.init = func(c *native.Ctx) error { return c.Monitor(dead) }
	p.spawn(t, rt)
	e := recv[native.Event](t, p.ch)
	if e.Kind != proc.DeliveryExit || e.From != dead || !errors.Is(e.Err, proc.ErrNoProcess) {
		t.Fatalf("got %+v", e)
	}
	// spawn_monitored: the EXIT carries the child's value.
	q := newProbe()
	q.init = func(c *native.Ctx) error {
		_, err := c.Spawn(proc.SpawnRequest{Monitor: true, Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
			c.Stop(msg.String("result"))
			return nil
		}})})
		return err
	}
	q.spawn(t, rt)
	e = recv[native.Event](t, q.ch)
	if e.Err != nil || !msg.Equal(e.Value, msg.String("result")) {
		t.Fatalf("got %+v", e)
	}
}

func TestUnmonitorStopsExit(t *testing.T) {
	rt := newRuntime(t, nil)
	target := (&probe{ch: make(chan any, 10)}).spawn(t, rt)
	p := newProbe()
	ready := make(chan struct{})
	p.init = func(c *native.Ctx) error {
		defer close(ready)
		c.Monitor(target)
		return c.Unmonitor(target)
	}
	p.spawn(t, rt)
	<-ready
	rt.Terminate(target)
	expectNothing(t, p.ch, 50*time.Millisecond)
}

func TestCancelCleanupAndTimeout(t *testing.T) {
	rt := newRuntime(t, nil)
	// Cleans up on CANCEL and exits with a value.
	cleaned := make(chan string, 1)
	a, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{ev: func(c *native.Ctx, e native.Event) error {
		if e.Kind == proc.DeliveryCancel {
			cleaned <- e.Reason
			c.Stop(msg.String("clean"))
		}
		return nil
	}})})
	mon := monitorOf(t, rt, a)
	rt.Cancel(a, "shutdown")
	if r := <-cleaned; r != "shutdown" {
		t.Fatalf("reason %q", r)
	}
	if e := recv[native.Event](t, mon.ch); e.Err != nil || !msg.Equal(e.Value, msg.String("clean")) {
		t.Fatalf("got %+v", e)
	}
	// Ignores CANCEL on a host with cancel_timeout: terminated after it.
	b, _ := rt.Spawn(proc.SpawnRequest{Host: "app:small", Behavior: native.New(&fn{ev: func(*native.Ctx, native.Event) error { return nil }})})
	mon2 := monitorOf(t, rt, b)
	start := time.Now()
	rt.Cancel(b, "please")
	e := recv[native.Event](t, mon2.ch)
	if !errors.Is(e.Err, proc.ErrTerminated) {
		t.Fatalf("got %+v", e)
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Fatalf("terminated before the cancel timeout: %v", el)
	}
	if rt.Counters().CancelTerminated != 1 {
		t.Fatal("cancel-timeout termination not counted")
	}
}

func TestTerminateIsImmediate(t *testing.T) {
	rt := newRuntime(t, nil)
	ran := make(chan struct{}, 10)
	target, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{msg: func(*native.Ctx, native.Message) error {
		ran <- struct{}{}
		return nil
	}})})
	mon := monitorOf(t, rt, target)
	rt.Terminate(target)
	e := recv[native.Event](t, mon.ch)
	if !errors.Is(e.Err, proc.ErrTerminated) || proc.AsError(e.Err).Retryable != msg.False {
		t.Fatalf("got %+v", e)
	}
	rt.Send(pid.PID{}, target, "late", msg.Nil)
	select {
	case <-ran:
		t.Fatal("terminated process ran code")
	default:
	}
}

// A process that never blocks (it keeps sending to itself) does not stop
// others from running; nor does a callback that spins.
func TestFairness(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) { c.Workers = 1; c.Slice = 2 * time.Millisecond })
	stop := make(chan struct{})
	busy, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{
		init: func(c *native.Ctx, _ []msg.Value) error { return c.Send(c.Self(), "spin", msg.Nil) },
		msg: func(c *native.Ctx, m native.Message) error {
			select {
			case <-stop:
				c.Stop(msg.Nil)
				return nil
			default:
			}
			return c.Send(c.Self(), "spin", msg.Nil)
		},
	})})
	p := newProbe()
	me := p.spawn(t, rt)
	for i := 0; i < 100; i++ {
		rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
			c.Stop(msg.Nil)
			return c.Send(me, "hi", msg.Nil)
		}})})
	}
	for i := 0; i < 100; i++ {
		recv[native.Message](t, p.ch)
	}
	close(stop)
	await.Until(t, "busy ends", func() bool { return !rt.Alive(busy) })

	// A callback that spins until another process has run: only a
	// hand-off of the worker slot lets that other process run.
	flag := make(chan struct{})
	spinner, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		<-flag // never yields: blocks its worker goroutine outright
		c.Stop(msg.Nil)
		return nil
	}})})
	rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		close(flag)
		c.Stop(msg.Nil)
		return nil
	}})})
	await.Until(t, "spinner released", func() bool { return !rt.Alive(spinner) })
	if rt.Counters().HandOffs == 0 {
		t.Fatal("no hand-off counted")
	}
}

// A sender to a flooded mailbox gives up its turn after the delivery it
// is handling, so the receiver runs often enough to keep its backlog near
// the threshold. Without that, one worker runs the sender for a whole
// budget of deliveries (128 here, each sending 100) before the receiver
// gets a turn.
func TestFloodedReceiverGetsTurns(t *testing.T) {
	rt := newRuntime(t, func(c *runtime.Config) { c.Workers = 1; c.Slice = time.Hour })
	const chunks, per = 400, 100
	done := make(chan struct{})
	got := 0
	recvPID, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{msg: func(c *native.Ctx, m native.Message) error {
		if got++; got == chunks*per {
			close(done)
		}
		return nil
	}})})
	if err != nil {
		t.Fatal(err)
	}
	deepest, left := 0, chunks
	_, err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{
		init: func(c *native.Ctx, _ []msg.Value) error { return c.Send(c.Self(), "more", msg.Nil) },
		msg: func(c *native.Ctx, m native.Message) error {
			for i := range per {
				if err := c.Send(recvPID, "m", msg.Int(int64(i))); err != nil {
					return err
				}
			}
			deepest = max(deepest, rt.MailboxDepthMax())
			if left--; left == 0 {
				c.Stop(msg.Nil)
				return nil
			}
			return c.Send(c.Self(), "more", msg.Nil)
		},
	})})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("receiver got %d of %d", got, chunks*per)
	}
	// The receiver drains half its backlog per turn: it stays within
	// twice the threshold (4,096) plus a chunk.
	t.Logf("deepest backlog %d", deepest)
	if deepest > 2*4096+2*per {
		t.Fatalf("receiver's backlog reached %d", deepest)
	}
}

// An EXIT is seen after every message the exiting process sent to its
// monitor, with many processes exiting concurrently.
func TestExitAfterMessages(t *testing.T) {
	rt := newRuntime(t, nil)
	const children, per = 200, 50
	errs := make(chan error, 1)
	sent := map[pid.PID]int{}
	finished := 0
	doneCh := make(chan struct{})
	parent, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{
		init: func(c *native.Ctx, _ []msg.Value) error {
			self := c.Self() // a Ctx is valid only in its own callback
			for i := 0; i < children; i++ {
				_, err := c.Spawn(proc.SpawnRequest{Monitor: true, Behavior: native.New(&fn{init: func(cc *native.Ctx, _ []msg.Value) error {
					for j := 0; j < per; j++ {
						cc.Send(self, "m", msg.Int(int64(j)))
					}
					cc.Stop(msg.Nil)
					return nil
				}})})
				if err != nil {
					return err
				}
			}
			return nil
		},
		msg: func(c *native.Ctx, m native.Message) error {
			sent[m.From]++
			return nil
		},
		ev: func(c *native.Ctx, e native.Event) error {
			if e.Kind == proc.DeliveryCancel {
				c.Stop(msg.Nil)
				return nil
			}
			if sent[e.From] != per {
				select {
				case errs <- errors.New("EXIT before all messages"):
				default:
				}
			}
			finished++
			if finished == children {
				close(doneCh)
			}
			return nil
		},
	})})
	_ = parent
	select {
	case <-doneCh:
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("timeout")
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

func TestNames(t *testing.T) {
	rt := newRuntime(t, nil)
	a := newProbe()
	ap := a.spawn(t, rt)
	b := newProbe()
	bp := b.spawn(t, rt)
	if err := rt.Register("svc", ap); err != nil {
		t.Fatal(err)
	}
	if err := rt.Register("svc", ap); err != nil {
		t.Fatalf("re-registering the same pid: %v", err)
	}
	if err := rt.Register("svc", bp); proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("taken name: %v", err)
	}
	if err := rt.SendName(pid.PID{}, "svc", "hello", msg.Nil); err != nil {
		t.Fatal(err)
	}
	if m := recv[native.Message](t, a.ch); m.Topic != "hello" {
		t.Fatalf("got %+v", m)
	}
	if err := rt.SendName(pid.PID{}, "nobody", "x", msg.Nil); proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("unknown name: %v", err)
	}
	rt.Terminate(ap)
	await.Until(t, "name released", func() bool { return rt.Register("svc", bp) == nil })
	if got := rt.NamesOf(bp); len(got) != 1 || got[0] != "svc" {
		t.Fatalf("names of b: %v", got)
	}
	if err := rt.Unregister("svc"); err != nil {
		t.Fatal(err)
	}
	if err := rt.Unregister("svc"); proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("double unregister: %v", err)
	}
	// A name given at spawn.
	id, err := rt.Spawn(proc.SpawnRequest{Name: "named", Behavior: native.New(&fn{})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Spawn(proc.SpawnRequest{Name: "named", Behavior: native.New(&fn{})}); proc.AsError(err).Kind != proc.KindAlreadyExists {
		t.Fatalf("spawn with a taken name: %v", err)
	}
	if got, _ := rt.Lookup("named"); got != id {
		t.Fatalf("lookup %v, want %v", got, id)
	}
}

func TestHostLimits(t *testing.T) {
	rt := newRuntime(t, nil)
	block := make(chan struct{})
	defer close(block)
	var ids []pid.PID
	for i := 0; i < 2; i++ {
		id, err := rt.Spawn(proc.SpawnRequest{Host: "app:small", Behavior: native.New(&fn{})})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, err := rt.Spawn(proc.SpawnRequest{Host: "app:small", Behavior: native.New(&fn{})})
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || e.Retryable != msg.True {
		t.Fatalf("full host: %v", err)
	}
	if _, err := rt.Spawn(proc.SpawnRequest{Host: "app:nope", Behavior: native.New(&fn{})}); proc.AsError(err).Kind != proc.KindNotFound {
		t.Fatalf("unknown host: %v", err)
	}
	// Mailbox bound 3 on app:small: fill it while the receiver is busy.
	gate := make(chan struct{})
	slow, err := rt.Spawn(proc.SpawnRequest{Host: "app:processes", Behavior: native.New(&fn{})})
	_ = slow
	rt.Terminate(ids[0])
	await.Until(t, "slot free", func() bool { return !rt.Alive(ids[0]) })
	busy, err := rt.Spawn(proc.SpawnRequest{Host: "app:small", Behavior: native.New(&fn{msg: func(*native.Ctx, native.Message) error {
		<-gate
		return nil
	}})})
	if err != nil {
		t.Fatal(err)
	}
	rt.Send(pid.PID{}, busy, "first", msg.Nil) // taken by the busy callback
	await.Until(t, "busy running", func() bool { s, _ := rt.State(busy); return s == proc.Running })
	for i := 0; i < 3; i++ {
		if err := rt.Send(pid.PID{}, busy, "x", msg.Nil); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	err = rt.Send(pid.PID{}, busy, "x", msg.Nil)
	if e := proc.AsError(err); e == nil || e.Kind != proc.KindUnavailable || e.Retryable != msg.True {
		t.Fatalf("full mailbox: %v", err)
	}
	close(gate)
	_ = block
}

// fakeRouter records envelopes and answers as a cluster would.
type fakeRouter struct {
	mu   sync.Mutex
	sent []runtime.Envelope
	down map[string]bool
}

func (r *fakeRouter) Route(e *runtime.Envelope) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down[e.To.Node] {
		return runtime.ErrNoRoute
	}
	r.sent = append(r.sent, *e)
	return nil
}

func (r *fakeRouter) Spawn(string, pid.PID, proc.SpawnRequest) (pid.PID, error) {
	return pid.PID{}, runtime.ErrNoRoute
}

func (r *fakeRouter) kinds() []runtime.SignalKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.SignalKind
	for _, e := range r.sent {
		out = append(out, e.Kind)
	}
	return out
}

func TestRemoteRelationsAndNodeDown(t *testing.T) {
	router := &fakeRouter{down: map[string]bool{"n3": true}}
	rt := newRuntime(t, func(c *runtime.Config) { c.Router = router })
	remote := pid.PID{Node: "n2", Host: "app:processes", Seq: 9}
	mon := newProbe()
	mon.trap = true
	mon.init = func(c *native.Ctx) error {
		c.Monitor(remote)
		return c.Link(remote)
	}
	mp := mon.spawn(t, rt)
	await.Until(t, "signals routed", func() bool { return len(router.kinds()) == 2 })
	if k := router.kinds(); k[0] != runtime.SigMonitor || k[1] != runtime.SigLink {
		t.Fatalf("routed %v", k)
	}
	// Remote traffic in: a message, then the node goes down.
	rt.Deliver(&runtime.Envelope{Kind: runtime.SigMessage, From: remote, To: mp, Topic: "hi", Payload: msg.Int(1)})
	if m := recv[native.Message](t, mon.ch); m.From != remote {
		t.Fatalf("got %+v", m)
	}
	rt.NodeDown("n2")
	seen := map[proc.DeliveryKind]bool{}
	for i := 0; i < 2; i++ {
		e := recv[native.Event](t, mon.ch)
		if !errors.Is(e.Err, proc.ErrNoConnection) || e.From != remote {
			t.Fatalf("got %+v", e)
		}
		seen[e.Kind] = true
	}
	if !seen[proc.DeliveryExit] || !seen[proc.DeliveryLinkDown] {
		t.Fatalf("events %v", seen)
	}
	rt.NodeDown("n2") // fires once only
	expectNothing(t, mon.ch, 30*time.Millisecond)
	// A node with no route: link and monitor fire noconnection at once.
	unreachable := pid.PID{Node: "n3", Host: "h", Seq: 1}
	mon2 := newProbe()
	mon2.trap = true
	mon2.init = func(c *native.Ctx) error {
		c.Monitor(unreachable)
		return c.Link(unreachable)
	}
	mon2.spawn(t, rt)
	for i := 0; i < 2; i++ {
		if e := recv[native.Event](t, mon2.ch); !errors.Is(e.Err, proc.ErrNoConnection) {
			t.Fatalf("got %+v", e)
		}
	}
	// A remote process monitors a local one: its EXIT is routed.
	victim := newProbe()
	vp := victim.spawn(t, rt)
	rt.Deliver(&runtime.Envelope{Kind: runtime.SigMonitor, From: remote, To: vp})
	rt.Terminate(vp)
	await.Until(t, "exit routed", func() bool {
		k := router.kinds()
		return k[len(k)-1] == runtime.SigExit
	})
}

func TestLinkToDeadPid(t *testing.T) {
	rt := newRuntime(t, nil)
	dead := pid.PID{Node: "n1", Host: "app:processes", Seq: 5}
	trapper := newProbe()
	trapper.trap = true
	trapper.init = func(c *native.Ctx) error { return c.Link(dead) }
	trapper.spawn(t, rt)
	if e := recv[native.Event](t, trapper.ch); e.Kind != proc.DeliveryLinkDown || !errors.Is(e.Err, proc.ErrNoProcess) {
		t.Fatalf("got %+v", e)
	}
	plain := newProbe()
	plain.init = func(c *native.Ctx) error { return c.Link(dead) }
	pp := plain.spawn(t, rt)
	await.Until(t, "non-trapping linker dies", func() bool { return !rt.Alive(pp) })
}

func TestPanicBecomesExit(t *testing.T) {
	rt := newRuntime(t, nil)
	mon := newProbe()
	mon.init = func(c *native.Ctx) error {
		_, err := c.Spawn(proc.SpawnRequest{Monitor: true, Behavior: native.New(&fn{init: func(*native.Ctx, []msg.Value) error {
			panic("kaboom")
		}})})
		return err
	}
	mon.spawn(t, rt)
	e := recv[native.Event](t, mon.ch)
	if proc.ExitReason(e.Err) != "panic" {
		t.Fatalf("got %+v", e)
	}
	if rt.Counters().Exits["panic"] != 1 {
		t.Fatal("panic exit not counted")
	}
}

func TestTimers(t *testing.T) {
	rt := newRuntime(t, nil)
	fired := make(chan proc.TimerID, 4)
	var keep, stop proc.TimerID
	rt.Spawn(proc.SpawnRequest{Behavior: native.New(&timerProc{fired: fired, init: func(c *native.Ctx) {
		keep = c.After(20 * time.Millisecond)
		stop = c.After(10 * time.Millisecond)
		if !c.StopTimer(stop) {
			panic("StopTimer of a pending timer failed")
		}
	}})})
	if id := <-fired; id != keep {
		t.Fatalf("fired %d, want %d", id, keep)
	}
	select {
	case id := <-fired:
		t.Fatalf("stopped timer %d fired", id)
	case <-time.After(30 * time.Millisecond):
	}
}

type timerProc struct {
	fired chan proc.TimerID
	init  func(c *native.Ctx)
}

func (p *timerProc) Init(c *native.Ctx, _ []msg.Value) error { p.init(c); return nil }
func (p *timerProc) HandleMessage(*native.Ctx, native.Message) error {
	return nil
}
func (p *timerProc) HandleTimer(c *native.Ctx, id proc.TimerID) error {
	p.fired <- id
	return nil
}

func TestStopCancelsThenTerminates(t *testing.T) {
	cfg := runtime.DefaultConfig()
	cfg.Workers = 2
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Start()
	cleaned := make(chan struct{}, 1)
	rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{ev: func(c *native.Ctx, e native.Event) error {
		cleaned <- struct{}{}
		c.Stop(msg.Nil)
		return nil
	}})})
	stubborn, _ := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{ev: func(*native.Ctx, native.Event) error { return nil }})})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := rt.Stop(ctx); err == nil {
		t.Fatal("Stop had to terminate a process but reported no error")
	}
	<-cleaned
	if rt.Alive(stubborn) || rt.ProcessCount() != 0 {
		t.Fatal("processes left after Stop")
	}
	if _, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{})}); !errors.Is(err, runtime.ErrStopped) {
		t.Fatalf("spawn after stop: %v", err)
	}
}
