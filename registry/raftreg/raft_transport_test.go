package raftreg

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/transport"
)

// pipeNet connects Streams by name in memory, delivering each node's
// frames in order on one goroutine per node. drop makes Send succeed and
// lose the body (a partition that the transport would only notice later).
type pipeNet struct {
	mu    sync.Mutex
	nodes map[string]*pipeNode
	drop  bool
	wg    sync.WaitGroup
}

type pipeNode struct {
	name     string
	net      *pipeNet
	handlers map[transport.StreamType]transport.Handler
	in       chan pipeFrame
}

type pipeFrame struct {
	from string
	st   transport.StreamType
	body []byte
}

func newPipeNet(t *testing.T) *pipeNet {
	n := &pipeNet{nodes: map[string]*pipeNode{}}
	t.Cleanup(func() {
		n.mu.Lock()
		for _, nd := range n.nodes {
			close(nd.in)
		}
		n.mu.Unlock()
		n.wg.Wait()
	})
	return n
}

func (n *pipeNet) node(name string) *pipeNode {
	nd := &pipeNode{name: name, net: n, handlers: map[transport.StreamType]transport.Handler{}, in: make(chan pipeFrame, 1024)}
	n.mu.Lock()
	n.nodes[name] = nd
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for f := range nd.in {
			if h := nd.handlers[f.st]; h != nil {
				h(transport.Peer{Name: f.from, Boot: 1}, f.body)
			}
		}
	}()
	return nd
}

func (p *pipeNode) Register(st transport.StreamType, h transport.Handler) error {
	p.handlers[st] = h
	return nil
}

func (p *pipeNode) Send(name string, st transport.StreamType, body []byte) error {
	p.net.mu.Lock()
	dst, drop := p.net.nodes[name], p.net.drop
	p.net.mu.Unlock()
	if dst == nil {
		return transport.ErrUnknownPeer
	}
	if !drop {
		dst.in <- pipeFrame{from: p.name, st: st, body: append([]byte(nil), body...)}
	}
	return nil
}

// transportPair returns a raft transport for "a" and one for "b".
func transportPair(t *testing.T, timeout time.Duration) (*pipeNet, *raftTransport, *raftTransport) {
	net := newPipeNet(t)
	na, nb := net.node("a"), net.node("b")
	a := newRaftTransport("a", na, timeout, 1024, 1<<20)
	b := newRaftTransport("b", nb, timeout, 1024, 1<<20)
	_ = na.Register(transport.StreamRaft, a.handle)
	_ = nb.Register(transport.StreamRaft, b.handle)
	a.start()
	b.start()
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return net, a, b
}

// serveRPCs answers every RPC b's consumer gets with answer.
func serveRPCs(t *testing.T, tr *raftTransport, answer func(raft.RPC)) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		for {
			select {
			case rpc := <-tr.Consumer():
				answer(rpc)
			case <-done:
				return
			}
		}
	}()
}

func TestRaftTransportRPCs(t *testing.T) {
	_, a, b := transportPair(t, time.Second)
	var gotSnapshot []byte
	serveRPCs(t, b, func(rpc raft.RPC) {
		switch q := rpc.Command.(type) {
		case *raft.AppendEntriesRequest:
			rpc.Respond(&raft.AppendEntriesResponse{Term: q.Term, LastLog: q.Entries[len(q.Entries)-1].Index, Success: true}, nil)
		case *raft.RequestVoteRequest:
			rpc.Respond(&raft.RequestVoteResponse{Term: q.Term, Granted: true}, nil)
		case *raft.RequestPreVoteRequest:
			rpc.Respond(nil, errors.New("no pre-vote today"))
		case *raft.InstallSnapshotRequest:
			gotSnapshot, _ = io.ReadAll(rpc.Reader)
			rpc.Respond(&raft.InstallSnapshotResponse{Term: q.Term, Success: true}, nil)
		case *raft.TimeoutNowRequest:
			rpc.Respond(&raft.TimeoutNowResponse{}, nil)
		}
	})
	var aer raft.AppendEntriesResponse
	err := a.AppendEntries("b", "b", &raft.AppendEntriesRequest{Term: 3, PrevLogEntry: 1, Entries: []*raft.Log{{Index: 2, Term: 3, Data: []byte("x")}}}, &aer)
	if err != nil || !aer.Success || aer.LastLog != 2 || aer.Term != 3 {
		t.Fatalf("append entries: %+v %v", aer, err)
	}
	var rvr raft.RequestVoteResponse
	if err := a.RequestVote("b", "b", &raft.RequestVoteRequest{Term: 4}, &rvr); err != nil || !rvr.Granted {
		t.Fatalf("vote: %+v %v", rvr, err)
	}
	var pvr raft.RequestPreVoteResponse
	if err := a.RequestPreVote("b", "b", &raft.RequestPreVoteRequest{Term: 4}, &pvr); err == nil || err.Error() != "no pre-vote today" {
		t.Fatalf("pre-vote error: %v", err)
	}
	var tnr raft.TimeoutNowResponse
	if err := a.TimeoutNow("b", "b", &raft.TimeoutNowRequest{}, &tnr); err != nil {
		t.Fatal(err)
	}
	// A snapshot of several chunks (1 KiB each here).
	data := bytes.Repeat([]byte("snapshot!"), 500)
	var isr raft.InstallSnapshotResponse
	if err := a.InstallSnapshot("b", "b", &raft.InstallSnapshotRequest{Term: 5, Size: int64(len(data))}, &isr, bytes.NewReader(data)); err != nil || !isr.Success {
		t.Fatalf("snapshot: %+v %v", isr, err)
	}
	if !bytes.Equal(gotSnapshot, data) {
		t.Fatalf("snapshot of %d bytes arrived as %d", len(data), len(gotSnapshot))
	}
	if _, err := a.AppendEntriesPipeline("b", "b"); err != raft.ErrPipelineReplicationNotSupported {
		t.Fatal(err)
	}
	if a.DecodePeer(a.EncodePeer("b", "b")) != "b" || a.LocalAddr() != "a" {
		t.Fatal("peer encoding")
	}
}

