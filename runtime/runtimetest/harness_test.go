package runtimetest_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/runtimetest"
)

func wantSent(t *testing.T, got []runtimetest.Sent, want ...runtimetest.Sent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("sent %d messages %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.To != w.To || g.Name != w.Name || g.Topic != w.Topic || !msg.Equal(g.Payload, w.Payload) {
			t.Errorf("sent[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func wantDone(t *testing.T, h *runtimetest.Harness, value msg.Value, err error) {
	t.Helper()
	res, done := h.Done()
	if !done {
		t.Fatalf("process not done (status %v)", h.Status())
	}
	if !msg.Equal(res.Value, value) || !errors.Is(res.Err, err) || (err == nil) != (res.Err == nil) {
		t.Fatalf("ended with (%v, %v), want (%v, %v)", res.Value, res.Err, value, err)
	}
}

func TestCounter(t *testing.T) {
	h := runtimetest.New(t, native.New(&counter{}))
	h.Start()
	for range 3 {
		h.Send(client, "inc", msg.Nil)
	}
	if got := h.TakeSent(); len(got) != 0 {
		t.Fatalf("inc sent %v", got)
	}
	h.Send(client, "get", msg.Nil)
	wantSent(t, h.TakeSent(), runtimetest.Sent{To: client, Topic: "count", Payload: msg.Int(3)})
	if h.Steps() != 5 || h.Status() != proc.StatusIdle {
		t.Fatalf("steps %d status %v, want 5 idle", h.Steps(), h.Status())
	}
	if got := h.TakeSent(); got != nil {
		t.Fatalf("TakeSent did not clear: %v", got)
	}
	// One Step, one batch: the count is read after both incs.
	h.Deliver(
		proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "inc"},
		proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "inc"},
		proc.Delivery{Kind: proc.DeliveryMessage, From: other, Topic: "get"},
	)
	wantSent(t, h.Sent(), runtimetest.Sent{To: other, Topic: "count", Payload: msg.Int(5)})
	if h.Steps() != 6 {
		t.Fatalf("a batch took %d Steps", h.Steps()-5)
	}
	// An error from a callback ends the process with it.
	h.Send(client, "oops", msg.Nil)
	res, done := h.Done()
	if !done || res.Err == nil || h.Killed() {
		t.Fatalf("unknown topic: done=%v res=%+v killed=%v", done, res, h.Killed())
	}
}

func TestEcho(t *testing.T) {
	payloads := []msg.Value{
		msg.Nil, msg.Bool(true), msg.Int(-7), msg.Float(2.5), msg.String("hi"), msg.Bytes([]byte{0, 1}),
		msg.List(msg.Int(1), msg.String("x")), msg.StringMap(map[string]msg.Value{"k": msg.Int(1)}),
		msg.PIDValue(other),
	}
	h := runtimetest.New(t, native.New(echo{}))
	h.Start()
	if got := h.Registered(); len(got) != 1 || got["echo"] != h.Self() {
		t.Fatalf("registered %v, want echo -> %v", got, h.Self())
	}
	for _, p := range payloads {
		h.Send(client, "say", p)
		wantSent(t, h.TakeSent(), runtimetest.Sent{To: client, Topic: "say", Payload: p})
	}
	if _, done := h.Done(); done {
		t.Fatal("echo ended")
	}
}

func TestEchoSendError(t *testing.T) {
	boom := errors.New("link cut")
	h := runtimetest.New(t, native.New(echo{}), runtimetest.WithSendError(other, boom))
	h.Start()
	h.Send(client, "a", msg.Int(1))
	h.Send(other, "b", msg.Int(2))
	wantSent(t, h.Sent(), runtimetest.Sent{To: client, Topic: "a", Payload: msg.Int(1)})
	wantDone(t, h, msg.Nil, boom)
}

