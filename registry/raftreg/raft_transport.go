package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/transport"
)

// raftTransport is a raft.Transport over one stream of the internode
// transport: each Raft RPC is one request body and one response body
// matched by id (see mux), instead of raft's NetworkTransport tunnelling
// byte streams over connections. The internode transport already frames,
// authenticates, orders and retransmits, so a message per RPC is all Raft
// needs, and it costs one frame each way.
//
// Server addresses are node names: the transport routes by name.
//
// Pipelining is not offered (AppendEntriesPipeline returns
// raft.ErrPipelineReplicationNotSupported), which is what
// MaxRPCsInFlight = 1 means for raft's own transport: one AppendEntries in
// flight per follower, batches growing with the load.
//
// Incoming heartbeats are answered on the delivery goroutine through
// raft's heartbeat fast path; other RPCs queue (bounded) for one worker
// that hands them to raft and sends the answer, so a slow disk never stalls
// the peer's delivery goroutine, which also carries the responses to this
// node's own calls. Snapshots travel as acknowledged chunks (flow control
// for the transport's bounded send queue) and are handed to raft whole.
type raftTransport struct {
	local   raft.ServerAddress
	mux     *mux
	timeout time.Duration
	chunk   int
	maxSnap int64

	consumer chan raft.RPC
	work     chan inbound

	hbMu sync.Mutex
	hbFn func(raft.RPC)

	snapMu sync.Mutex
	snaps  map[string]*assembly // snapshot being received, per peer

	shutdown  chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	dropped atomic.Uint64 // requests refused: queue full, malformed, closed

	// heard is when each peer last answered an RPC of this node: on a
	// leader, its heartbeats and appends. The reconciler removes no
	// server it heard from within the debounce window.
	heardMu sync.Mutex
	heard   map[string]time.Time
	// appends counts the AppendEntries RPCs this node sent (heartbeats
	// included): a leader's replication work.
	appends atomic.Uint64
}

type inbound struct {
	from string
	id   uint64
	typ  uint8
	rpc  raft.RPC
	resp chan raft.RPCResponse
}

type assembly struct {
	stream uint64
	buf    []byte
}

var (
	_ raft.Transport   = (*raftTransport)(nil)
	_ raft.WithPreVote = (*raftTransport)(nil)
	_ raft.WithClose   = (*raftTransport)(nil)
)

// workQueue bounds the RPCs waiting for raft's main loop. Raft sends at
// most a few per peer at a time (one AppendEntries, one vote, one snapshot).
const workQueue = 256

// newRaftTransport returns a transport for node local; its handler must be
// registered on the raft stream (see handle).
func newRaftTransport(local string, out Streams, timeout time.Duration, chunk int, maxSnap int64) *raftTransport {
	t := &raftTransport{
		local:    raft.ServerAddress(local),
		timeout:  timeout,
		chunk:    chunk,
		maxSnap:  maxSnap,
		consumer: make(chan raft.RPC),
		work:     make(chan inbound, workQueue),
		snaps:    make(map[string]*assembly),
		heard:    make(map[string]time.Time),
		shutdown: make(chan struct{}),
	}
	t.mux = newMux(transport.StreamRaft, out, t.serve)
	return t
}

// start runs the worker that feeds raft.
func (t *raftTransport) start() {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case in := <-t.work:
				t.dispatch(in)
			case <-t.shutdown:
				return
			}
		}
	}()
}

// handle is the transport.Handler for transport.StreamRaft.
func (t *raftTransport) handle(from transport.Peer, body []byte) { t.mux.handle(from, body) }

// Close stops serving and fails the calls in flight. Idempotent.
func (t *raftTransport) Close() error {
	t.closeOnce.Do(func() { close(t.shutdown) })
	t.wg.Wait()
	return nil
}

// lastHeard is when peer last answered an RPC of this node (zero: never).
func (t *raftTransport) lastHeard(peer string) time.Time {
	t.heardMu.Lock()
	defer t.heardMu.Unlock()
	return t.heard[peer]
}

func (t *raftTransport) closed() bool {
	select {
	case <-t.shutdown:
		return true
	default:
		return false
	}
}

// Consumer implements raft.Transport.
func (t *raftTransport) Consumer() <-chan raft.RPC { return t.consumer }

// LocalAddr implements raft.Transport.
func (t *raftTransport) LocalAddr() raft.ServerAddress { return t.local }

