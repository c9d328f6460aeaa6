package raftreg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/registry/fsm"
	"github.com/wippyd/wippyd/runtime/pid"
)

func TestProposalsTake(t *testing.T) {
	now := time.Unix(1000, 0)
	later, past := now.Add(time.Second), now.Add(-time.Millisecond)
	p := newProposals()
	for i, q := range []proposal{
		{id: 1, data: make([]byte, 10), deadline: later},
		{id: 2, data: make([]byte, 10), deadline: past}, // its caller gave up
		{id: 3, data: make([]byte, 10), deadline: now},  // gives up now
		{id: 4, data: make([]byte, 10), deadline: later},
		{id: 5, data: make([]byte, 30), deadline: later},
		{id: 6, data: make([]byte, 10), deadline: later},
	} {
		p.add(q)
		if p.added != uint64(i+1) {
			t.Fatalf("added %d after %d", p.added, i+1)
		}
	}
	ids := func(b []proposal) []uint64 {
		var out []uint64
		for _, q := range b {
			out = append(out, q.id)
		}
		return out
	}
	// 13 bytes each with the header: two fit in 30, the third does not.
	if got := ids(p.take(now, 30)); fmt.Sprint(got) != "[1 4]" {
		t.Fatalf("first batch %v, want [1 4]", got)
	}
	// One proposal over the limit still goes, alone.
	if got := ids(p.take(now, 30)); fmt.Sprint(got) != "[5]" {
		t.Fatalf("second batch %v, want [5]", got)
	}
	if got := ids(p.take(now, 30)); fmt.Sprint(got) != "[6]" {
		t.Fatalf("third batch %v, want [6]", got)
	}
	if got := p.take(now, 30); len(got) != 0 || len(p.queue) != 0 {
		t.Fatalf("left %v, queue %v", got, p.queue)
	}
}

// batchEntry builds a batch entry proposed by this node: Extensions hold
// bid, then ids.
func batchEntry(t *testing.T, index, bid uint64, ids []uint64, cmds ...fsm.Command) *raft.Log {
	t.Helper()
	var items [][]byte
	for _, c := range cmds {
		b, err := fsm.EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, b)
	}
	data, err := fsm.EncodeBatch(items)
	if err != nil {
		t.Fatal(err)
	}
	ext := binary.BigEndian.AppendUint64(nil, bid)
	for _, id := range ids {
		ext = binary.BigEndian.AppendUint64(ext, id)
	}
	return &raft.Log{Index: index, Type: raft.LogCommand, Data: data, Extensions: ext}
}

// The table applies the three kinds of entries, hands every result to its
// caller, and publishes the changes in log order.
func TestTableEntries(t *testing.T) {
	tb := newTable("n1")
	w, err := tb.watch(16)
	if err != nil {
		t.Fatal(err)
	}
	a, b := pid.PID{Node: "n1", Host: "app", Seq: 1}, pid.PID{Node: "n2", Host: "app", Seq: 2}
	chs := map[uint64]chan result{}
	for id := range uint64(8) {
		chs[id+1] = tb.expect(id + 1)
	}
	single, _ := fsm.EncodeCommand(fsm.Register{Name: "x", PID: a})
	tb.ApplyBatch([]*raft.Log{
		{Index: 1, Type: raft.LogCommand, Extensions: binary.BigEndian.AppendUint64(nil, 1)}, // a no-op
		{Index: 2, Type: raft.LogCommand, Data: single, Extensions: binary.BigEndian.AppendUint64(nil, 2)},
		batchEntry(t, 3, 3, []uint64{4, 5, 6},
			fsm.Register{Name: "y", PID: b},
			fsm.Register{Name: "x", PID: b}, // taken at index 2
			fsm.Unregister{Name: "x", Owner: a}),
		batchEntry(t, 4, 7, nil, fsm.Register{Name: "z", PID: a}), // proposed elsewhere: no ids
	})
	want := map[uint64]result{
		1: {index: 1},
		2: {index: 2},
		3: {index: 3},
		4: {index: 3},
		5: {index: 3, err: registry.ErrAlreadyExists, owner: a},
		6: {index: 3},
	}
	for id, ch := range chs {
		select {
		case got := <-ch:
			exp, ok := want[id]
			if !ok || got != exp {
				t.Errorf("id %d: %+v, want %+v (expected: %v)", id, got, exp, ok)
			}
		default:
			if _, ok := want[id]; ok {
				t.Errorf("id %d: no result", id)
			}
		}
	}
	wantEvents := []registry.Event{
		{Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: "x", PID: a, Index: 2},
		{Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: "y", PID: b, Index: 3},
		{Kind: registry.EventUnregistered, Cause: registry.CauseRequest, Name: "x", PID: a, Index: 3},
		{Kind: registry.EventRegistered, Cause: registry.CauseRequest, Name: "z", PID: a, Index: 4},
	}
	for i, ev := range wantEvents {
		if got := <-w.Events(); got != ev {
			t.Fatalf("event %d: %+v, want %+v", i, got, ev)
		}
	}
	if tb.index() != 4 || tb.names.Load() != 2 {
		t.Fatalf("index %d, %d names", tb.index(), tb.names.Load())
	}
	// A batch that does not decode fails its callers and changes nothing.
	bad := batchEntry(t, 5, 1, []uint64{2}, fsm.Register{Name: "q", PID: a})
	bad.Data = append(bad.Data, 0)
	chs[1], chs[2] = tb.expect(1), tb.expect(2)
	tb.ApplyBatch([]*raft.Log{bad})
	if got := <-chs[2]; !errors.Is(got.err, fsm.ErrBadCommand) {
		t.Fatalf("bad batch: %+v", got)
	}
	if got := <-chs[1]; got.err != nil || got.index != 5 {
		t.Fatalf("bad batch, its own id: %+v", got)
	}
	if tb.bad.Load() != 1 || tb.names.Load() != 2 {
		t.Fatalf("bad %d, names %d", tb.bad.Load(), tb.names.Load())
	}
}

// Concurrent registers on the leader and on followers go out in batches
// (far fewer log entries than commands), and contested names still have
// one winner, whom the loser is told about.
func TestConcurrentRegistersBatched(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.waitLeader(c.names...)
	ctx := ctxT(t, 30*time.Second)
	before := c.reg(leader).raft().LastIndex()
	const names = 128
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([][2]error, names)
	for i := range names {
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := c.names[(2*i+k)%3]
				<-start
				errs[i][k] = c.reg(node).Register(ctx, fmt.Sprint("name", i), ppid(node, uint64(1+2*i+k)))
			}()
		}
	}
	close(start)
	wg.Wait()
	for i := range names {
		won := 0
		for k := range 2 {
			switch err := errs[i][k]; {
			case err == nil:
				won++
			case !errors.Is(err, registry.ErrAlreadyExists):
				t.Fatalf("name%d, client %d: %v", i, k, err)
			}
		}
		if won != 1 {
			t.Fatalf("name%d: %d winners (%v)", i, won, errs[i])
		}
		holder, ok := c.reg(leader).Resolve(fmt.Sprint("name", i))
		if !ok || holder.Seq != uint64(1+2*i) && holder.Seq != uint64(2+2*i) {
			t.Fatalf("name%d held by %v", i, holder)
		}
	}
	entries := c.reg(leader).raft().LastIndex() - before
	if entries >= 2*names/2 {
		t.Fatalf("%d commands took %d log entries: not batched", 2*names, entries)
	}
	t.Logf("%d commands in %d log entries", 2*names, entries)
}
