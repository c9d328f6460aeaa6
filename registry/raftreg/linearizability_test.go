package raftreg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

// The model: per name, the holder (a client number, 0 for none). Inputs
// and outputs are small structs; ops of unknown outcome, and the
// conditional unregister that follows an unknown register, return at
// "infinity", so they may take effect at any point after their call, or
// never (linearized last).

const (
	lopRegister uint8 = iota + 1
	lopUnregister
	lopUnregIfOwned
	lopLookup
)

const (
	outOK uint8 = iota + 1
	outExists
	outNotOwner
	outNotFound
	outUnknown
)

type linIn struct {
	op     uint8
	client int
	name   string
}

type linOut struct {
	kind  uint8
	owner int // the holder seen (lookup found, exists, not owner)
}

var nameModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			n := op.Input.(linIn).name
			if _, ok := by[n]; !ok {
				keys = append(keys, n)
			}
			by[n] = append(by[n], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return 0 },
	Step: func(st, in, out any) (bool, any) {
		s, i, o := st.(int), in.(linIn), out.(linOut)
		reg := func() int {
			if s == 0 {
				return i.client
			}
			return s
		}
		unreg := func() int {
			if s == i.client {
				return 0
			}
			return s
		}
		switch i.op {
		case lopRegister:
			switch o.kind {
			case outUnknown:
				return true, reg()
			case outOK:
				return s == 0 || s == i.client, i.client
			case outExists:
				return s != 0 && s != i.client, s
			}
		case lopUnregister:
			switch o.kind {
			case outUnknown:
				return true, unreg()
			case outOK:
				return s == i.client, 0
			case outNotFound:
				return s == 0, s
			case outNotOwner:
				return s != 0 && s != i.client, s
			}
		case lopUnregIfOwned:
			return true, unreg()
		case lopLookup:
			switch o.kind {
			case outOK:
				return s == o.owner && s != 0, s
			case outNotFound:
				return s == 0, s
			}
		}
		return false, s
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(linIn), out.(linOut)
		return fmt.Sprintf("%d %s c%d -> %d/%d", i.op, i.name, i.client, o.kind, o.owner)
	},
}

// history records operations from many goroutines.
type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

func (h *history) add(client int, in linIn, out linOut, call, ret int64) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}

// get returns the registry of node, nil while it is down.
func (c *cluster) get(name string) *Registry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.nodes[name]; n != nil {
		return n.reg
	}
	return nil
}

// linWorkload runs clients doing register/unregister/lookup on a few names
// while a nemesis partitions nodes, heals them and kills and restarts the
// leader; it returns the recorded history.
func linWorkload(t *testing.T, broken bool, run time.Duration, seed uint64) []porcupine.Operation {
	c := newCluster(t, 3, onDisk, withConfig(func(cfg *Config) {
		cfg.ApplyTimeout = 500 * time.Millisecond
		cfg.ReleaseBackoffMax = 100 * time.Millisecond
	}))
	c.prep = func(r *Registry) { r.localReads = broken }
	for _, name := range c.names {
		c.start(name)
	}
	c.waitLeader(c.names...)

	const clients = 9
	names := []string{"a", "b", "c"}
	h := &history{start: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for cl := 1; cl <= clients; cl++ {
		node := c.names[cl%3]
		p := pid.PID{Node: node, Host: "app", Seq: uint64(cl)}
		rng := rand.New(rand.NewPCG(seed, uint64(cl)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := c.get(node)
				if r == nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				linOp(h, r, cl, p, names[rng.IntN(len(names))], rng.IntN(100))
			}
		}()
	}

	// The nemesis.
	rng := rand.New(rand.NewPCG(seed, 0))
	deadline := time.Now().Add(run)
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
		switch rng.IntN(3) {
		case 0: // cut one node off, heal later
			x := c.names[rng.IntN(3)]
			others := without(c.names, x)
			c.partition([]string{x}, others)
			time.Sleep(time.Duration(200+rng.IntN(400)) * time.Millisecond)
			c.heal([]string{x}, others)
		case 1: // kill the leader, restart it on its data
			var leader string
			for _, name := range c.running() {
				if r := c.get(name); r != nil && r.lead.Load() != nil {
					leader = name
				}
			}
			if leader == "" {
				continue
			}
			c.kill(leader)
			time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
			c.start(leader)
		case 2: // cut the leader off from one follower only
			x, y := c.names[rng.IntN(3)], c.names[rng.IntN(3)]
			if x == y {
				continue
			}
			c.partition([]string{x}, []string{y})
			time.Sleep(time.Duration(200+rng.IntN(300)) * time.Millisecond)
			c.heal([]string{x}, []string{y})
		}
	}
	close(stop)
	wg.Wait()
	return h.ops
}