func TestTicker(t *testing.T) {
	start := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	h := runtimetest.New(t, native.New(&ticker{period: time.Second, max: 3}, msg.PIDValue(client)),
		runtimetest.WithClock(start))
	h.Start()
	if got := h.Timers(); len(got) != 1 || !got[0].At.Equal(start.Add(time.Second)) {
		t.Fatalf("timers %v, want one at +1s", got)
	}
	h.Advance(999 * time.Millisecond)
	if len(h.Sent()) != 0 || h.Steps() != 1 {
		t.Fatalf("a timer fired early: sent %v, %d steps", h.Sent(), h.Steps())
	}
	h.Advance(time.Millisecond)
	wantSent(t, h.TakeSent(), runtimetest.Sent{To: client, Topic: "tick", Payload: msg.Int(start.Add(time.Second).UnixMilli())})

	h.Send(client, "pause", msg.Nil)
	if len(h.Timers()) != 0 {
		t.Fatalf("pause left timers %v", h.Timers())
	}
	h.Advance(time.Hour)
	if len(h.Sent()) != 0 {
		t.Fatalf("a stopped timer fired: %v", h.Sent())
	}
	h.Send(client, "resume", msg.Nil)
	// Timers started while Advance runs fire in the same Advance, each
	// Step seeing the clock at its own deadline.
	resumed := h.Now()
	h.Advance(10 * time.Second)
	wantSent(t, h.TakeSent(),
		runtimetest.Sent{To: client, Topic: "tick", Payload: msg.Int(resumed.Add(time.Second).UnixMilli())},
		runtimetest.Sent{To: client, Topic: "tick", Payload: msg.Int(resumed.Add(2 * time.Second).UnixMilli())},
	)
	wantDone(t, h, msg.Int(3), nil)
	// The process ended at the second tick; the clock still reaches the end
	// of the Advance.
	if got, want := h.Now(), resumed.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("clock %v, want %v", got, want)
	}
	if len(h.Timers()) != 0 {
		t.Fatalf("an ended process kept timers %v", h.Timers())
	}
}

func TestTimerOrder(t *testing.T) {
	var fired []int64
	var ids []proc.TimerID
	b := &stepFunc{step: func(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
		if len(batch) > 1 {
			t.Errorf("timers batched: %v", batch)
		}
		if ids == nil {
			ids = []proc.TimerID{env.StartTimer(3 * time.Second), env.StartTimer(time.Second), env.StartTimer(time.Second), env.StartTimer(-time.Second)}
			return proc.StatusBlock, proc.Result{}
		}
		for _, d := range batch {
			if d.Kind != proc.DeliveryTimer {
				t.Errorf("got %v, want a timer", d.Kind)
			}
			id, ok := d.Payload.AsInt()
			if !ok {
				t.Errorf("timer payload %v is not an int", d.Payload)
			}
			fired = append(fired, id)
		}
		return proc.StatusBlock, proc.Result{}
	}}
	h := runtimetest.New(t, b)
	h.Start()
	h.Advance(0)
	if !slices.Equal(fired, []int64{int64(ids[3])}) {
		t.Fatalf("Advance(0) fired %v, want the negative-duration timer %d", fired, ids[3])
	}
	h.Advance(5 * time.Second)
	want := []int64{int64(ids[3]), int64(ids[1]), int64(ids[2]), int64(ids[0])}
	if !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want by deadline then id %v", fired, want)
	}
	if h.Status() != proc.StatusBlock || h.Steps() != 5 {
		t.Fatalf("status %v after %d steps", h.Status(), h.Steps())
	}
}

