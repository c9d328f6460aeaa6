package raftreg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Local reads (Resolve, what every lookup and send by name uses) are not
// linearizable, but each node's are monotonic: every replica applies the
// one log in order, so a node's reads observe states of the log at
// indexes that never go back, and never a holder the log never gave the
// name. readCheck checks a node's reads against the log.

// timeline is the committed history of every name: its holder from each
// index on (the zero PID: free).
type timeline map[string][]step

type step struct {
	index  uint64
	holder pid.PID
}

func (tl timeline) add(ev registry.Event) {
	h := ev.PID
	if ev.Kind == registry.EventUnregistered {
		h = pid.PID{}
	}
	tl[ev.Name] = append(tl[ev.Name], step{ev.Index, h})
}

// at returns the holder of name at index i.
func (tl timeline) at(name string, i uint64) pid.PID {
	var h pid.PID
	for _, s := range tl[name] {
		if s.index > i {
			break
		}
		h = s.holder
	}
	return h
}

type read struct {
	name string
	got  pid.PID // zero: not found
}

// readCheck returns an error unless some non-decreasing sequence of log
// indexes explains reads, in order: read k saw the state of the log at
// index i_k. Greedily, each read takes the smallest index not below the
// previous one at which the name had the holder read.
func readCheck(tl timeline, reads []read) error {
	var cur uint64
	for k, r := range reads {
		if tl.at(r.name, cur) == r.got {
			continue
		}
		found := false
		for _, s := range tl[r.name] {
			if s.index > cur && s.holder == r.got {
				cur, found = s.index, true
				break
			}
		}
		if !found {
			return fmt.Errorf("read %d: %s -> %v: no state of the log at or after index %d has it", k, r.name, r.got, cur)
		}
	}
	return nil
}

func TestReadCheck(t *testing.T) {
	a, b := ppid("n1", 1), ppid("n2", 2)
	tl := timeline{}
	for _, ev := range []registry.Event{
		{Kind: registry.EventRegistered, Name: "x", PID: a, Index: 3},
		{Kind: registry.EventUnregistered, Name: "x", PID: a, Index: 5},
		{Kind: registry.EventRegistered, Name: "x", PID: b, Index: 8},
		{Kind: registry.EventRegistered, Name: "y", PID: a, Index: 6},
	} {
		tl.add(ev)
	}
	for _, tc := range []struct {
		name  string
		reads []read
		ok    bool
	}{
		{"in order", []read{{"x", pid.PID{}}, {"x", a}, {"y", pid.PID{}}, {"x", pid.PID{}}, {"y", a}, {"x", b}}, true},
		{"repeated", []read{{"x", a}, {"x", a}, {"y", pid.PID{}}}, true},
		{"back in time", []read{{"x", b}, {"x", a}}, false},
		{"back across names", []read{{"y", a}, {"x", a}}, false},
		{"never registered", []read{{"x", ppid("n3", 9)}}, false},
		{"ghost name", []read{{"z", a}}, false},
	} {
		if err := readCheck(tl, tc.reads); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestLocalReadsMonotonic: clients register and unregister a few names
// through every node while the network partitions and heals; a reader on
// each node resolves names (and some never registered) from its replica
// all along. Afterwards every node's reads are checked against the log.
func TestLocalReadsMonotonic(t *testing.T) {
	c := startCluster(t, 3, withConfig(func(cfg *Config) { cfg.ApplyTimeout = 300 * time.Millisecond }))
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	w, err := c.reg("n1").Watch(watchCtx)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c", "d", "never-1", "never-2"}
	written := names[:4]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	reads := make(map[string][]read)
	var readsMu sync.Mutex
	for i, node := range c.names {
		wg.Add(2)
		go func() { // a writer
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			p := ppid(node, uint64(i+1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				name := written[rng.IntN(len(written))]
				if rng.IntN(2) == 0 {
					_ = c.reg(node).Register(ctx, name, p)
				} else {
					_ = c.reg(node).Unregister(ctx, name, p)
				}
				cancel()
			}
		}()
		go func() { // a reader
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			var mine []read
			for {
				select {
				case <-stop:
					readsMu.Lock()
					reads[node] = mine
					readsMu.Unlock()
					return
				default:
				}
				name := names[rng.IntN(len(names))]
				got, _ := c.reg(node).Resolve(name)
				mine = append(mine, read{name, got})
				if len(mine)%64 == 0 {
					time.Sleep(time.Millisecond) // pace: leave the CPU to the writers
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for range 6 {
		x := c.names[rng.IntN(3)]
		others := without(c.names, x)
		c.partition([]string{x}, others)
		time.Sleep(time.Duration(150+rng.IntN(200)) * time.Millisecond)
		c.heal([]string{x}, others)
		time.Sleep(time.Duration(100+rng.IntN(100)) * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// The log as n1 applied it, once it caught up with the others.
	var last uint64
	for _, name := range c.names {
		last = max(last, c.reg(name).table.index())
	}
	await.Until(t, "n1 caught up", func() bool { return c.reg("n1").table.index() >= last })
	tl := timeline{}
	for done := false; !done; {
		select {
		case ev := <-w.Events():
			if ev.Cause != registry.CauseSync {
				tl.add(ev)
			}
		default:
			done = true
		}
	}
	if w.Err() != nil {
		t.Fatalf("watcher: %v", w.Err())
	}
	changes, total := 0, 0
	for _, s := range tl {
		changes += len(s)
	}
	for node, rs := range reads {
		total += len(rs)
		if err := readCheck(tl, rs); err != nil {
			t.Errorf("%s: %v", node, err)
		}
	}
	if changes < 20 || total < 1000 {
		t.Fatalf("too little happened: %d changes, %d reads", changes, total)
	}
	t.Logf("%d changes, %d local reads checked", changes, total)
}
