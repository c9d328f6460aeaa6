package runtime_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// idler is a process that handles nothing until it is told to: its
// messages stay in the mailbox while block is open.
func spawnIdle(t testing.TB, rt *runtime.Runtime, entry, host, name string) pid.PID {
	t.Helper()
	id, err := rt.Spawn(proc.SpawnRequest{Entry: entry, Host: host, Name: name, Behavior: native.New(&fn{})})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestProcessPageFilters(t *testing.T) {
	rt := newRuntime(t, nil)
	var ids []pid.PID
	for i := range 5 {
		ids = append(ids, spawnIdle(t, rt, "app:worker", "", fmt.Sprintf("worker-%d", i)))
	}
	cache := spawnIdle(t, rt, "app:cache", "app:small", "cache")
	await.Until(t, "all idle", func() bool {
		_, n := rt.ProcessPage(runtime.ProcessFilter{State: "idle"}, 0, 100)
		return n == 6
	})
	for _, tc := range []struct {
		name   string
		f      runtime.ProcessFilter
		off, n int
		want   []pid.PID
		total  int
	}{
		{"all", runtime.ProcessFilter{}, 0, 100, append(slices.Clone(ids), cache), 6},
		{"page 2", runtime.ProcessFilter{}, 2, 2, ids[2:4], 6},
		{"past the end", runtime.ProcessFilter{}, 10, 2, nil, 6},
		{"host", runtime.ProcessFilter{Host: "app:small"}, 0, 100, []pid.PID{cache}, 1},
		{"entry", runtime.ProcessFilter{Entry: "work"}, 0, 100, ids, 5},
		{"name", runtime.ProcessFilter{Name: "worker-3"}, 0, 100, ids[3:4], 1},
		{"state", runtime.ProcessFilter{State: "running"}, 0, 100, nil, 0},
		{"bad state", runtime.ProcessFilter{State: "sleepy"}, 0, 100, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, total := rt.ProcessPage(tc.f, tc.off, tc.n)
			var got []pid.PID
			for _, r := range rows {
				got = append(got, r.PID)
			}
			if total != tc.total || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v of %d, want %v of %d", got, total, tc.want, tc.total)
			}
		})
	}
	rows, _ := rt.ProcessPage(runtime.ProcessFilter{Name: "cache"}, 0, 1)
	if r := rows[0]; r.Entry != "app:cache" || r.Host != "app:small" || !slices.Equal(r.Names, []string{"cache"}) || r.Born.IsZero() {
		t.Fatalf("row %+v", r)
	}
	if got := rt.Entries(); !slices.Equal(got, []string{"app:cache", "app:worker"}) {
		t.Fatalf("entries %v", got)
	}
}

func TestProcessDetail(t *testing.T) {
	rt := newRuntime(t, nil)
	gate := make(chan struct{})
	watcherUp := make(chan struct{})
	// The target blocks in its first message until gate opens, so what is
	// sent after stays in its mailbox.
	target, err := rt.Spawn(proc.SpawnRequest{Entry: "app:slow", Behavior: native.New(&fn{
		msg: func(c *native.Ctx, m native.Message) error {
			c.Env().Blocking(func() { <-gate })
			return nil
		},
	})})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(&fn{init: func(c *native.Ctx, _ []msg.Value) error {
		defer close(watcherUp)
		if err := c.Link(target); err != nil {
			return err
		}
		if err := c.Monitor(target); err != nil {
			return err
		}
		return c.Send(target, "hello", msg.Int(1))
	}})})
	if err != nil {
		t.Fatal(err)
	}
	<-watcherUp
	await.Until(t, "target blocked in its first message", func() bool {
		d, _ := rt.Process(target)
		return d.In == 1
	})
	for range 3 {
		if err := rt.Send(pid.PID{}, target, "more", msg.Int(2)); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := rt.Process(target)
	if !ok {
		t.Fatal("target not found")
	}
	if d.Mailbox != 3 || d.Entry != "app:slow" || !slices.Equal(d.Links, []pid.PID{watcher}) ||
		!slices.Equal(d.MonitoredBy, []pid.PID{watcher}) || len(d.Monitors) != 0 {
		t.Fatalf("detail %+v", d)
	}
	w, _ := rt.Process(watcher)
	if w.Out != 1 || !slices.Equal(w.Monitors, []pid.PID{target}) {
		t.Fatalf("watcher %+v", w)
	}
	close(gate)
	await.Until(t, "mailbox drained", func() bool {
		d, _ := rt.Process(target)
		return d.Mailbox == 0 && d.In == 4
	})
	if _, ok := rt.Process(pid.PID{Node: "n1", Host: "app:processes", Seq: 1 << 40}); ok {
		t.Fatal("an unknown PID was found")
	}
	if err := rt.Terminate(target); err != nil {
		t.Fatal(err)
	}
	await.Until(t, "target gone", func() bool { _, ok := rt.Process(target); return !ok })
}

