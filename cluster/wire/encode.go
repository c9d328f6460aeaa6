package wire

import (
	"fmt"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Encoder appends messages to byte slices. Reuse one per goroutine: it
// keeps its msgpack encoder and the last actor it encoded.
type Encoder struct {
	enc   *msgpack.Encoder
	w     msgp.Writer
	nodes Nodes
	// The last actor encoded and its bytes: actors are shared by every
	// process that runs as them and never change, so a stream of messages
	// from one process encodes its actor once.
	lastActor *security.Actor
	actorRaw  []byte
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.w)
	return e
}

// AppendEnvelope appends m, sent from n.Sender to n.Receiver, to b. On
// error b is returned unchanged in length.
func (e *Encoder) AppendEnvelope(b []byte, n Nodes, m *Envelope) ([]byte, error) {
	return e.run(b, TypeEnvelope, n, func() error { return e.envelope(m) })
}

// AppendGroupcast appends m, sent from n.Sender to n.Receiver, to b.
func (e *Encoder) AppendGroupcast(b []byte, n Nodes, m *Groupcast) ([]byte, error) {
	return e.run(b, TypeGroupcast, n, func() error {
		e.enc.EncodeArrayLen(groupcastFields)
		if err := e.str(m.Scope); err != nil {
			return err
		}
		if err := e.str(m.Group); err != nil {
			return err
		}
		return e.envelope(&m.Envelope)
	})
}

func (e *Encoder) envelope(m *Envelope) error {
	if m.Kind == 0 {
		return fmt.Errorf("envelope kind 0")
	}
	e.w.ArrayHeader(envelopeFields)
	e.w.Uint(uint64(m.Kind))
	if err := e.pid(m.From); err != nil {
		return err
	}
	if err := e.pid(m.To); err != nil {
		return err
	}
	if err := e.str(m.Topic); err != nil {
		return err
	}
	if err := e.value(m.Payload); err != nil {
		return err
	}
	if err := e.err(m.Err); err != nil {
		return err
	}
	// The layer the sender runs as, then its host, then the layers
	// before it (nil for none: the common case costs a byte).
	var inner security.RemoteLayer
	var outer security.RemoteChain
	if n := len(m.Chain); n > 0 {
		inner, outer = m.Chain[n-1], m.Chain[:n-1]
	}
	if err := e.layerBody(inner); err != nil {
		return err
	}
	if m.FromHost == "" || m.FromHost == m.From.Host {
		e.w.Nil()
	} else if err := e.str(m.FromHost); err != nil {
		return err
	}
	if len(outer) == 0 {
		e.w.Nil()
		return nil
	}
	return e.chain(outer)
}

// AppendSpawnRequest appends m, sent from n.Sender to n.Receiver, to b.
func (e *Encoder) AppendSpawnRequest(b []byte, n Nodes, m *SpawnRequest) ([]byte, error) {
	return e.run(b, TypeSpawnRequest, n, func() error {
		e.enc.EncodeArrayLen(spawnRequestFields)
		e.enc.EncodeUint(m.ID)
		if err := e.pid(m.From); err != nil {
			return err
		}
		if err := e.str(m.Entry); err != nil {
			return err
		}
		if err := e.str(m.Host); err != nil {
			return err
		}
		if err := e.enc.EncodeArrayLen(len(m.Args)); err != nil {
			return err
		}
		for _, a := range m.Args {
			if err := msg.Encode(e.enc, a); err != nil {
				return err
			}
		}
		var flags uint64
		if m.Link {
			flags |= flagLink
		}
		if m.Monitor {
			flags |= flagMonitor
		}
		if m.Exec {
			flags |= flagExec
		}
		e.enc.EncodeUint(flags)
		if err := e.str(m.Name); err != nil {
			return err
		}
		if m.Message == nil {
			e.enc.EncodeNil()
		} else {
			e.enc.EncodeArrayLen(messageFields)
			if err := e.str(m.Message.Topic); err != nil {
				return err
			}
			if err := msg.Encode(e.enc, m.Message.Payload); err != nil {
				return err
			}
		}
		if err := e.layerBody(security.RemoteLayer{Actor: m.Actor, ScopeIDs: m.ScopeIDs}); err != nil {
			return err
		}
		if !m.HasParent {
			e.enc.EncodeNil()
		} else if err := e.chain(m.Parent); err != nil {
			return err
		}
		if m.Context.IsNil() {
			return e.enc.EncodeNil()
		}
		if m.Context.Kind() != msg.KindMap {
			return fmt.Errorf("context is a %s, not a map", m.Context.Kind())
		}
		return msg.Encode(e.enc, m.Context)
	})
}

