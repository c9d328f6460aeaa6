package cluster

import (
	"errors"
	"fmt"

	"github.com/wippyd/wippyd/cluster/wire"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/transport"
)

var _ runtime.Router = (*Cluster)(nil)

// encoder is a pooled wire encoder with its body buffer; transport.Send
// copies the body, so the buffer is reused at once.
type encoder struct {
	enc *wire.Encoder
	buf []byte
}

// maxKeptBuffer bounds the body buffer a pooled encoder keeps.
const maxKeptBuffer = 64 << 10

func (c *Cluster) getEncoder() *encoder { return c.encoders.Get().(*encoder) }

func (c *Cluster) putEncoder(e *encoder) {
	if cap(e.buf) > maxKeptBuffer {
		e.buf = nil
	}
	c.encoders.Put(e)
}

// Route implements runtime.Router: it sends e to e.To's node on the
// cluster stream. Envelopes from one goroutine to one node go out in
// call order and the transport keeps that order, so per (sender,
// receiver) order holds across the network. A node never seen gives
// runtime.ErrUnknownNode; a known node that is down (or a session that
// cannot take the frame) gives runtime.ErrNoRoute.
func (c *Cluster) Route(e *runtime.Envelope) error {
	node := e.To.Node
	if node == c.node || node == "" {
		// The runtime delivers local signals itself; be forgiving.
		if rt := c.runtime(); rt != nil {
			rt.Deliver(e)
			return nil
		}
		return runtime.ErrNoRoute
	}
	w := wire.Envelope{
		Kind: uint8(e.Kind), From: e.From, To: e.To, Topic: e.Topic, Payload: e.Payload, Err: e.Err,
		Chain: e.Chain, FromHost: e.FromHost,
	}
	return c.ship(node, func(enc *wire.Encoder, b []byte, n wire.Nodes) ([]byte, error) {
		return enc.AppendEnvelope(b, n, &w)
	})
}

var _ runtime.GroupRouter = (*Cluster)(nil)

// RouteGroup implements runtime.GroupRouter: it sends one broadcast to
// node, whose runtime delivers it to the group's members there. It goes
// on the cluster stream like the sender's other envelopes, so their order
// holds.
func (c *Cluster) RouteGroup(node, scope, group string, e *runtime.Envelope) error {
	m := wire.Groupcast{Scope: scope, Group: group, Envelope: wire.Envelope{
		Kind: uint8(runtime.SigMessage), From: e.From, Topic: e.Topic, Payload: e.Payload,
		Chain: e.Chain, FromHost: e.FromHost,
	}}
	return c.ship(node, func(enc *wire.Encoder, b []byte, n wire.Nodes) ([]byte, error) {
		return enc.AppendGroupcast(b, n, &m)
	})
}

// ship encodes a message with encode and queues it for node on the
// cluster stream.
func (c *Cluster) ship(node string, encode func(*wire.Encoder, []byte, wire.Nodes) ([]byte, error)) error {
	r := (*c.routes.Load())[node]
	if r == nil {
		return runtime.ErrUnknownNode
	}
	if !r.up.Load() || c.stopped.Load() {
		c.ctr.drop(dropNodeDown)
		return runtime.ErrNoRoute
	}
	enc := c.getEncoder()
	body, err := encode(enc.enc, enc.buf[:0], wire.Nodes{Sender: c.node, Receiver: node})
	if err != nil {
		c.putEncoder(enc)
		return proc.Errorf(proc.KindInvalid, ErrEncode.Retryable, "%w: %v", ErrEncode, err)
	}
	enc.buf = body
	// Counted before the transport has it, so the count never lags what
	// the peer may already have seen.
	r.sent.Add(1)
	err = c.ep.Send(node, transport.StreamCluster, body)
	c.putEncoder(enc)
	if err != nil {
		r.sent.Add(^uint64(0))
		return c.sendError(node, err)
	}
	return nil
}

// sendError maps a transport Send failure to what the runtime expects.
func (c *Cluster) sendError(node string, err error) error {
	if errors.Is(err, transport.ErrFrameTooLarge) {
		return proc.Errorf(proc.KindInvalid, ErrTooLarge.Retryable, "%w: %v", ErrTooLarge, err)
	}
	// Queue overflow (the session is abandoned; the loss comes back as a
	// session event and a NodeDown), a peer the transport does not know,
	// a closed endpoint: the node cannot be reached now.
	c.ctr.drop(dropNodeDown)
	if !errors.Is(err, transport.ErrQueueFull) {
		c.log.Debug("cluster: send failed", "peer", node, "err", err)
	}
	return fmt.Errorf("%w: %s: %w", runtime.ErrNoRoute, node, err)
}
