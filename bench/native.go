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
	RingHops   int // hops per token
	FanSenders int // senders to one receiver
	FanPer     int // messages per sender
}

// Full are the sizes the issues name.
func Full() Options {
	return Options{Spawns: 1_000_000, Idle: 100_000, RingSize: 10_000, RingTokens: 1_000, RingHops: 10_000, FanSenders: 1_000, FanPer: 1_000}
}

// Quick are small sizes for a fast check.
func Quick() Options {
	return Options{Spawns: 100_000, Idle: 20_000, RingSize: 10_000, RingTokens: 1_000, RingHops: 1_000, FanSenders: 1_000, FanPer: 1_000}
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

// ringNode forwards each token to the next process; a token carries the
// hops it has left.
type ringNode struct {
	next *pid.PID
	done *countdown
}

func (r *ringNode) HandleMessage(c *native.Ctx, m native.Message) error {
	left, _ := m.Payload.AsInt()
	if left == 0 {
		r.done.dec()
		return nil
	}
	return c.Send(*r.next, "t", msg.Int(left-1))
}

// Ring passes RingTokens tokens RingHops hops each around RingSize
// native processes (ring_native_msgs_per_s).
func Ring(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	done := newCountdown(o.RingTokens)
	pids := make([]pid.PID, o.RingSize)
	nodes := make([]*ringNode, o.RingSize)
	for i := range pids {
		nodes[i] = &ringNode{done: done}
		if pids[i], err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(nodes[i])}); err != nil {
			return Result{}, err
		}
	}
	for i := range nodes {
		nodes[i].next = &pids[(i+1)%len(pids)]
	}
	start := time.Now()
	step := max(1, o.RingSize/o.RingTokens)
	for t := 0; t < o.RingTokens; t++ {
		rt.Send(pid.PID{}, pids[(t*step)%len(pids)], "t", msg.Int(int64(o.RingHops)))
	}
	<-done.ch
	el := time.Since(start)
	total := float64(o.RingTokens) * float64(o.RingHops+1)
	return Result{"ring_native_msgs_per_s", total / el.Seconds(), "msgs/s"}, nil
}

// ChanRing is Ring written with a goroutine per node and channels of
// capacity 1 (baseline_chan_ring_msgs_per_s).
func ChanRing(o Options) (Result, error) {
	chans := make([]chan int64, o.RingSize)
	for i := range chans {
		chans[i] = make(chan int64, 1)
	}
	var wg sync.WaitGroup
	done := newCountdown(o.RingTokens)
	quit := make(chan struct{})
	for i := range chans {
		in, out := chans[i], chans[(i+1)%len(chans)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case left := <-in:
					if left == 0 {
						done.dec()
						continue
					}
					select {
					case out <- left - 1:
					case <-quit:
						return
					}
				case <-quit:
					return
				}
			}
		}()
	}
	start := time.Now()
	step := max(1, o.RingSize/o.RingTokens)
	// Inject from separate goroutines: a full channel must not block us.
	var inj sync.WaitGroup
	for t := 0; t < o.RingTokens; t++ {
		inj.Add(1)
		go func(t int) {
			defer inj.Done()
			select {
			case chans[(t*step)%len(chans)] <- int64(o.RingHops):
			case <-quit:
			}
		}(t)
	}
	<-done.ch
	el := time.Since(start)
	close(quit)
	inj.Wait()
	wg.Wait()
	total := float64(o.RingTokens) * float64(o.RingHops+1)
	return Result{"baseline_chan_ring_msgs_per_s", total / el.Seconds(), "msgs/s"}, nil
}

// fanSender sends its share to the receiver, in chunks so that it yields.
type fanSender struct {
	to   *pid.PID
	left int
}

func (s *fanSender) Init(c *native.Ctx, _ []msg.Value) error { return s.chunk(c) }

func (s *fanSender) HandleMessage(c *native.Ctx, _ native.Message) error { return s.chunk(c) }

func (s *fanSender) chunk(c *native.Ctx) error {
	return inChunks(c, &s.left, 100, func(i int) error { return c.Send(*s.to, "m", msg.Int(int64(i))) })
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

// FanIn sends FanPer messages from each of FanSenders processes to one
// receiver (fanin_native_msgs_per_s).
func FanIn(o Options) (Result, error) {
	rt, err := newRuntime(o)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	recv := newCollector(o.FanSenders * o.FanPer)
	to, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(recv)})
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	for i := 0; i < o.FanSenders; i++ {
		if _, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fanSender{to: &to, left: o.FanPer})}); err != nil {
			return Result{}, err
		}
	}
	<-recv.done
	el := time.Since(start)
	return Result{"fanin_native_msgs_per_s", float64(o.FanSenders*o.FanPer) / el.Seconds(), "msgs/s"}, nil
}

// Native are the runtime-core workloads, in the order they run.
var Native = []Workload{
	{"spawn_native_ns", Spawn},
	{"idle_native_bytes", Idle},
	{"ring_native_msgs_per_s", Ring},
	{"baseline_chan_ring_msgs_per_s", ChanRing},
	{"fanin_native_msgs_per_s", FanIn},
}