func TestPoolRestartsFailedWorkers(t *testing.T) {
	h := runtimetest.New(t, native.New(&pool{}, msg.Int(1), msg.Int(2)))
	h.Start()
	spawned := h.TakeSpawned()
	if len(spawned) != 2 {
		t.Fatalf("spawned %v, want 2 workers", spawned)
	}
	w1, w2 := spawned[0].PID, spawned[1].PID
	for i, s := range spawned {
		if s.Entry != "app:worker" || !s.Monitor || s.Link || len(s.Args) != 1 || !msg.Equal(s.Args[0], msg.Int(int64(i+1))) {
			t.Errorf("spawn %d: %+v", i, s.SpawnRequest)
		}
		if s.PID.Host != runtimetest.DefaultHost || s.PID.Node != h.Self().Node || s.PID == h.Self() {
			t.Errorf("spawn %d got PID %v (self %v)", i, s.PID, h.Self())
		}
	}
	if w1 == w2 {
		t.Fatalf("two workers got one PID %v", w1)
	}
	if got := h.Monitors(); !slices.Equal(got, []pid.PID{w1, w2}) {
		t.Fatalf("monitors %v, want %v", got, []pid.PID{w1, w2})
	}

	h.Exit(w1, msg.Nil, errors.New("crashed"))
	re := h.TakeSpawned()
	if len(re) != 1 || !msg.Equal(re[0].Args[0], msg.Int(1)) {
		t.Fatalf("restart spawned %v, want worker 1 again", re)
	}
	w3 := re[0].PID
	if got := h.Monitors(); !slices.Equal(got, []pid.PID{w2, w3}) {
		t.Fatalf("monitors after restart %v, want %v", got, []pid.PID{w2, w3})
	}

	h.Exit(w2, msg.Int(42), nil)
	if len(h.Spawned()) != 0 {
		t.Fatalf("a normal exit was restarted: %v", h.Spawned())
	}
	h.Exit(w3, msg.Nil, nil)
	wantDone(t, h, msg.String("all done"), nil)
}

func TestPoolSpawnFailure(t *testing.T) {
	full := proc.NewError(proc.KindUnavailable, "host is full", msg.True)
	h := runtimetest.New(t, native.New(&pool{}, msg.Int(1)), runtimetest.WithSpawnError(full))
	h.Start()
	wantDone(t, h, msg.Nil, full)
	if len(h.Spawned()) != 0 || len(h.Monitors()) != 0 {
		t.Fatalf("a failed spawn was recorded: %v, monitors %v", h.Spawned(), h.Monitors())
	}
}

func TestPoolCancelsWorkersOnCancel(t *testing.T) {
	h := runtimetest.New(t, native.New(&pool{}, msg.Int(1)))
	h.Start()
	w := h.Spawned()[0].PID
	h.Cancel(client, "shutdown")
	if got := h.Cancelled(); len(got) != 1 || got[0] != (runtimetest.Cancellation{PID: w, Reason: "shutdown"}) {
		t.Fatalf("cancelled %v", got)
	}
	wantDone(t, h, msg.Nil, nil)
}

func TestCancel(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		// A native process without HandleEvent ends normally on CANCEL.
		h := runtimetest.New(t, native.New(&counter{}))
		h.Start()
		h.Cancel(client, "bye")
		wantDone(t, h, msg.Nil, nil)
		if h.Killed() || h.Status() != proc.StatusDone {
			t.Fatalf("killed=%v status=%v", h.Killed(), h.Status())
		}
	})
	t.Run("handled", func(t *testing.T) {
		h := runtimetest.New(t, native.New(polite{}))
		h.Start()
		h.Cancel(client, "shutdown")
		wantSent(t, h.Sent(), runtimetest.Sent{To: client, Topic: "bye", Payload: msg.Nil})
		wantDone(t, h, msg.String("shutdown"), nil)
	})
	t.Run("self", func(t *testing.T) {
		// A cancel of itself arrives in the next Step, as it would on a node.
		b := &stepFunc{}
		b.step = func(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
			if len(batch) == 0 {
				if err := env.Cancel(env.Self(), "myself"); err != nil {
					t.Error(err)
				}
				return proc.StatusIdle, proc.Result{}
			}
			if r, _ := batch[0].Payload.AsString(); batch[0].Kind != proc.DeliveryCancel || r != "myself" {
				t.Errorf("got %+v, want my own cancel", batch[0])
			}
			return proc.StatusDone, proc.Result{Value: msg.String("cancelled")}
		}
		h := runtimetest.New(t, b)
		h.Start()
		wantDone(t, h, msg.String("cancelled"), nil)
		if h.Steps() != 2 {
			t.Fatalf("%d steps, want 2", h.Steps())
		}
	})
}

