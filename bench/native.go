package bench

import (
	"context"
	"fmt"
	gort "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Options size the workloads.
type Options struct {
	Workers    int // 0 = GOMAXPROCS
	Spawns     int // spawn+exit count
	Idle       int // idle processes measured
	RingSize   int // processes in the ring
	RingTokens int // tokens circulating
	FanSenders int // senders to one receiver
	FanBurst   int // messages a sender sends before it waits for an ack
	// Warm is how long the ring and fan-in run before counting starts,
	// Dur how long they are counted.
	Warm, Dur time.Duration
}

// Full are the sizes the issues name.
func Full() Options {
	return Options{Spawns: 1_000_000, Idle: 100_000, RingSize: 10_000, RingTokens: 1_000, FanSenders: 1_000, FanBurst: 100,
		Warm: time.Second, Dur: 3 * time.Second}
}

// Quick are small sizes for a fast check.
func Quick() Options {
	return Options{Spawns: 100_000, Idle: 20_000, RingSize: 10_000, RingTokens: 1_000, FanSenders: 1_000, FanBurst: 100,
		Warm: 200 * time.Millisecond, Dur: 500 * time.Millisecond}
}

func newRuntime(o Options) (*runtime.Runtime, error) {
	cfg := runtime.DefaultConfig()
	cfg.Node = "bench"
	cfg.Workers = o.Workers
	rt, err := runtime.New(cfg)
	if err != nil {
		return nil, err
	}
	rt.Start()
	return rt, nil
}

// stop ends a benchmark's runtime: processes that ignore CANCEL (a Lua loop
// on its inbox) are terminated after a short grace.
func stop(rt *runtime.Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	rt.Stop(ctx)
}

// quitter ends on any message or CANCEL; it is the idle process.
type quitter struct{}

func (quitter) HandleMessage(c *native.Ctx, _ native.Message) error {
	c.Stop(msg.Nil)
	return nil
}

// exiter ends as soon as it starts.
type exiter struct{ done *countdown }

func (e exiter) Init(c *native.Ctx, _ []msg.Value) error {
	c.Stop(msg.Nil)
	e.done.dec()
	return nil
}
func (exiter) HandleMessage(*native.Ctx, native.Message) error { return nil }

type countdown struct {
	n  atomic.Int64
	ch chan struct{}
}

func newCountdown(n int) *countdown {
	c := &countdown{ch: make(chan struct{})}
	c.n.Store(int64(n))
	return c
}

func (c *countdown) dec() {
	if c.n.Add(-1) == 0 {
		close(c.ch)
	}
}

// Spawn measures spawn+exit of a Go-native process, spawned by a native
// process in a loop (spawn_native_ns).
func Spawn(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	done := newCountdown(o.Spawns)
	child := exiter{done: done}
	start := time.Now()
	_, err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(&spawner{n: o.Spawns, child: child})})
	if err != nil {
		return Result{}, err
	}
	<-done.ch
	for rt.ProcessCount() > 0 { // the last exits are counted before they leave the table
		gort.Gosched()
	}
	el := time.Since(start)
	return Result{"spawn_native_ns", float64(el.Nanoseconds()) / float64(o.Spawns), "ns"}, nil
}

// spawner spawns n children in batches, yielding between batches so the
// children run while it works.
type spawner struct {
	n     int
	child exiter
}

func (s *spawner) Init(c *native.Ctx, _ []msg.Value) error { return s.batch(c) }

func (s *spawner) HandleMessage(c *native.Ctx, _ native.Message) error { return s.batch(c) }

func (s *spawner) batch(c *native.Ctx) error {
	return inChunks(c, &s.n, 256, func(int) error {
		_, err := c.Spawn(proc.SpawnRequest{Behavior: native.New(s.child)})
		return err
	})
}

// inChunks does size of the left units of work (fewer at the end) with do,
// then ends the process when none is left or sends itself "more" so the
// rest runs in a later turn and other processes run in between.
func inChunks(c *native.Ctx, left *int, size int, do func(i int) error) error {
	k := min(*left, size)
	for i := range k {
		if err := do(i); err != nil {
			return err
		}
	}
	*left -= k
	if *left == 0 {
		c.Stop(msg.Nil)
		return nil
	}
	return c.Send(c.Self(), "more", msg.Nil)
}