func without(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// linOp runs one operation of client cl and records it.
func linOp(h *history, r *Registry, cl int, p pid.PID, name string, dice int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	call := h.now()
	in := linIn{client: cl, name: name}
	var out linOut
	switch {
	case dice < 40:
		in.op = lopLookup
		got, err := r.Lookup(ctx, name)
		switch {
		case err == nil:
			out = linOut{kind: outOK, owner: int(got.Seq)}
		case errors.Is(err, registry.ErrNotFound):
			out = linOut{kind: outNotFound}
		default:
			return // no answer: nothing observed
		}
	case dice < 75:
		in.op = lopRegister
		err := r.Register(ctx, name, p)
		switch {
		case err == nil:
			out = linOut{kind: outOK}
		case errors.Is(err, registry.ErrAlreadyExists):
			// The error does not name the holder: the model accepts
			// any holder but the caller.
			out = linOut{kind: outExists}
		case errors.Is(err, registry.ErrUnknownOutcome):
			out = linOut{kind: outUnknown}
			h.add(cl, in, out, call, math.MaxInt64)
			h.add(cl, linIn{op: lopUnregIfOwned, client: cl, name: name}, linOut{}, h.now(), math.MaxInt64)
			return
		default:
			return // not proposed
		}
	default:
		in.op = lopUnregister
		err := r.Unregister(ctx, name, p)
		switch {
		case err == nil:
			out = linOut{kind: outOK}
		case errors.Is(err, registry.ErrNotFound):
			out = linOut{kind: outNotFound}
		case errors.Is(err, registry.ErrNotOwner):
			out = linOut{kind: outNotOwner}
		case errors.Is(err, registry.ErrUnknownOutcome):
			h.add(cl, in, linOut{kind: outUnknown}, call, math.MaxInt64)
			return
		default:
			return
		}
	}
	h.add(cl, in, out, call, h.now())
}

func checkHistory(t *testing.T, ops []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	start := time.Now()
	res := porcupine.CheckOperationsTimeout(nameModel, ops, timeout)
	unknown := 0
	for _, op := range ops {
		if op.Return == math.MaxInt64 {
			unknown++
		}
	}
	t.Logf("%d operations (%d of unknown outcome): %s in %v", len(ops), unknown, res, time.Since(start))
	return res
}

// TestLinearizable checks histories of 9 clients on 3 names against the
// model while the network partitions and heals and the leader dies and
// restarts.
func TestLinearizable(t *testing.T) {
	ops := linWorkload(t, false, 5*time.Second, 1)
	if len(ops) < 200 {
		t.Fatalf("only %d operations", len(ops))
	}
	if res := checkHistory(t, ops, 30*time.Second); res == porcupine.Illegal {
		t.Fatal("history is not linearizable")
	}
}

// TestLinearizableCatchesStaleReads runs the same workload against a
// registry that reads lookups from the local replica: the checker must
// find the stale reads.
func TestLinearizableCatchesStaleReads(t *testing.T) {
	ops := linWorkload(t, true, 5*time.Second, 2)
	if res := checkHistory(t, ops, 30*time.Second); res != porcupine.Illegal {
		t.Fatalf("stale reads not detected: %s", res)
	}
}