func TestStartWithMessage(t *testing.T) {
	// A process spawned with a SpawnRequest.Message finds it in its first batch.
	h := runtimetest.New(t, native.New(&counter{}))
	h.Start(proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "get"})
	wantSent(t, h.Sent(), runtimetest.Sent{To: client, Topic: "count", Payload: msg.Int(0)})
	h.Deliver() // an empty batch is a Step too
	if h.Steps() != 2 {
		t.Fatalf("%d steps, want 2", h.Steps())
	}
}

// countdown sends itself "n" down to zero, then tells its owner.
func TestSelfSendRunsUntilIdle(t *testing.T) {
	h := runtimetest.New(t, native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		n, _ := m.Payload.AsInt()
		if n == 0 {
			return c.Send(client, "liftoff", msg.Nil)
		}
		return c.Send(c.Self(), "n", msg.Int(n-1))
	})))
	h.Start()
	h.Send(client, "n", msg.Int(3))
	if h.Steps() != 5 || h.Status() != proc.StatusIdle {
		t.Fatalf("steps %d status %v, want 5 idle", h.Steps(), h.Status())
	}
	sent := h.Sent()
	if len(sent) != 4 || sent[3].Topic != "liftoff" || sent[0].To != h.Self() {
		t.Fatalf("sent %v", sent)
	}
}

func TestYieldRunsAgain(t *testing.T) {
	left := 3
	b := &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
		if left > 0 {
			left--
			return proc.StatusYield, proc.Result{}
		}
		return proc.StatusIdle, proc.Result{}
	}}
	h := runtimetest.New(t, b)
	h.Start()
	if h.Steps() != 4 || h.Status() != proc.StatusIdle {
		t.Fatalf("steps %d status %v, want 4 idle", h.Steps(), h.Status())
	}
}

func TestMonitorAndLinkDeadPIDs(t *testing.T) {
	gone := pid.PID{Node: "test", Host: "app:clients", Seq: 999}
	event := func(kind string, from pid.PID, err error) runtimetest.Sent {
		return runtimetest.Sent{To: client, Topic: "event", Payload: msg.List(msg.String(kind), msg.PIDValue(from), msg.String(err.Error()))}
	}
	t.Run("monitor", func(t *testing.T) {
		h := runtimetest.New(t, native.New(&watcher{owner: client}), runtimetest.WithDead(gone))
		h.Start()
		h.Send(client, "watch", msg.PIDValue(gone))
		wantSent(t, h.Sent(), event("exit", gone, proc.ErrNoProcess))
		if len(h.Monitors()) != 0 {
			t.Fatalf("a delivered EXIT left its monitor: %v", h.Monitors())
		}
	})
	t.Run("monitor then unmonitor", func(t *testing.T) {
		h := runtimetest.New(t, native.New(&watcher{owner: client}), runtimetest.WithDead(gone))
		h.Start()
		h.Send(client, "watch+unwatch", msg.PIDValue(gone))
		if len(h.Sent()) != 0 || h.Steps() != 2 {
			t.Fatalf("the EXIT of a removed monitor arrived: %v (%d steps)", h.Sent(), h.Steps())
		}
	})
	t.Run("link trapping", func(t *testing.T) {
		h := runtimetest.New(t, native.New(&watcher{owner: client, trap: true}), runtimetest.WithDead(gone))
		h.Start()
		if !h.TrapLinks() {
			t.Fatal("TrapLinks not recorded")
		}
		h.Send(client, "link", msg.PIDValue(gone))
		wantSent(t, h.Sent(), event("link_down", gone, proc.ErrNoProcess))
		if len(h.Links()) != 0 {
			t.Fatalf("linked to a dead PID: %v", h.Links())
		}
	})
	t.Run("link not trapping", func(t *testing.T) {
		b := native.New(&watcher{owner: client})
		h := runtimetest.New(t, b, runtimetest.WithDead(gone))
		h.Start()
		h.Send(client, "link", msg.PIDValue(gone))
		wantDone(t, h, msg.Nil, proc.LinkDown(gone))
		if !h.Killed() || len(h.Sent()) != 0 {
			t.Fatalf("killed=%v sent=%v", h.Killed(), h.Sent())
		}
	})
	t.Run("send", func(t *testing.T) {
		h := runtimetest.New(t, native.New(echo{}), runtimetest.WithDead(gone))
		h.Start()
		h.Send(gone, "late", msg.Nil) // the sender died after sending
		if _, done := h.Done(); done {
			t.Fatal("a send to a dead PID was an error")
		}
		wantSent(t, h.Sent(), runtimetest.Sent{To: gone, Topic: "late", Payload: msg.Nil})
	})
}

