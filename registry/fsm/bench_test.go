package fsm

import (
	"strconv"
	"testing"

	"github.com/wippyd/wippyd/runtime/pid"
)

func benchNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "app.service." + strconv.Itoa(i)
	}
	return out
}

func benchPID(i int) pid.PID {
	return pid.PID{Node: "node-" + strconv.Itoa(i%5), Host: "app:processes", Seq: uint64(i + 1)}
}

// benchTable holds n names, two per PID, spread over five nodes.
func benchTable(n int) (*FSM, []string) {
	f, ns := New(), benchNames(n)
	for i, name := range ns {
		f.Apply(uint64(i+1), Register{name, benchPID(i / 2)})
	}
	return f, ns
}

// BenchmarkApplyRegister registers fresh names into a table that grows to
// b.N names, with a new PID for each.
func BenchmarkApplyRegister(b *testing.B) {
	ns := benchNames(b.N)
	ps := make([]pid.PID, b.N)
	for i := range ps {
		ps[i] = benchPID(i)
	}
	f := New()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if res := f.Apply(uint64(i+1), Register{ns[i], ps[i]}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkApplyRegisterUnregister(b *testing.B) {
	f, _ := benchTable(10000)
	p := benchPID(1 << 20)
	index := f.Index()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		index += 2
		f.Apply(index-1, Register{"hot", p})
		if res := f.Apply(index, Unregister{"hot", p}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkApplyRegisterTaken(b *testing.B) {
	f, ns := benchTable(10000)
	p := benchPID(1 << 20)
	index := f.Index()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		index++
		f.Apply(index, Register{ns[i%len(ns)], p})
	}
}

// BenchmarkApplyReleaseNode releases a node holding 100 names (of 10,000)
// and registers them again, per iteration.
func BenchmarkApplyReleaseNode(b *testing.B) {
	f, _ := benchTable(10000)
	ns := benchNames(100)
	for i := range ns {
		ns[i] = "dying." + ns[i]
	}
	p := func(i int) pid.PID { return pid.PID{Node: "dying", Host: "app:processes", Seq: uint64(i + 1)} }
	index := f.Index()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i, name := range ns {
			index++
			f.Apply(index, Register{name, p(i)})
		}
		b.StartTimer()
		index++
		if res := f.Apply(index, ReleaseNode{"dying"}); len(res.Changes) != len(ns) {
			b.Fatalf("released %d", len(res.Changes))
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	f, ns := benchTable(100000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := f.Lookup(ns[i%len(ns)]); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	f, ns := benchTable(100000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			f.Lookup(ns[i%len(ns)])
			i++
		}
	})
}

func BenchmarkEncodeCommand(b *testing.B) {
	c := Register{"app.service.12345", benchPID(12345)}
	b.ReportAllocs()
	for range b.N {
		if _, err := EncodeCommand(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeCommand(b *testing.B) {
	data, _ := EncodeCommand(Register{"app.service.12345", benchPID(12345)})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for range b.N {
		if _, err := DecodeCommand(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshot100k(b *testing.B) {
	f, _ := benchTable(100000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := f.Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRestore100k(b *testing.B) {
	f, _ := benchTable(100000)
	snap, _ := f.Snapshot()
	b.ReportAllocs()
	b.SetBytes(int64(len(snap)))
	b.ResetTimer()
	for range b.N {
		if _, err := New().Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
}