// BenchmarkProcessPage: one page of 50 of a table of 100,000 idle
// processes, unfiltered and filtered by a name.
func BenchmarkProcessPage(b *testing.B) {
	rt := newRuntime(b, nil)
	const n = 100_000
	for i := range n {
		name := ""
		if i%1000 == 0 {
			name = fmt.Sprintf("svc-%d", i)
		}
		spawnIdle(b, rt, fmt.Sprintf("app:w%d", i%10), "", name)
	}
	await.Until(b, "all idle", func() bool {
		_, c := rt.ProcessPage(runtime.ProcessFilter{State: "idle"}, 0, 0)
		return c == n
	})
	for _, bc := range []struct {
		name string
		f    runtime.ProcessFilter
		off  int
	}{
		{"all/first", runtime.ProcessFilter{}, 0},
		{"all/last", runtime.ProcessFilter{}, n - 50},
		{"entry", runtime.ProcessFilter{Entry: "app:w3"}, 50},
		{"name", runtime.ProcessFilter{Name: "svc-9"}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				rows, total := rt.ProcessPage(bc.f, bc.off, 50)
				if total == 0 || len(rows) == 0 {
					b.Fatalf("empty page: %d of %d", len(rows), total)
				}
			}
		})
	}
}

// BenchmarkSpawnWhilePaging: spawn and exit of a process on a runtime
// holding 100,000 idle ones, alone and while another goroutine takes a
// page of the process table every 100 ms (ten times what one open
// observer view asks). The table is read a shard at a time under its
// read lock, so a spawn (which takes a shard's write lock) waits at most
// for one shard's copy; what paging costs spawns is its CPU time.
func BenchmarkSpawnWhilePaging(b *testing.B) {
	rt := newRuntime(b, nil)
	const n = 100_000
	for i := range n {
		spawnIdle(b, rt, "app:idle", "", "")
		_ = i
	}
	done := make(chan struct{}, 1)
	beh := &fn{init: func(c *native.Ctx, _ []msg.Value) error {
		c.Stop(msg.Nil)
		done <- struct{}{}
		return nil
	}}
	spawnExit := func(b *testing.B) {
		for b.Loop() {
			if _, err := rt.Spawn(proc.SpawnRequest{Entry: "app:short", Behavior: native.New(beh)}); err != nil {
				b.Fatal(err)
			}
			<-done
		}
	}
	b.Run("alone", spawnExit)
	b.Run("while-paging", func(b *testing.B) {
		stop := make(chan struct{})
		pages := make(chan int)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		go func() {
			k := 0
			for {
				select {
				case <-stop:
					pages <- k
					return
				case <-tick.C:
				}
				rt.ProcessPage(runtime.ProcessFilter{}, 1000, 50)
				k++
			}
		}()
		spawnExit(b)
		close(stop)
		b.ReportMetric(float64(<-pages)/b.Elapsed().Seconds(), "pages/s")
	})
}