func TestExitAndLinkDown(t *testing.T) {
	peer := pid.PID{Node: "test", Host: "app:clients", Seq: 7}
	boom := errors.New("boom")
	spawnPeer := func(link, monitor, trap bool) (*runtimetest.Harness, *[][]proc.Delivery) {
		var batches [][]proc.Delivery
		b := &stepFunc{step: func(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
			if env.Now().IsZero() {
				t.Error("zero clock")
			}
			if batch == nil && len(batches) == 0 && !env.Killed() {
				env.TrapLinks(trap)
				if _, err := env.Spawn(proc.SpawnRequest{Entry: "app:peer", Link: link, Monitor: monitor}); err != nil {
					t.Error(err)
				}
			}
			batches = append(batches, batch)
			return proc.StatusIdle, proc.Result{}
		}}
		h := runtimetest.New(t, b, runtimetest.WithSpawner(func(proc.SpawnRequest) (pid.PID, error) { return peer, nil }))
		h.Start()
		return h, &batches
	}
	kinds := func(batch []proc.Delivery) []proc.DeliveryKind {
		var out []proc.DeliveryKind
		for _, d := range batch {
			if d.From != peer || !errors.Is(d.Err, boom) {
				t.Errorf("delivery %+v, want from %v with %v", d, peer, boom)
			}
			out = append(out, d.Kind)
		}
		return out
	}

	h, batches := spawnPeer(true, true, true)
	if !slices.Equal(h.Links(), []pid.PID{peer}) || !slices.Equal(h.Monitors(), []pid.PID{peer}) {
		t.Fatalf("links %v monitors %v", h.Links(), h.Monitors())
	}
	h.Exit(peer, msg.String("dropped"), boom)
	if got := kinds((*batches)[1]); !slices.Equal(got, []proc.DeliveryKind{proc.DeliveryLinkDown, proc.DeliveryExit}) {
		t.Fatalf("linked+monitored+trapping failure delivered %v", got)
	}
	if p := (*batches)[1][1].Payload; !p.IsNil() {
		t.Fatalf("the EXIT of a failure carries %v, want nil", p)
	}
	if len(h.Links())+len(h.Monitors()) != 0 {
		t.Fatalf("relations survived the exit: %v %v", h.Links(), h.Monitors())
	}

	h, _ = spawnPeer(true, true, false)
	h.Exit(peer, msg.Nil, boom)
	wantDone(t, h, msg.Nil, proc.LinkDown(peer))
	if !h.Killed() || h.Steps() != 1 {
		t.Fatalf("not killed instead of stepped: killed=%v steps=%d", h.Killed(), h.Steps())
	}

	h, batches = spawnPeer(true, false, false)
	h.Exit(peer, msg.Int(1), nil) // a normal exit only unlinks
	if _, done := h.Done(); done || len(h.Links()) != 0 || len(*batches) != 1 {
		t.Fatalf("normal exit of a link: done=%v links=%v steps=%d", done, h.Links(), len(*batches))
	}

	h, batches = spawnPeer(true, true, true)
	h.LinkDown(peer, boom)
	if got := kinds((*batches)[1]); !slices.Equal(got, []proc.DeliveryKind{proc.DeliveryLinkDown}) {
		t.Fatalf("LinkDown delivered %v", got)
	}
	if len(h.Links()) != 0 || len(h.Monitors()) != 1 {
		t.Fatalf("LinkDown: links %v monitors %v", h.Links(), h.Monitors())
	}

	h, _ = spawnPeer(true, false, false)
	h.LinkDown(peer, proc.ErrNoConnection)
	wantDone(t, h, msg.Nil, proc.LinkDown(peer))
}

