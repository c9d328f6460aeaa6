package runtime_test

import (
	gort "runtime"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

func heapAfterGC() uint64 {
	var m gort.MemStats
	gort.GC()
	gort.GC()
	gort.ReadMemStats(&m)
	return m.HeapAlloc
}

// scaleN processes spawn, each replies once, all exit; afterwards the
// process table is empty and the heap is back where it started.
// scaleN is 10,000 by default (run under -race) and 100,000 with the
// "scale" build tag (run without -race; see .ci/run).
func TestSpawnReplyExitNoLeak(t *testing.T) {
	rt := newRuntime(t, nil)
	round := func() {
		got := 0
		done := make(chan struct{})
		collector, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
			got++
			if got == scaleN {
				close(done)
				c.Stop(msg.Nil)
			}
			return nil
		}))})
		if err != nil {
			t.Fatal(err)
		}
		replier := &fn{init: func(c *native.Ctx, _ []msg.Value) error {
			c.Stop(msg.Nil)
			return c.Send(collector, "reply", msg.PIDValue(c.Self()))
		}}
		for i := 0; i < scaleN; i++ {
			if _, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(replier)}); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-done:
		case <-time.After(120 * time.Second):
			t.Fatalf("got %d of %d replies", got, scaleN)
		}
		await.Until(t, "process table empty", func() bool { return rt.ProcessCount() == 0 })
	}
	round() // warm up: buffers and maps reach their working size
	start := heapAfterGC()
	spawnsBefore := rt.Counters().Spawns
	round()
	end := heapAfterGC()
	if got := rt.Counters().Spawns - spawnsBefore; got != scaleN+1 {
		t.Fatalf("spawned %d, want %d", got, scaleN+1)
	}
	// Allow a small fixed slack (GC and allocator noise), never per process.
	if grown := int64(end) - int64(start); grown > 256<<10 {
		t.Fatalf("heap grew by %d bytes over %d processes (%.1f B each)", grown, scaleN, float64(grown)/scaleN)
	}
	if s := rt.Counters(); s.Exits["normal"] < 2*scaleN {
		t.Fatalf("normal exits %d", s.Exits["normal"])
	}
}