// AppendSpawnReply appends m, sent from n.Sender to n.Receiver, to b.
func (e *Encoder) AppendSpawnReply(b []byte, n Nodes, m *SpawnReply) ([]byte, error) {
	return e.run(b, TypeSpawnReply, n, func() error {
		e.enc.EncodeArrayLen(spawnReplyFields)
		e.enc.EncodeUint(m.ID)
		if err := e.pid(m.PID); err != nil {
			return err
		}
		return e.err(m.Err)
	})
}

// run writes the type byte and the body that body writes; the append
// writer never fails, so errors come only from invalid content.
func (e *Encoder) run(b []byte, t Type, n Nodes, body func() error) ([]byte, error) {
	e.nodes = n
	e.w.B = append(b, byte(t))
	err := body()
	out := e.w.B
	e.w.B = nil
	if err != nil {
		return b, fmt.Errorf("%w: %v: %w", ErrEncode, t, err)
	}
	return out, nil
}

func (e *Encoder) str(s string) error {
	if uint64(len(s)) > math.MaxUint32 {
		return fmt.Errorf("string of %d bytes", len(s))
	}
	e.w.Str(s)
	return nil
}

func (e *Encoder) pid(p pid.PID) error {
	if p.IsZero() {
		e.w.Nil()
		return nil
	}
	e.w.ArrayHeader(pidFields)
	switch {
	case p.Node == "" || p.Node == e.nodes.Sender:
		e.w.Uint(nodeSender)
	case p.Node == e.nodes.Receiver:
		e.w.Uint(nodeReceiver)
	default:
		if err := e.str(p.Node); err != nil {
			return err
		}
	}
	if err := e.str(p.Host); err != nil {
		return err
	}
	e.w.Uint(p.Seq)
	return nil
}

func (e *Encoder) err(pe *proc.Error) error {
	if pe == nil {
		e.w.Nil()
		return nil
	}
	return msg.Encode(e.enc, pe.Value())
}

// value writes a payload: the kinds most messages carry directly, in the
// bytes msg.Encode writes for them, the rest through msg.Encode.
func (e *Encoder) value(v msg.Value) error {
	switch v.Kind() {
	case msg.KindNil:
		e.w.Nil()
	case msg.KindBool:
		b, _ := v.AsBool()
		e.w.Bool(b)
	case msg.KindInt:
		i, _ := v.AsInt()
		e.w.Int(i)
	case msg.KindString:
		s, _ := v.AsString()
		if uint64(len(s)) > math.MaxUint32 {
			return msg.Encode(e.enc, v) // refused there
		}
		e.w.Str(s)
	case msg.KindBytes:
		s, _ := v.BytesText()
		if uint64(len(s)) > math.MaxUint32 {
			return msg.Encode(e.enc, v) // refused there
		}
		e.w.BinHeader(len(s))
		e.w.B = append(e.w.B, s...)
	default:
		return msg.Encode(e.enc, v)
	}
	return nil
}