func TestKill(t *testing.T) {
	t.Run("from the test", func(t *testing.T) {
		b := &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
			return proc.StatusIdle, proc.Result{}
		}}
		h := runtimetest.New(t, b)
		h.Start()
		h.Kill(nil)
		wantDone(t, h, msg.Nil, proc.ErrTerminated)
		if !h.Killed() || len(b.kills) != 1 || !errors.Is(b.kills[0], proc.ErrTerminated) {
			t.Fatalf("killed=%v kills=%v", h.Killed(), b.kills)
		}
	})
	t.Run("during a step", func(t *testing.T) {
		var h *runtimetest.Harness
		handled := 0
		reason := errors.New("enough")
		h = runtimetest.New(t, native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
			handled++
			if m.Topic == "die" {
				h.Kill(reason)
				if !c.Env().Killed() {
					t.Error("Env.Killed false after Kill")
				}
			}
			return nil
		})))
		h.Start()
		h.Deliver(
			proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "a"},
			proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "die"},
			proc.Delivery{Kind: proc.DeliveryMessage, From: client, Topic: "b"},
		)
		if handled != 2 {
			t.Fatalf("handled %d messages, want 2: native stops when killed", handled)
		}
		wantDone(t, h, msg.Nil, reason)
		if !h.Killed() {
			t.Fatal("not killed")
		}
	})
	t.Run("done wins over a kill", func(t *testing.T) {
		var h *runtimetest.Harness
		b := &stepFunc{step: func(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
			h.Kill(nil)
			return proc.StatusDone, proc.Result{Value: msg.Int(1)}
		}}
		h = runtimetest.New(t, b)
		h.Start()
		wantDone(t, h, msg.Int(1), nil)
		if h.Killed() || len(b.kills) != 0 {
			t.Fatalf("Kill called on a process that returned done: %v", b.kills)
		}
	})
	t.Run("terminate self", func(t *testing.T) {
		h := runtimetest.New(t, &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
			if err := env.Terminate(other); err != nil {
				t.Error(err)
			}
			if env.Killed() {
				t.Error("terminating another process killed this one")
			}
			if err := env.Terminate(env.Self()); err != nil {
				t.Error(err)
			}
			if !env.Killed() {
				t.Error("Env.Killed false after terminating itself")
			}
			return proc.StatusIdle, proc.Result{}
		}})
		h.Start()
		wantDone(t, h, msg.Nil, proc.ErrTerminated)
		if got := h.Terminated(); !slices.Equal(got, []pid.PID{other, h.Self()}) {
			t.Fatalf("terminated %v", got)
		}
	})
}

// spinner blocks its Step until interrupted, as a Lua state in a loop does.
type spinner struct {
	entered, stop chan struct{}
	kills         []error
}

func (s *spinner) Step(proc.Env, []proc.Delivery) (proc.Status, proc.Result) {
	close(s.entered)
	<-s.stop
	return proc.StatusYield, proc.Result{}
}

func (s *spinner) Kill(reason error) { s.kills = append(s.kills, reason) }
func (s *spinner) Interrupt()        { close(s.stop) }

