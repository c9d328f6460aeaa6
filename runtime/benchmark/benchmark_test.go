package benchmark

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Tiny sizes: the workloads run, end, and report sane values.
func TestWorkloadsRun(t *testing.T) {
	o := Options{Workers: 2, Spawns: 2000, Idle: 2000, RingSize: 200, RingTokens: 20, RingHops: 200, FanSenders: 20, FanPer: 200}
	res, err := RunAll(Native, o, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !(r.Value > 0) || r.Unit == "" {
			t.Errorf("%s = %v %s", r.Name, r.Value, r.Unit)
		}
	}
}

func bench(b *testing.B, w func(Options) (Result, error), o Options) {
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
	o := LuaOptions{Workers: 2, Idle: 500, Spawns: 500, RingSize: 50, ColdRingSize: 200, RingTokens: 10, RingHops: 50,
		ColdHops: 20, Pcalls: 1000, SpawnReply: 500}
	res, err := RunLua(Lua, o, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !(r.Value > 0) || r.Unit == "" {
			t.Errorf("%s = %v %s", r.Name, r.Value, r.Unit)
		}
	}
}

func luaBench(b *testing.B, w func(LuaOptions) (Result, error)) {
	var last Result
	for i := 0; i < b.N; i++ {
		r, err := w(QuickLua())
		if err != nil {
			b.Fatal(err)
		}
		last = r
	}
	b.ReportMetric(last.Value, last.Unit)
}

func BenchmarkIdleLua(b *testing.B)       { luaBench(b, IdleLua) }
func BenchmarkSpawnLua(b *testing.B)      { luaBench(b, SpawnLua) }
func BenchmarkRingLua(b *testing.B)       { luaBench(b, RingLua) }
func BenchmarkRingLuaCold(b *testing.B)   { luaBench(b, RingLuaCold) }
func BenchmarkPcallYield(b *testing.B)    { luaBench(b, PcallYield) }
func BenchmarkSpawnReplyLua(b *testing.B) { luaBench(b, SpawnReplyLua) }