// Idle measures what the runtime holds per parked Go-native process:
// HeapAlloc delta / N after GC (idle_native_bytes).
func Idle(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	return idleBytes("idle_native_bytes", rt, o.Idle, func() proc.SpawnRequest {
		return proc.SpawnRequest{Behavior: native.New(quitter{})}
	})
}

// idleBytes spawns n processes with what req returns, waits until all
// are parked, and reports the heap growth per process, after GC, less
// the benchmark's own bookkeeping (name: the figure). It ends them again.
func idleBytes(name string, rt *runtime.Runtime, n int, req func() proc.SpawnRequest) (Result, error) {
	before := heap()
	pids := make([]pid.PID, n)
	var err error
	for i := range pids {
		if pids[i], err = rt.Spawn(req()); err != nil {
			return Result{}, err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !parked(rt, n) {
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%s: processes never all parked", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
	per := float64(int64(heap())-int64(before))/float64(n) - pidSliceCost
	for _, p := range pids {
		rt.Send(pid.PID{}, p, "quit", msg.Nil)
	}
	gort.KeepAlive(pids)
	return Result{name, per, "bytes"}, nil
}

// pidSliceCost is the benchmark's own bookkeeping per process (the pids
// slice), subtracted from the delta.
const pidSliceCost = float64(40)

// parked reports whether n processes of rt wait for a message.
func parked(rt *runtime.Runtime, n int) bool {
	idle := 0
	for _, byState := range rt.StateCounts() {
		idle += byState[proc.Idle]
	}
	return idle >= n
}
func heap() uint64 {
	var m gort.MemStats
	gort.GC()
	gort.GC()
	gort.ReadMemStats(&m)
	return m.HeapAlloc
}

// The ring and fan-in are measured as bench-peers measures every actor
// framework: the pattern runs for Warm, then the messages handled in the
// next Dur are counted (steady state: mailbox rings and the GC heap have
// grown to what the pattern needs). Counters are per receiving process,
// padded to a cache line each, so counting adds no contention.

// hits is one receiver's count.
type hits struct {
	n atomic.Int64
	_ [56]byte
}

// rate lets a workload run for warm, then returns the events total counted
// per second over the next dur.
func rate(warm, dur time.Duration, total func() int64) float64 {
	time.Sleep(warm)
	t0, c0 := time.Now(), total()
	time.Sleep(dur)
	c1, el := total(), time.Since(t0)
	return float64(c1-c0) / el.Seconds()
}

func sum(cs []hits) (s int64) {
	for i := range cs {
		s += cs[i].n.Load()
	}
	return s
}

// ringNode forwards every token to the next process until stop is set;
// then it drops the tokens it gets, counting them in dropped.
type ringNode struct {
	next    pid.PID
	c       *hits
	stop    *atomic.Bool
	dropped *countdown
}

func (r *ringNode) HandleMessage(c *native.Ctx, m native.Message) error {
	if r.stop.Load() {
		r.dropped.dec()
		return nil
	}
	r.c.n.Add(1)
	return c.Send(r.next, "t", msg.Nil)
}

// Ring circulates RingTokens tokens around RingSize native processes,
// each forwarding to the next PID (ring_native_msgs_per_s).
func Ring(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	var halt atomic.Bool
	dropped := newCountdown(o.RingTokens)
	cnt := make([]hits, o.RingSize)
	pids := make([]pid.PID, o.RingSize)
	nodes := make([]*ringNode, o.RingSize)
	for i := range pids {
		nodes[i] = &ringNode{c: &cnt[i], stop: &halt, dropped: dropped}
		if pids[i], err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(nodes[i])}); err != nil {
			return Result{}, err
		}
	}
	for i := range nodes {
		nodes[i].next = pids[(i+1)%len(pids)]
	}
	step := max(1, o.RingSize/o.RingTokens)
	for t := 0; t < o.RingTokens; t++ {
		rt.Send(pid.PID{}, pids[(t*step)%len(pids)], "t", msg.Nil)
	}
	r := rate(o.Warm, o.Dur, func() int64 { return sum(cnt) })
	halt.Store(true)
	<-dropped.ch
	return Result{"ring_native_msgs_per_s", r, "msgs/s"}, nil
}

// ChanRing is Ring with a goroutine per node and blocking channels of
// capacity 1, so each hop is a goroutine hand-off
// (baseline_chan_ring_msgs_per_s).
func ChanRing(o Options) (Result, error) {
	chans := make([]chan struct{}, o.RingSize)
	for i := range chans {
		chans[i] = make(chan struct{}, 1)
	}
	cnt := make([]hits, o.RingSize)
	var halt atomic.Bool
	dropped := newCountdown(o.RingTokens)
	var wg sync.WaitGroup
	for i := range chans {
		in, out, c := chans[i], chans[(i+1)%len(chans)], &cnt[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range in {
				if halt.Load() {
					dropped.dec()
					continue
				}
				c.n.Add(1)
				out <- t
			}
		}()
	}
	step := max(1, o.RingSize/o.RingTokens)
	for t := 0; t < o.RingTokens; t++ {
		chans[(t*step)%len(chans)] <- struct{}{}
	}
	r := rate(o.Warm, o.Dur, func() int64 { return sum(cnt) })
	// Every token is dropped once the flag is seen; then no send is in
	// flight and the channels can be closed.
	halt.Store(true)
	<-dropped.ch
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	return Result{"baseline_chan_ring_msgs_per_s", r, "msgs/s"}, nil
}

// fanSender sends bursts of FanBurst messages, the last of them asking
// for an ack, and the next burst when the ack comes: at most
// FanSenders*FanBurst messages are in flight.
type fanSender struct {
	to    pid.PID
	burst int
	stop  *atomic.Bool
}

func (s *fanSender) HandleMessage(c *native.Ctx, m native.Message) error {
	if s.stop.Load() {
		return nil
	}
	for range s.burst - 1 {
		if err := c.Send(s.to, "t", msg.Nil); err != nil {
			return err
		}
	}
	return c.Send(s.to, "a", msg.Nil)
}

// fanReceiver counts every message and acks the ack requests.
type fanReceiver struct{ c *hits }

func (r *fanReceiver) HandleMessage(c *native.Ctx, m native.Message) error {
	r.c.n.Add(1)
	if m.Topic == "a" {
		return c.Send(m.From, "k", msg.Nil)
	}
	return nil
}

// FanIn has FanSenders processes send to one receiver in windowed bursts
// (fanin_native_msgs_per_s); every message counts, the acks do not.
func FanIn(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	var cnt hits
	to, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fanReceiver{c: &cnt})})
	if err != nil {
		return Result{}, err
	}
	var halt atomic.Bool
	senders := make([]pid.PID, o.FanSenders)
	for i := range senders {
		if senders[i], err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fanSender{to: to, burst: o.FanBurst, stop: &halt})}); err != nil {
			return Result{}, err
		}
	}
	for _, s := range senders {
		rt.Send(pid.PID{}, s, "k", msg.Nil)
	}
	r := rate(o.Warm, o.Dur, cnt.n.Load)
	halt.Store(true)
	return Result{"fanin_native_msgs_per_s", r, "msgs/s"}, nil
}

// Native are the runtime-core workloads, in the order they run.
var Native = []Workload{
	{"spawn_native_ns", Spawn},
	{"idle_native_bytes", Idle},
	{"ring_native_msgs_per_s", Ring},
	{"baseline_chan_ring_msgs_per_s", ChanRing},
	{"fanin_native_msgs_per_s", FanIn},
}

// collector counts n messages, then closes done.
type collector struct {
	left int
	done chan struct{}
}

func newCollector(n int) *collector { return &collector{left: n, done: make(chan struct{})} }

func (c *collector) HandleMessage(*native.Ctx, native.Message) error {
	c.left--
	if c.left == 0 {
		close(c.done)
	}
	return nil
}