func TestKillInterruptsFromAnotherGoroutine(t *testing.T) {
	s := &spinner{entered: make(chan struct{}), stop: make(chan struct{})}
	h := runtimetest.New(t, s)
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		<-s.entered
		h.Kill(proc.ErrTerminated)
	}()
	h.Start()
	<-killed
	wantDone(t, h, msg.Nil, proc.ErrTerminated)
	if len(s.kills) != 1 || h.Steps() != 1 {
		t.Fatalf("kills %v after %d steps", s.kills, h.Steps())
	}
}

func TestSpawn(t *testing.T) {
	fixed := pid.PID{Node: "test", Host: "app:fixed", Seq: 77}
	var reqs []proc.SpawnRequest
	var got []pid.PID
	var errs []error
	b := &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
		for _, r := range []proc.SpawnRequest{
			{Entry: "app:a", Name: "a"},
			{Entry: "app:fixed"},
			{Entry: "app:b", Host: "app:other"},
			{Entry: "app:c", Host: "n2@app:remote", Name: "remote-name"},
			{Entry: "app:d", Name: "a"}, // taken
			{},                          // no entry, no behaviour
			{Behavior: native.New(&counter{}), Link: true},
		} {
			p, err := env.Spawn(r)
			got, errs = append(got, p), append(errs, err)
		}
		return proc.StatusIdle, proc.Result{}
	}}
	h := runtimetest.New(t, b,
		runtimetest.WithSelf(pid.PID{Node: "n1", Host: "app:mine", Seq: 10}),
		runtimetest.WithSpawner(func(r proc.SpawnRequest) (pid.PID, error) {
			reqs = append(reqs, r)
			if r.Entry == "app:fixed" {
				return fixed, nil
			}
			return pid.PID{}, nil
		}))
	h.Start()
	want := []pid.PID{
		{Node: "n1", Host: "app:mine", Seq: 11},
		fixed,
		{Node: "n1", Host: "app:other", Seq: 12},
		{Node: "n2", Host: "app:remote", Seq: 13},
		{},
		{},
		{Node: "n1", Host: "app:mine", Seq: 15}, // 14 went to the refused "a"
	}
	if !slices.Equal(got, want) {
		t.Fatalf("spawned PIDs\n%v\nwant\n%v", got, want)
	}
	if proc.AsError(errs[4]).Kind != proc.KindAlreadyExists || !errors.Is(errs[5], runtimetest.ErrNoEntry) {
		t.Fatalf("errors %v", errs)
	}
	if len(reqs) != 6 {
		t.Fatalf("spawner saw %d requests, want 6 (not the one without entry)", len(reqs))
	}
	if n := len(h.Spawned()); n != 5 {
		t.Fatalf("recorded %d spawns, want 5", n)
	}
	if reg := h.Registered(); len(reg) != 1 || reg["a"] != want[0] {
		t.Fatalf("registered %v: the remote child's name is the other node's", reg)
	}
	if !slices.Equal(h.Links(), []pid.PID{want[6]}) {
		t.Fatalf("links %v", h.Links())
	}
	// A spawned behaviour is not run; a harness of its own drives it.
	child := runtimetest.New(t, h.Spawned()[4].Behavior, runtimetest.WithSelf(want[6]))
	child.Start()
	child.Send(h.Self(), "get", msg.Nil)
	wantSent(t, child.Sent(), runtimetest.Sent{To: h.Self(), Topic: "count", Payload: msg.Int(0)})
}