func TestRaftTransportHeartbeatFastPath(t *testing.T) {
	_, a, b := transportPair(t, time.Second)
	hb := make(chan struct{}, 1)
	b.SetHeartbeatHandler(func(rpc raft.RPC) {
		hb <- struct{}{}
		rpc.Respond(&raft.AppendEntriesResponse{Term: 9, Success: true}, nil)
	})
	// Nobody reads b's consumer: only the fast path can answer.
	var resp raft.AppendEntriesResponse
	req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: []byte("a")}, Term: 9}
	if err := a.AppendEntries("b", "b", req, &resp); err != nil || !resp.Success {
		t.Fatalf("heartbeat: %+v %v", resp, err)
	}
	select {
	case <-hb:
	default:
		t.Fatal("the heartbeat handler did not run")
	}
}

func TestRaftTransportFailures(t *testing.T) {
	net, a, b := transportPair(t, 100*time.Millisecond)
	serveRPCs(t, b, func(rpc raft.RPC) { rpc.Respond(&raft.RequestVoteResponse{Granted: true}, nil) })
	// An unknown peer fails at once.
	var rvr raft.RequestVoteResponse
	if err := a.RequestVote("c", "c", &raft.RequestVoteRequest{}, &rvr); !errors.Is(err, errNotSent) {
		t.Fatalf("unknown peer: %v", err)
	}
	// A lost request times out.
	net.mu.Lock()
	net.drop = true
	net.mu.Unlock()
	start := time.Now()
	err := a.RequestVote("b", "b", &raft.RequestVoteRequest{}, &rvr)
	if !errors.Is(err, errNoReply) || time.Since(start) > time.Second {
		t.Fatalf("lost request: %v after %v", err, time.Since(start))
	}
	net.mu.Lock()
	net.drop = false
	net.mu.Unlock()
	// A snapshot with a missing chunk is refused.
	stream := uint64(42)
	body, err := a.mux.call("b", func(w *msgp.Writer) { w.WriteByte(rpcSnapshotChunk); putSnapshotChunk(w, stream, 10, []byte("late")) }, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := msgp.NewReader(body); !strings.Contains(r.Str(1000), "snapshot chunk at 10") {
		t.Fatalf("out of place chunk accepted: %q", body)
	}
	var isr raft.InstallSnapshotResponse
	err = a.roundTrip("b", rpcInstallSnapshot, time.Second, func(w *msgp.Writer) { putInstallSnapshotRequest(w, stream, &raft.InstallSnapshotRequest{Size: 4}) },
		func(r *msgp.Reader) { getInstallSnapshotResponse(r, &isr) })
	if err == nil || !strings.Contains(err.Error(), "snapshot data missing") {
		t.Fatalf("install without data: %v", err)
	}
	// After Close, calls fail with raft's shutdown error.
	_ = a.Close()
	if err := a.RequestVote("b", "b", &raft.RequestVoteRequest{}, &rvr); err != raft.ErrTransportShutdown {
		t.Fatalf("after close: %v", err)
	}
}
