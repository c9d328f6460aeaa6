package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/wippyd/wippyd/transport"
)

// The observer's request/reply over the internode transport: the admin
// endpoint of any node answers for every node by asking it on
// transport.StreamObserver. The stream flows only between members (the
// transport's handshake proves the cluster secret and membership), the
// same authority process traffic has: a node that may terminate another
// node's processes over the cluster stream may ask for them here. The
// asking node has checked its own admin token first.

// Bounds of the observer's mesh traffic.
const (
	// obsMaxServing bounds the requests from other nodes answered at
	// once; past it a request is answered 503 at once.
	obsMaxServing = 4
	// obsMaxPending bounds this node's requests waiting for a reply.
	obsMaxPending = 256
)

// errObsBusy: too many requests in flight.
var errObsBusy = errors.New("node: observer busy")

// obsMesh sends observer requests and answers other nodes'.
type obsMesh struct {
	ep     *transport.Endpoint
	answer func(q obsRequest) (int, []byte)

	next    atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]chan obsReply
	stopped bool

	serving chan struct{} // semaphore of obsMaxServing
	wg      sync.WaitGroup
}

func newObsMesh(ep *transport.Endpoint, answer func(q obsRequest) (int, []byte)) (*obsMesh, error) {
	m := &obsMesh{ep: ep, answer: answer, pending: map[uint64]chan obsReply{}, serving: make(chan struct{}, obsMaxServing)}
	if err := ep.Register(transport.StreamObserver, m.receive); err != nil {
		return nil, err
	}
	return m, nil
}

// receive is the stream's handler. An answer is worked out on a goroutine
// of its own, so the peer's other frames are not held up by it.
func (m *obsMesh) receive(from transport.Peer, body []byte) {
	q, r, err := decodeObsFrame(body)
	switch {
	case err != nil:
		return // a member sent garbage: nothing to answer to
	case r != nil:
		m.mu.Lock()
		ch := m.pending[r.ID]
		delete(m.pending, r.ID)
		m.mu.Unlock()
		if ch != nil {
			ch <- *r
		}
		return
	}
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	select {
	case m.serving <- struct{}{}:
	default:
		m.mu.Unlock()
		m.reply(from.Name, obsReply{ID: q.ID, Status: http.StatusServiceUnavailable,
			Body: jsonError("observer: node " + m.ep.Name() + " is busy answering other nodes")})
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		defer func() { <-m.serving }()
		st, b := m.answer(*q)
		if len(b) > obsMaxReplyLen {
			st, b = http.StatusInsufficientStorage, jsonError("observer: answer too large")
		}
		m.reply(from.Name, obsReply{ID: q.ID, Status: st, Body: b})
	}()
}

func (m *obsMesh) reply(to string, r obsReply) {
	// A reply that cannot be sent is lost; the asking node times out.
	_ = m.ep.Send(to, transport.StreamObserver, r.encode())
}

// ask sends q to node and waits for its reply or ctx's end.
func (m *obsMesh) ask(ctx context.Context, node string, q obsRequest) (obsReply, error) {
	ch := make(chan obsReply, 1)
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return obsReply{}, ErrStopped
	}
	if len(m.pending) >= obsMaxPending {
		m.mu.Unlock()
		return obsReply{}, errObsBusy
	}
	q.ID = m.next.Add(1)
	m.pending[q.ID] = ch
	m.mu.Unlock()
	forget := func() {
		m.mu.Lock()
		delete(m.pending, q.ID)
		m.mu.Unlock()
	}
	if err := m.ep.Send(node, transport.StreamObserver, q.encode()); err != nil {
		forget()
		return obsReply{}, fmt.Errorf("node %s: %w", node, err)
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		forget()
		return obsReply{}, fmt.Errorf("node %s did not answer: %w", node, ctx.Err())
	}
}

// stop refuses new work and waits for the answers being worked out.
func (m *obsMesh) stop() {
	m.mu.Lock()
	m.stopped = true
	m.mu.Unlock()
	m.wg.Wait()
}