func TestNames(t *testing.T) {
	registry := pid.PID{Node: "test", Host: "app:svc", Seq: 50}
	var lookups []error
	b := &stepFunc{step: func(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
		p, err := env.Lookup("registry")
		if err != nil || p != registry {
			t.Errorf("Lookup(registry) = %v, %v", p, err)
		}
		if err := env.SendName("registry", "hello", msg.String("hi")); err != nil {
			t.Error(err)
		}
		_, err = env.Lookup("nobody")
		lookups = append(lookups, err, env.SendName("nobody", "x", msg.Nil))
		if err := env.Register("me", pid.PID{}, proc.ScopeLocal); err != nil {
			t.Error(err)
		}
		if err := env.Register("me", env.Self(), proc.ScopeLocal); err != nil {
			t.Errorf("re-registering my own name: %v", err)
		}
		lookups = append(lookups, env.Register("registry", env.Self(), proc.ScopeLocal), env.Unregister("nobody", proc.ScopeLocal))
		if err := env.Register("tmp", env.Self(), proc.ScopeLocal); err != nil {
			t.Error(err)
		}
		if err := env.Unregister("tmp", proc.ScopeLocal); err != nil {
			t.Error(err)
		}
		return proc.StatusIdle, proc.Result{}
	}}
	h := runtimetest.New(t, b, runtimetest.WithName("registry", registry))
	h.Start()
	wantSent(t, h.Sent(), runtimetest.Sent{To: registry, Name: "registry", Topic: "hello", Payload: msg.String("hi")})
	wantKinds := []string{proc.KindNotFound, proc.KindNotFound, proc.KindAlreadyExists, proc.KindNotFound}
	for i, k := range wantKinds {
		if e := proc.AsError(lookups[i]); e == nil || e.Kind != k {
			t.Errorf("error %d = %v, want kind %s", i, lookups[i], k)
		}
	}
	if reg := h.Registered(); len(reg) != 1 || reg["me"] != h.Self() {
		t.Fatalf("registered %v, want only me", reg)
	}
}

func TestFaults(t *testing.T) {
	denied := proc.NewError(proc.KindPermissionDenied, "no", msg.False)
	var calls []runtimetest.Call
	var errs []error
	b := &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
		errs = append(errs,
			env.Monitor(other), env.Link(other), env.Send(other, "t", msg.Int(1)),
			env.Cancel(other, "why"), env.Register("x", pid.PID{}, proc.ScopeLocal), env.Monitor(client))
		return proc.StatusIdle, proc.Result{}
	}}
	h := runtimetest.New(t, b,
		runtimetest.WithFault(func(c runtimetest.Call) error {
			calls = append(calls, c)
			return nil
		}),
		runtimetest.WithFault(func(c runtimetest.Call) error {
			if c.To == other {
				return denied
			}
			return nil
		}))
	h.Start()
	for i := range 4 {
		if !errors.Is(errs[i], denied) {
			t.Errorf("call %d to the faulty PID: %v", i, errs[i])
		}
	}
	if errs[4] != nil || errs[5] != nil {
		t.Errorf("calls without a fault failed: %v", errs[4:])
	}
	if len(h.Sent())+len(h.Cancelled())+len(h.Links()) != 0 || !slices.Equal(h.Monitors(), []pid.PID{client}) {
		t.Fatalf("failed calls had effects: sent %v cancelled %v links %v monitors %v", h.Sent(), h.Cancelled(), h.Links(), h.Monitors())
	}
	ops := make([]runtimetest.Op, len(calls))
	for i, c := range calls {
		ops[i] = c.Op
	}
	wantOps := []runtimetest.Op{runtimetest.OpMonitor, runtimetest.OpLink, runtimetest.OpSend, runtimetest.OpCancel, runtimetest.OpRegister, runtimetest.OpMonitor}
	if !slices.Equal(ops, wantOps) {
		t.Fatalf("faults saw %v, want %v", ops, wantOps)
	}
	if calls[2].Topic != "t" || calls[3].Reason != "why" || calls[4].To != h.Self() || calls[4].Name != "x" {
		t.Fatalf("calls lack their arguments: %+v", calls)
	}
}

func TestBlockingRuns(t *testing.T) {
	ran := false
	h := runtimetest.New(t, &stepFunc{step: func(env proc.Env, _ []proc.Delivery) (proc.Status, proc.Result) {
		env.Blocking(func() { ran = true })
		return proc.StatusIdle, proc.Result{}
	}})
	h.Start()
	if !ran {
		t.Fatal("Blocking did not run f")
	}
}