// AppendEntriesPipeline implements raft.Transport: not supported.
func (t *raftTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// EncodePeer implements raft.Transport: the address is the node name.
func (t *raftTransport) EncodePeer(_ raft.ServerID, addr raft.ServerAddress) []byte {
	return []byte(addr)
}

// DecodePeer implements raft.Transport.
func (t *raftTransport) DecodePeer(b []byte) raft.ServerAddress { return raft.ServerAddress(b) }

// SetHeartbeatHandler implements raft.Transport.
func (t *raftTransport) SetHeartbeatHandler(fn func(raft.RPC)) {
	t.hbMu.Lock()
	t.hbFn = fn
	t.hbMu.Unlock()
}

// AppendEntries implements raft.Transport.
func (t *raftTransport) AppendEntries(_ raft.ServerID, target raft.ServerAddress, q *raft.AppendEntriesRequest, p *raft.AppendEntriesResponse) error {
	t.appends.Add(1)
	return t.roundTrip(target, rpcAppendEntries, t.timeout, func(w *msgp.Writer) { putAppendEntriesRequest(w, q) },
		func(r *msgp.Reader) { getAppendEntriesResponse(r, p) })
}

// RequestVote implements raft.Transport.
func (t *raftTransport) RequestVote(_ raft.ServerID, target raft.ServerAddress, q *raft.RequestVoteRequest, p *raft.RequestVoteResponse) error {
	return t.roundTrip(target, rpcRequestVote, t.timeout, func(w *msgp.Writer) { putRequestVoteRequest(w, q) },
		func(r *msgp.Reader) { getRequestVoteResponse(r, p) })
}

// RequestPreVote implements raft.WithPreVote.
func (t *raftTransport) RequestPreVote(_ raft.ServerID, target raft.ServerAddress, q *raft.RequestPreVoteRequest, p *raft.RequestPreVoteResponse) error {
	return t.roundTrip(target, rpcRequestPreVote, t.timeout, func(w *msgp.Writer) { putRequestPreVoteRequest(w, q) },
		func(r *msgp.Reader) { getRequestPreVoteResponse(r, p) })
}

// TimeoutNow implements raft.Transport.
func (t *raftTransport) TimeoutNow(_ raft.ServerID, target raft.ServerAddress, q *raft.TimeoutNowRequest, p *raft.TimeoutNowResponse) error {
	return t.roundTrip(target, rpcTimeoutNow, t.timeout, func(w *msgp.Writer) { putTimeoutNowRequest(w, q) },
		func(r *msgp.Reader) { getTimeoutNowResponse(r, p) })
}

// InstallSnapshot implements raft.Transport: the data goes in chunks, each
// acknowledged before the next, then the request itself, which the peer
// answers after raft installed the snapshot.
func (t *raftTransport) InstallSnapshot(_ raft.ServerID, target raft.ServerAddress, q *raft.InstallSnapshotRequest, p *raft.InstallSnapshotResponse, data io.Reader) error {
	stream := t.mux.seq.Add(1)
	buf := make([]byte, t.chunk)
	var off int64
	for off < q.Size {
		n, err := io.ReadFull(data, buf[:min(int64(len(buf)), q.Size-off)])
		if err != nil {
			return fmt.Errorf("raftreg: reading snapshot: %w", err)
		}
		chunk := buf[:n]
		err = t.roundTrip(target, rpcSnapshotChunk, t.timeout, func(w *msgp.Writer) { putSnapshotChunk(w, stream, off, chunk) },
			func(*msgp.Reader) {})
		if err != nil {
			return err
		}
		off += int64(n)
	}
	// Raft's own transport scales the deadline with the size the same way:
	// the peer writes the snapshot and restores its state machine first.
	timeout := t.timeout * time.Duration(1+q.Size/(256<<10))
	return t.roundTrip(target, rpcInstallSnapshot, timeout, func(w *msgp.Writer) { putInstallSnapshotRequest(w, stream, q) },
		func(r *msgp.Reader) { getInstallSnapshotResponse(r, p) })
}

// roundTrip sends one RPC and decodes its response. A response carries an
// error string (empty for none) before the payload.
func (t *raftTransport) roundTrip(target raft.ServerAddress, typ uint8, timeout time.Duration, put func(*msgp.Writer), get func(*msgp.Reader)) error {
	if t.closed() {
		return raft.ErrTransportShutdown
	}
	body, err := t.mux.call(string(target), func(w *msgp.Writer) { w.WriteByte(typ); put(w) }, timeout, t.shutdown)
	switch {
	case errors.Is(err, errStopped):
		return raft.ErrTransportShutdown
	case err != nil:
		return fmt.Errorf("raftreg: rpc %d to %s: %w", typ, target, err)
	}
	t.heardMu.Lock()
	t.heard[string(target)] = time.Now()
	t.heardMu.Unlock()
	r := msgp.NewReader(body)
	if msg := r.Str(1 << 16); msg != "" && r.Err() == nil {
		return errors.New(msg)
	}
	get(&r)
	return r.End()
}

// serve handles a request from the delivery goroutine of peer from.
func (t *raftTransport) serve(from string, id uint64, r *msgp.Reader) {
	typ := r.Byte()
	in := inbound{from: from, id: id, typ: typ, resp: make(chan raft.RPCResponse, 1)}
	in.rpc.RespChan = in.resp
	heartbeat := false
	switch typ {
	case rpcAppendEntries:
		q := getAppendEntriesRequest(r)
		in.rpc.Command = q
		heartbeat = q.Term != 0 && (len(q.Addr) != 0 || len(q.Leader) != 0) &&
			q.PrevLogEntry == 0 && q.PrevLogTerm == 0 && len(q.Entries) == 0 && q.LeaderCommitIndex == 0
	case rpcRequestVote:
		in.rpc.Command = getRequestVoteRequest(r)
	case rpcRequestPreVote:
		in.rpc.Command = getRequestPreVoteRequest(r)
	case rpcTimeoutNow:
		in.rpc.Command = getTimeoutNowRequest(r)
	case rpcSnapshotChunk:
		t.receiveChunk(from, id, r)
		return
	case rpcInstallSnapshot:
		stream, q := getInstallSnapshotRequest(r)
		if r.End() != nil {
			break
		}
		data, err := t.takeSnapshot(from, stream, q.Size)
		if err != nil {
			t.fail(from, id, err)
			return
		}
		in.rpc.Command = q
		in.rpc.Reader = bytes.NewReader(data)
	default:
		r.Fail("unknown rpc type %d", typ)
	}
	if r.End() != nil {
		t.dropped.Add(1)
		return
	}
	if heartbeat {
		t.hbMu.Lock()
		fn := t.hbFn
		t.hbMu.Unlock()
		if fn != nil {
			fn(in.rpc)
			select {
			case resp := <-in.resp:
				t.respond(in, resp)
			default: // raft is shutting down and ignored it
			}
			return
		}
	}
	select {
	case t.work <- in:
	default:
		t.dropped.Add(1)
		t.fail(from, id, errors.New("raftreg: rpc queue full"))
	}
}

// dispatch hands one RPC to raft and sends its response.
func (t *raftTransport) dispatch(in inbound) {
	select {
	case t.consumer <- in.rpc:
	case <-t.shutdown:
		return
	}
	select {
	case resp := <-in.resp:
		t.respond(in, resp)
	case <-t.shutdown:
	}
}

func (t *raftTransport) respond(in inbound, resp raft.RPCResponse) {
	_ = t.mux.reply(in.from, in.id, func(w *msgp.Writer) {
		if resp.Error != nil {
			w.Str(resp.Error.Error())
			return
		}
		w.Str("")
		switch p := resp.Response.(type) {
		case *raft.AppendEntriesResponse:
			putAppendEntriesResponse(w, p)
		case *raft.RequestVoteResponse:
			putRequestVoteResponse(w, p)
		case *raft.RequestPreVoteResponse:
			putRequestPreVoteResponse(w, p)
		case *raft.InstallSnapshotResponse:
			putInstallSnapshotResponse(w, p)
		case *raft.TimeoutNowResponse:
			putTimeoutNowResponse(w, p)
		}
	})
}

func (t *raftTransport) fail(from string, id uint64, err error) {
	_ = t.mux.reply(from, id, func(w *msgp.Writer) { w.Str(err.Error()) })
}

// receiveChunk appends a snapshot chunk to the peer's assembly. A chunk of
// another stream starts a new assembly (the previous transfer was given
// up); a chunk out of place is refused, which fails the sender's transfer.
func (t *raftTransport) receiveChunk(from string, id uint64, r *msgp.Reader) {
	stream, off, data := getSnapshotChunk(r, t.chunk)
	if r.End() != nil {
		t.dropped.Add(1)
		return
	}
	t.snapMu.Lock()
	a := t.snaps[from]
	if a == nil || a.stream != stream {
		a = &assembly{stream: stream}
		t.snaps[from] = a
	}
	var err error
	switch {
	case off != int64(len(a.buf)):
		err = fmt.Errorf("raftreg: snapshot chunk at %d, have %d bytes", off, len(a.buf))
		delete(t.snaps, from)
	case int64(len(a.buf)+len(data)) > t.maxSnap:
		err = fmt.Errorf("raftreg: snapshot larger than %d bytes", t.maxSnap)
		delete(t.snaps, from)
	default:
		a.buf = append(a.buf, data...)
	}
	t.snapMu.Unlock()
	if err != nil {
		t.fail(from, id, err)
		return
	}
	_ = t.mux.reply(from, id, func(w *msgp.Writer) { w.Str("") })
}

// takeSnapshot returns the assembled data of stream, which must be size
// bytes long.
func (t *raftTransport) takeSnapshot(from string, stream uint64, size int64) ([]byte, error) {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	a := t.snaps[from]
	delete(t.snaps, from)
	switch {
	case size == 0:
		return nil, nil
	case a == nil || a.stream != stream:
		return nil, errors.New("raftreg: snapshot data missing")
	case int64(len(a.buf)) != size:
		return nil, fmt.Errorf("raftreg: snapshot of %d bytes, %d announced", len(a.buf), size)
	}
	return a.buf, nil
}