func (e *Encoder) actor(a *security.Actor) error {
	if a == nil {
		e.w.Nil()
		return nil
	}
	if a == e.lastActor {
		e.w.B = append(e.w.B, e.actorRaw...)
		return nil
	}
	start := len(e.w.B)
	if err := e.actorBody(a); err != nil {
		return err
	}
	if raw := e.w.B[start:]; len(raw) <= maxCachedRaw {
		e.lastActor, e.actorRaw = a, append(e.actorRaw[:0], raw...)
	}
	return nil
}

// layerBody writes a layer's actor and scope as two fields.
func (e *Encoder) layerBody(l security.RemoteLayer) error {
	if err := e.actor(l.Actor); err != nil {
		return err
	}
	return e.scope(l.ScopeIDs)
}

// chain writes layers as an array of [actor, scope].
func (e *Encoder) chain(c security.RemoteChain) error {
	if len(c) > security.MaxLayers {
		return fmt.Errorf("a chain of %d layers (at most %d)", len(c), security.MaxLayers)
	}
	e.enc.EncodeArrayLen(len(c))
	for _, l := range c {
		e.enc.EncodeArrayLen(layerFields)
		if err := e.layerBody(l); err != nil {
			return err
		}
	}
	return nil
}

func (e *Encoder) actorBody(a *security.Actor) error {
	e.enc.EncodeArrayLen(actorFields)
	if err := e.str(a.ID); err != nil {
		return err
	}
	if a.Meta == nil {
		return e.enc.EncodeNil()
	}
	return e.metaMap(a.Meta, 1)
}

// metaMap writes a meta map, keys sorted: the same actor always encodes
// to the same bytes.
func (e *Encoder) metaMap(m map[string]any, depth int) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	e.enc.EncodeMapLen(len(keys))
	for _, k := range keys {
		if err := e.str(k); err != nil {
			return err
		}
		if err := e.metaValue(m[k], depth); err != nil {
			return fmt.Errorf("actor meta %q: %w", k, err)
		}
	}
	return nil
}

// metaValue writes a meta value: a scalar, or a list or map of them.
func (e *Encoder) metaValue(v any, depth int) error {
	if depth > msg.MaxDepth {
		return fmt.Errorf("meta nested deeper than %d", msg.MaxDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		return e.metaMap(x, depth+1)
	case []any:
		e.enc.EncodeArrayLen(len(x))
		for _, el := range x {
			if err := e.metaValue(el, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []string:
		e.enc.EncodeArrayLen(len(x))
		for _, el := range x {
			if err := e.str(el); err != nil {
				return err
			}
		}
		return nil
	}
	return e.scalar(v)
}

func (e *Encoder) scalar(v any) error {
	switch x := v.(type) {
	case nil:
		return e.enc.EncodeNil()
	case bool:
		return e.enc.EncodeBool(x)
	case string:
		return e.str(x)
	case int:
		return e.enc.EncodeInt(int64(x))
	case int8:
		return e.enc.EncodeInt(int64(x))
	case int16:
		return e.enc.EncodeInt(int64(x))
	case int32:
		return e.enc.EncodeInt(int64(x))
	case int64:
		return e.enc.EncodeInt(x)
	case uint:
		return e.enc.EncodeUint(uint64(x))
	case uint8:
		return e.enc.EncodeUint(uint64(x))
	case uint16:
		return e.enc.EncodeUint(uint64(x))
	case uint32:
		return e.enc.EncodeUint(uint64(x))
	case uint64:
		return e.enc.EncodeUint(x)
	case float32:
		return e.enc.EncodeFloat64(float64(x))
	case float64:
		return e.enc.EncodeFloat64(x)
	}
	return fmt.Errorf("%T is not a scalar", v)
}

func (e *Encoder) scope(s []string) error {
	if s == nil {
		return e.enc.EncodeNil()
	}
	e.enc.EncodeArrayLen(len(s))
	for _, id := range s {
		if err := e.str(id); err != nil {
			return err
		}
	}
	return nil
}
