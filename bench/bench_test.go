package bench

import (
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tiny sizes: the workloads run, end, and report sane values.
func TestWorkloadsRun(t *testing.T) {
	o := Options{Workers: 2, Spawns: 2000, Idle: 2000, RingSize: 200, RingTokens: 20, FanSenders: 20, FanBurst: 10,
		Warm: 20 * time.Millisecond, Dur: 50 * time.Millisecond}
	res, err := RunAll(Native, o, 1)
	checkResults(t, res, err)
}

// checkResults fails unless every figure is positive and has a unit.
func checkResults(t *testing.T, res []Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !(r.Value > 0) || r.Unit == "" {
			t.Errorf("%s = %v %s", r.Name, r.Value, r.Unit)
		}
	}
}

func bench[O any](b *testing.B, w func(O) (Result, error), o O) {
	var last Result
	for i := 0; i < b.N; i++ {
		r, err := w(o)
		if err != nil {
			b.Fatal(err)
		}
		last = r
	}
	b.ReportMetric(last.Value, last.Unit)
}

func BenchmarkSpawnNative(b *testing.B)      { bench(b, Spawn, Quick()) }
func BenchmarkIdleNative(b *testing.B)       { bench(b, Idle, Quick()) }
func BenchmarkRingNative(b *testing.B)       { bench(b, Ring, Quick()) }
func BenchmarkChanRingBaseline(b *testing.B) { bench(b, ChanRing, Quick()) }
func BenchmarkFanInNative(b *testing.B)      { bench(b, FanIn, Quick()) }

func TestLuaWorkloadsRun(t *testing.T) {
	o := LuaOptions{Workers: 2, Idle: 500, Spawns: 500, RingSize: 50, ColdRingSize: 200, RingTokens: 10,
		Pcalls: 1000, SpawnReply: 500, Warm: 20 * time.Millisecond, Dur: 50 * time.Millisecond}
	res, err := RunLua(Lua, o, 1)
	checkResults(t, res, err)
}

func BenchmarkIdleLua(b *testing.B)       { bench(b, IdleLua, QuickLua()) }
func BenchmarkSpawnLua(b *testing.B)      { bench(b, SpawnLua, QuickLua()) }
func BenchmarkRingLua(b *testing.B)       { bench(b, RingLua, QuickLua()) }
func BenchmarkRingLuaCold(b *testing.B)   { bench(b, RingLuaCold, QuickLua()) }
func BenchmarkPcallYield(b *testing.B)    { bench(b, PcallYield, QuickLua()) }
func BenchmarkSpawnReplyLua(b *testing.B) { bench(b, SpawnReplyLua, QuickLua()) }

// An unknown part is refused before any workload runs.
func TestRunPartsRefusesUnknownPart(t *testing.T) {
	if res, err := RunParts(true, 1, []string{"groups", "raft"}); err == nil || !strings.Contains(err.Error(), `unknown part "raft"`) || res != nil {
		t.Fatalf("got %v, %v", res, err)
	}
}

// The work benchmarks run the ring and the windowed fan-in until b.N
// messages were handled (ns/op is per message), for A/B comparisons with
// go test -count and benchstat; the figures of wippyd bench are the
// time-boxed workloads above.
func BenchmarkRingWork(b *testing.B) {
	o := Quick()
	rt, err := newRuntime(o)
	if err != nil {
		b.Fatal(err)
	}
	defer stop(rt)
	var halt atomic.Bool
	// One counter per process, as in the harness: one shared counter is a
	// cache line both workers write on every hop, a third of the time.
	cnt := make([]hits, o.RingSize)
	dropped := newCountdown(o.RingTokens)
	pids := make([]pid.PID, o.RingSize)
	nodes := make([]*ringNode, o.RingSize)
	for i := range pids {
		nodes[i] = &ringNode{c: &cnt[i], stop: &halt, dropped: dropped}
		if pids[i], err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(nodes[i])}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range nodes {
		nodes[i].next = pids[(i+1)%len(pids)]
	}
	b.ResetTimer()
	for t := 0; t < o.RingTokens; t++ {
		rt.Send(pid.PID{}, pids[t*(o.RingSize/o.RingTokens)], "t", msg.Nil)
	}
	awaitWork(b, func() int64 { return sum(cnt) })
	halt.Store(true)
	<-dropped.ch
}

func BenchmarkFanInWork(b *testing.B) {
	o := Quick()
	rt, err := newRuntime(o)
	if err != nil {
		b.Fatal(err)
	}
	defer stop(rt)
	var cnt hits
	to, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fanReceiver{c: &cnt})})
	if err != nil {
		b.Fatal(err)
	}
	var halt atomic.Bool
	senders := make([]pid.PID, o.FanSenders)
	for i := range senders {
		if senders[i], err = rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fanSender{to: to, burst: o.FanBurst, stop: &halt})}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for _, s := range senders {
		rt.Send(pid.PID{}, s, "k", msg.Nil)
	}
	awaitWork(b, cnt.n.Load)
	halt.Store(true)
}

// awaitWork polls count until b.N messages were handled, stops the timer
// and reports cpu-ns/op: the process's CPU time per message over the
// second half, a figure other load on the machine disturbs less than the
// wall time.
func awaitWork(b *testing.B, count func() int64) {
	until := func(n int) {
		for count() < int64(n) {
			time.Sleep(200 * time.Microsecond)
		}
	}
	until(b.N / 2)
	c0, n0 := cpuTime(), count()
	until(b.N)
	b.StopTimer()
	if n := count() - n0; n > 0 {
		b.ReportMetric(float64(cpuTime()-c0)/float64(n), "cpu-ns/op")
	}
}

// cpuTime is the CPU time this process used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
