package raftreg

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/transport"
)

// Streams is what the registry needs from the internode transport:
// *transport.Endpoint satisfies it. Register is called from New, before
// the endpoint starts. Send queues a body for a peer and returns at once;
// bodies to one peer arrive in order, once each, or not at all when the
// session is abandoned.
type Streams interface {
	Register(st transport.StreamType, h transport.Handler) error
	Send(name string, st transport.StreamType, body []byte) error
}

var _ Streams = (*transport.Endpoint)(nil)

// Frame kinds inside a stream body: the first byte. Never renumber.
const (
	frameRequest  byte = 1
	frameResponse byte = 2
	framePush     byte = 3 // a one-way message: a client's feed (feed.go)
)

// errNotSent: the transport refused the request, so the peer never saw it.
// errNoReply: the request was handed to the transport but no response came
// in time; the peer may have acted on it.
var (
	errNotSent = errors.New("raftreg: request not sent")
	errNoReply = errors.New("raftreg: no reply in time")
	errStopped = errors.New("raftreg: stopped")
)

// mux runs request/response exchanges over one stream of the transport.
// A body is a frame kind, a request id (msgpack uint), then the payload.
// Requests go to serve, on the transport's delivery goroutine for the
// sending peer: serve must not block. Responses complete the matching
// call; a response for a call that gave up is counted and dropped.
type mux struct {
	st    transport.StreamType
	out   Streams
	serve func(from string, id uint64, r *msgp.Reader)
	push  func(from string, r *msgp.Reader) // nil: pushes are refused

	mu      sync.Mutex
	pending map[uint64]waiter
	seq     atomic.Uint64

	stray atomic.Uint64 // responses nobody waited for any more
	bad   atomic.Uint64 // malformed bodies
}

type waiter struct {
	peer string
	ch   chan []byte
}

func newMux(st transport.StreamType, out Streams, serve func(string, uint64, *msgp.Reader)) *mux {
	return &mux{st: st, out: out, serve: serve, pending: make(map[uint64]waiter)}
}

// handle is the transport.Handler of the stream.
func (m *mux) handle(from transport.Peer, body []byte) {
	r := msgp.NewReader(body)
	kind := r.Byte()
	id := r.Uint()
	if r.Err() != nil {
		m.bad.Add(1)
		return
	}
	switch kind {
	case frameRequest:
		m.serve(from.Name, id, &r)
	case framePush:
		if m.push == nil {
			m.bad.Add(1)
			return
		}
		m.push(from.Name, &r)
	case frameResponse:
		m.mu.Lock()
		w, ok := m.pending[id]
		if ok && w.peer == from.Name {
			delete(m.pending, id)
		} else {
			ok = false
		}
		m.mu.Unlock()
		if !ok {
			m.stray.Add(1)
			return
		}
		w.ch <- r.Rest() // buffered: never blocks
	default:
		m.bad.Add(1)
	}
}

// pending is a request sent and not answered yet. Wait on ch; call cancel
// when giving up (a late response is then counted as stray).
type pending struct {
	m  *mux
	id uint64
	ch chan []byte
}

func (p *pending) cancel() { p.m.forget(p.id) }

// start sends a request built by build to peer. The error wraps errNotSent:
// the transport refused it, so the peer never sees it.
func (m *mux) start(peer string, build func(*msgp.Writer)) (*pending, error) {
	id := m.seq.Add(1)
	w := msgp.Writer{B: make([]byte, 0, 128)}
	w.WriteByte(frameRequest)
	w.Uint(id)
	build(&w)
	p := &pending{m: m, id: id, ch: make(chan []byte, 1)}
	m.mu.Lock()
	m.pending[id] = waiter{peer: peer, ch: p.ch}
	m.mu.Unlock()
	if err := m.out.Send(peer, m.st, w.B); err != nil {
		m.forget(id)
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	return p, nil
}

// call sends a request and waits for the response payload until timeout
// or done. Errors: errNotSent (wrapping the transport's), errNoReply,
// errStopped (done closed; the request may have been sent).
func (m *mux) call(peer string, build func(*msgp.Writer), timeout time.Duration, done <-chan struct{}) ([]byte, error) {
	p, err := m.start(peer, build)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case b := <-p.ch:
		return b, nil
	case <-t.C:
		p.cancel()
		return nil, errNoReply
	case <-done:
		p.cancel()
		return nil, errStopped
	}
}

func (m *mux) forget(id uint64) {
	m.mu.Lock()
	delete(m.pending, id)
	m.mu.Unlock()
}

// send pushes a one-way message built by build to peer.
func (m *mux) send(peer string, build func(*msgp.Writer)) error {
	w := msgp.Writer{B: make([]byte, 0, 256)}
	w.WriteByte(framePush)
	w.Uint(0)
	build(&w)
	return m.out.Send(peer, m.st, w.B)
}

// reply sends the response to request id of peer.
func (m *mux) reply(peer string, id uint64, build func(*msgp.Writer)) error {
	w := msgp.Writer{B: make([]byte, 0, 64)}
	w.WriteByte(frameResponse)
	w.Uint(id)
	build(&w)
	return m.out.Send(peer, m.st, w.B)
}
