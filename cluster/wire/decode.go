package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Interning bounds: strings up to internMax bytes are interned, in a table
// of at most internCap entries that is cleared when full.
const (
	internMax  = 128
	internCap  = 1024
	scratchMax = 4 << 10 // larger scratch buffers are not kept
	// Short payload strings are cut from slabs of slabSize bytes, one
	// allocation for many messages instead of one each. A kept string
	// keeps its slab alive: at most slabSize bytes for one string.
	slabSize = 2 << 10
	slabMax  = 256
)

// Decoder reads messages. Reuse one per goroutine: it keeps its msgpack
// decoder, a scratch buffer and a table of interned strings (node, host
// and topic names), so a stream of similar messages allocates little. The
// values it returns share no memory with the body.
type Decoder struct {
	r      bytes.Reader
	dec    *msgpack.Decoder
	body   []byte // what r reads: the message after its type byte
	nodes  Nodes
	buf    []byte
	intern map[string]string
	typ    Type
	// Last values read in the hot fields of an envelope, with their
	// encodings: a stream of envelopes between the same two processes
	// repeats them byte for byte, and equal bytes decode to equal values.
	from, to pidCache
	topic    strCache
	actorC   actorCache
	scopeC   scopeCache
	outerC   outerCache
	chainC   chainCache
	slab     []byte // payload bytes are appended, never overwritten (see text)
}

type outerCache struct {
	raw   []byte
	chain security.RemoteChain
}

// chainCache is the last chain an envelope decoded to, and what it was
// made of: the next envelope of the same sender reuses it.
type chainCache struct {
	actor *security.Actor
	scope []string
	outer security.RemoteChain
	chain security.RemoteChain
}

type actorCache struct {
	raw []byte
	a   *security.Actor
}

type scopeCache struct {
	raw []byte
	s   []string
}

type pidCache struct {
	raw   []byte
	nodes Nodes
	p     pid.PID
}

type strCache struct {
	raw []byte
	s   string
}

// maxCachedRaw bounds the encodings the field caches keep.
const maxCachedRaw = 256

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	d := &Decoder{intern: make(map[string]string)}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}

// DecodeEnvelope decodes an Envelope sent from n.Sender to n.Receiver into
// m, which it overwrites.
func (d *Decoder) DecodeEnvelope(body []byte, n Nodes, m *Envelope) error {
	return d.run(body, TypeEnvelope, n, func() error { return d.envelope(m) })
}

// DecodeGroupcast decodes a Groupcast sent from n.Sender to n.Receiver
// into m, which it overwrites.
func (d *Decoder) DecodeGroupcast(body []byte, n Nodes, m *Groupcast) error {
	return d.run(body, TypeGroupcast, n, func() error {
		extra, err := d.arrayHeader(groupcastFields, "groupcast")
		if err != nil {
			return err
		}
		if m.Scope, err = d.str("scope", true); err != nil {
			return err
		}
		if m.Group, err = d.str("group", true); err != nil {
			return err
		}
		if err := d.envelope(&m.Envelope); err != nil {
			return err
		}
		return d.skip(extra)
	})
}

func (d *Decoder) envelope(m *Envelope) error {
	if d.repeatEnvelope(m) {
		return nil
	}
	extra, err := d.arrayHeader(envelopeMinFields, "envelope")
	if err != nil {
		return err
	}
	kind, err := d.uint("kind")
	if err != nil {
		return err
	}
	if kind == 0 || kind > math.MaxUint8 {
		return fmt.Errorf("%w: envelope kind %d", ErrMalformed, kind)
	}
	*m = Envelope{Kind: uint8(kind)}
	if m.From, err = d.cachedPID(&d.from, "from"); err != nil {
		return err
	}
	if m.To, err = d.cachedPID(&d.to, "to"); err != nil {
		return err
	}
	if m.Topic, err = d.cachedStr(&d.topic, "topic"); err != nil {
		return err
	}
	if m.Payload, err = d.value("payload"); err != nil {
		return err
	}
	if m.Err, err = d.errField(); err != nil {
		return err
	}
	actor, err := d.cachedActor()
	if err != nil {
		return err
	}
	scope, err := d.cachedScope()
	if err != nil {
		return err
	}
	if isNil, err := d.nilNext("from host"); err != nil {
		return err
	} else if !isNil {
		if m.FromHost, err = d.str("from host", true); err != nil {
			return err
		}
	}
	var outer security.RemoteChain
	if extra > 0 {
		extra--
		if outer, err = d.cachedOuter(); err != nil {
			return err
		}
	}
	m.Chain = d.envelopeChain(actor, scope, outer)
	return d.skip(extra)
}

// repeatEnvelope decodes, straight from the body, an envelope whose every
// field but the payload repeats the encoding the decoder's caches hold or
// is nil, and whose payload simpleValue reads: the stream of messages
// between the same two processes. It decodes to what the general path
// does (which it leaves everything else to, input consumed or not).
func (d *Decoder) repeatEnvelope(m *Envelope) bool {
	start := d.offset()
	b := d.body[start:]
	if len(b) < 2 || b[0] != 0x90|envelopeMinFields && b[0] != 0x90|envelopeFields || b[1] == 0 || b[1] > 0x7f {
		return false
	}
	i := 2
	match := func(raw []byte) bool {
		if len(raw) > 0 && bytes.HasPrefix(b[i:], raw) {
			i += len(raw)
			return true
		}
		return false
	}
	isNil := func() bool {
		if i < len(b) && b[i] == msgpcode.Nil {
			i++
			return true
		}
		return false
	}
	if d.from.nodes != d.nodes || d.to.nodes != d.nodes || !match(d.from.raw) || !match(d.to.raw) || !match(d.topic.raw) || i >= len(b) {
		return false
	}
	d.advance(i)
	payload, ok := d.simpleValue()
	if !ok {
		return d.rewind(start)
	}
	i = d.offset() - start
	if !isNil() { // the error
		return d.rewind(start)
	}
	var actor *security.Actor
	var scope []string
	var outer security.RemoteChain
	switch {
	case isNil():
	case match(d.actorC.raw):
		actor = d.actorC.a
	default:
		return d.rewind(start)
	}
	switch {
	case isNil():
	case match(d.scopeC.raw):
		scope = d.scopeC.s
	default:
		return d.rewind(start)
	}
	if !isNil() { // the sender's host: its PID's
		return d.rewind(start)
	}
	if b[0] == 0x90|envelopeFields {
		switch {
		case isNil():
		case match(d.outerC.raw):
			outer = d.outerC.chain
		default:
			return d.rewind(start)
		}
	}
	*m = Envelope{Kind: b[1], From: d.from.p, To: d.to.p, Topic: d.topic.s, Payload: payload,
		Chain: d.envelopeChain(actor, scope, outer)}
	d.advance(i - (d.offset() - start))
	return true
}

// rewind moves the reader back to offset at and returns false.
func (d *Decoder) rewind(at int) bool {
	d.r.Seek(int64(at), io.SeekStart)
	return false
}

// envelopeChain assembles an envelope's chain from its layers, reusing the
// last one when it is made of the same (cached, read-only) parts.
func (d *Decoder) envelopeChain(actor *security.Actor, scope []string, outer security.RemoteChain) security.RemoteChain {
	if actor == nil && scope == nil && outer == nil {
		return nil
	}
	c := &d.chainC
	if c.chain != nil && c.actor == actor && sameSlice(c.scope, scope) && sameSlice(c.outer, outer) {
		return c.chain
	}
	chain := make(security.RemoteChain, 0, len(outer)+1)
	chain = append(append(chain, outer...), security.RemoteLayer{Actor: actor, ScopeIDs: scope})
	*c = chainCache{actor: actor, scope: scope, outer: outer, chain: chain}
	return chain
}

// sameSlice reports whether a and b are the same slice (not merely equal).
func sameSlice[T any](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}

// DecodeSpawnRequest decodes a SpawnRequest sent from n.Sender to
// n.Receiver into m, which it overwrites.
func (d *Decoder) DecodeSpawnRequest(body []byte, n Nodes, m *SpawnRequest) error {
	return d.run(body, TypeSpawnRequest, n, func() error {
		extra, err := d.arrayHeader(spawnRequestMinFields, "spawn request")
		if err != nil {
			return err
		}
		*m = SpawnRequest{}
		if m.ID, err = d.uint("request id"); err != nil {
			return err
		}
		if m.From, err = d.pid("from"); err != nil {
			return err
		}
		if m.Entry, err = d.str("entry", true); err != nil {
			return err
		}
		if m.Host, err = d.str("host", true); err != nil {
			return err
		}
		if m.Args, err = d.args(); err != nil {
			return err
		}
		flags, err := d.uint("flags")
		if err != nil {
			return err
		}
		// Unknown flag bits are a later version's: ignored.
		m.Link, m.Monitor, m.Exec = flags&flagLink != 0, flags&flagMonitor != 0, flags&flagExec != 0
		if m.Name, err = d.str("name", false); err != nil {
			return err
		}
		if m.Message, err = d.message(); err != nil {
			return err
		}
		if m.Actor, err = d.actor(); err != nil {
			return err
		}
		if m.ScopeIDs, err = d.scope(); err != nil {
			return err
		}
		if extra > 0 {
			extra--
			if m.HasParent, err = d.nilNext("parent"); err != nil {
				return err
			}
			m.HasParent = !m.HasParent
			if m.HasParent {
				if m.Parent, err = d.chain("parent"); err != nil {
					return err
				}
			}
		}
		if extra > 0 {
			extra--
			if m.Context, err = d.context(); err != nil {
				return err
			}
		}
		return d.skip(extra)
	})
}

// context reads a spawn's context values: nil or a map.
func (d *Decoder) context() (msg.Value, error) {
	v, err := d.value("context")
	if err == nil && !v.IsNil() && v.Kind() != msg.KindMap {
		err = fmt.Errorf("%w: context is a %s, not a map", ErrMalformed, v.Kind())
	}
	return v, err
}

// DecodeSpawnReply decodes a SpawnReply sent from n.Sender to n.Receiver
// into m, which it overwrites.
func (d *Decoder) DecodeSpawnReply(body []byte, n Nodes, m *SpawnReply) error {
	return d.run(body, TypeSpawnReply, n, func() error {
		extra, err := d.arrayHeader(spawnReplyFields, "spawn reply")
		if err != nil {
			return err
		}
		*m = SpawnReply{}
		if m.ID, err = d.uint("request id"); err != nil {
			return err
		}
		if m.PID, err = d.pid("pid"); err != nil {
			return err
		}
		if m.Err, err = d.errField(); err != nil {
			return err
		}
		return d.skip(extra)
	})
}

// run checks the type byte, decodes the rest with body and checks that
// nothing is left.
func (d *Decoder) run(b []byte, t Type, n Nodes, body func() error) error {
	got, err := TypeOf(b)
	if err != nil {
		return err
	}
	if got != t {
		return fmt.Errorf("%w: %v where %v was expected", ErrMalformed, got, t)
	}
	d.nodes, d.typ, d.body = n, t, b[1:]
	d.r.Reset(d.body)
	err = body()
	if err == nil && d.r.Len() != 0 {
		err = fmt.Errorf("%w: %d bytes after the message", ErrMalformed, d.r.Len())
	}
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
		// A msgpack primitive ran out of input.
		err = fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	at := len(b) - d.r.Len()
	d.r.Reset(nil)
	d.body = nil
	if cap(d.buf) > scratchMax {
		d.buf = nil
	}
	if err != nil {
		return fmt.Errorf("%v near offset %d: %w", t, at, err)
	}
	return nil
}

func (d *Decoder) left() int { return d.r.Len() }

// peek returns the next msgpack code.
func (d *Decoder) peek(what string) (byte, error) {
	if d.left() == 0 {
		return 0, fmt.Errorf("%w: %s missing", ErrTruncated, what)
	}
	return d.dec.PeekCode()
}

// nilNext consumes a nil if one is next.
func (d *Decoder) nilNext(what string) (bool, error) {
	c, err := d.peek(what)
	if err != nil {
		return false, err
	}
	if c != msgpcode.Nil {
		return false, nil
	}
	return true, d.dec.DecodeNil()
}

// arrayHeader reads an array header with at least min elements and
// returns how many more there are.
func (d *Decoder) arrayHeader(min int, what string) (int, error) {
	n, err := d.arrayLen(what)
	if err != nil {
		return 0, err
	}
	if n < min {
		return 0, fmt.Errorf("%w: %s has %d fields, want at least %d", ErrMalformed, what, n, min)
	}
	return n - min, nil
}

// arrayLen reads an array header whose elements the input can hold (every
// element takes at least one byte).
func (d *Decoder) arrayLen(what string) (int, error) {
	c, err := d.peek(what)
	if err != nil {
		return 0, err
	}
	if !msgpcode.IsFixedArray(c) && c != msgpcode.Array16 && c != msgpcode.Array32 {
		return 0, fmt.Errorf("%w: %s is code 0x%02x, not an array", ErrMalformed, what, c)
	}
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n < 0 || n > d.left() {
		return 0, fmt.Errorf("%w: %s of %d elements, %d bytes left", ErrTruncated, what, n, d.left())
	}
	return n, nil
}

// skip reads and drops n well-formed values (fields of a later version).
func (d *Decoder) skip(n int) error {
	for range n {
		if _, err := d.value("extra field"); err != nil {
			return err
		}
	}
	return nil
}

// uint reads a non-negative integer of any width.
func (d *Decoder) uint(what string) (uint64, error) {
	c, err := d.peek(what)
	if err != nil {
		return 0, err
	}
	switch {
	case c <= msgpcode.PosFixedNumHigh || c >= msgpcode.Uint8 && c <= msgpcode.Uint64:
		return d.dec.DecodeUint64()
	case c >= msgpcode.Int8 && c <= msgpcode.Int64:
		v, err := d.dec.DecodeInt64()
		if err != nil {
			return 0, err
		}
		if v < 0 {
			return 0, fmt.Errorf("%w: %s is negative", ErrMalformed, what)
		}
		return uint64(v), nil
	}
	return 0, fmt.Errorf("%w: %s is code 0x%02x, not an unsigned integer", ErrMalformed, what, c)
}

// str reads a string; intern keeps short ones in the decoder's table.
func (d *Decoder) str(what string, intern bool) (string, error) {
	c, err := d.peek(what)
	if err != nil {
		return "", err
	}
	if !msgpcode.IsString(c) {
		return "", fmt.Errorf("%w: %s is code 0x%02x, not a string", ErrMalformed, what, c)
	}
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return "", err
	}
	if n < 0 || n > d.left() {
		return "", fmt.Errorf("%w: %s of %d bytes, %d left", ErrTruncated, what, n, d.left())
	}
	if n == 0 {
		return "", nil
	}
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	b := d.buf[:n]
	if err := d.dec.ReadFull(b); err != nil {
		return "", err
	}
	if !intern || n > internMax {
		return string(b), nil
	}
	if s, ok := d.intern[string(b)]; ok {
		return s, nil
	}
	if len(d.intern) >= internCap {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s, nil
}

// offset is the position of the next byte to read in d.body.
func (d *Decoder) offset() int { return len(d.body) - d.r.Len() }

// advance skips n bytes the caller has checked are there.
func (d *Decoder) advance(n int) { d.r.Seek(int64(n), io.SeekCurrent) }

// cachedPID reads a PID, or takes it from c when the next bytes are the
// encoding c holds (decoding is deterministic: the same bytes between the
// same nodes are the same PID).
func (d *Decoder) cachedPID(c *pidCache, what string) (pid.PID, error) {
	at := d.offset()
	if len(c.raw) > 0 && c.nodes == d.nodes && bytes.HasPrefix(d.body[at:], c.raw) {
		d.advance(len(c.raw))
		return c.p, nil
	}
	p, err := d.pid(what)
	if err == nil {
		if raw := d.body[at:d.offset()]; len(raw) <= maxCachedRaw {
			c.raw, c.nodes, c.p = append(c.raw[:0], raw...), d.nodes, p
		}
	}
	return p, err
}

// cachedStr reads an interned string, or takes it from c when the next
// bytes are the encoding c holds.
func (d *Decoder) cachedStr(c *strCache, what string) (string, error) {
	at := d.offset()
	if len(c.raw) > 0 && bytes.HasPrefix(d.body[at:], c.raw) {
		d.advance(len(c.raw))
		return c.s, nil
	}
	s, err := d.str(what, true)
	if err == nil {
		if raw := d.body[at:d.offset()]; len(raw) <= maxCachedRaw {
			c.raw, c.s = append(c.raw[:0], raw...), s
		}
	}
	return s, err
}

// pid reads a PID, resolving the node shorthands.
func (d *Decoder) pid(what string) (pid.PID, error) {
	p, err := d.pidBody()
	if err != nil {
		return pid.PID{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

func (d *Decoder) pidBody() (pid.PID, error) {
	if isNil, err := d.nilNext("pid"); err != nil || isNil {
		return pid.PID{}, err
	}
	extra, err := d.arrayHeader(pidFields, "pid")
	if err != nil {
		return pid.PID{}, err
	}
	var p pid.PID
	c, err := d.peek("pid node")
	if err != nil {
		return p, err
	}
	if msgpcode.IsString(c) {
		if p.Node, err = d.str("pid node", true); err != nil {
			return p, err
		}
		if p.Node == "" {
			p.Node = d.nodes.Sender
		}
	} else {
		n, err := d.uint("pid node")
		if err != nil {
			return p, err
		}
		switch n {
		case nodeSender:
			p.Node = d.nodes.Sender
		case nodeReceiver:
			p.Node = d.nodes.Receiver
		default:
			return p, fmt.Errorf("%w: node shorthand %d", ErrMalformed, n)
		}
	}
	if p.Host, err = d.str("pid host", true); err != nil {
		return p, err
	}
	if p.Seq, err = d.uint("pid seq"); err != nil {
		return p, err
	}
	return p, d.skip(extra)
}

// value reads a msg.Value.
func (d *Decoder) value(what string) (msg.Value, error) {
	if d.left() == 0 {
		return msg.Nil, fmt.Errorf("%w: %s missing", ErrTruncated, what)
	}
	if v, ok := d.simpleValue(); ok {
		return v, nil
	}
	v, err := msg.Decode(d.dec)
	if err != nil {
		if errors.Is(err, msg.ErrTruncated) || errors.Is(err, msg.ErrLength) {
			return msg.Nil, fmt.Errorf("%w: %s: %w", ErrTruncated, what, err)
		}
		return msg.Nil, fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
	}
	return v, nil
}

// errField reads nil or an error value.
func (d *Decoder) errField() (*proc.Error, error) {
	if isNil, err := d.nilNext("error"); err != nil || isNil {
		return nil, err
	}
	v, err := d.value("error")
	if err != nil {
		return nil, err
	}
	ev, ok := v.AsError()
	if !ok {
		return nil, fmt.Errorf("%w: error field is a %v", ErrMalformed, v.Kind())
	}
	return proc.ErrorFromValue(ev), nil
}

func (d *Decoder) args() ([]msg.Value, error) {
	n, err := d.arrayLen("args")
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]msg.Value, n)
	for i := range out {
		if out[i], err = d.value("arg"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Decoder) message() (*Message, error) {
	if isNil, err := d.nilNext("message"); err != nil || isNil {
		return nil, err
	}
	extra, err := d.arrayHeader(messageFields, "message")
	if err != nil {
		return nil, err
	}
	m := &Message{}
	if m.Topic, err = d.str("message topic", true); err != nil {
		return nil, err
	}
	if m.Payload, err = d.value("message payload"); err != nil {
		return nil, err
	}
	return m, d.skip(extra)
}

// cachedActor reads an actor, or returns the one decoded last when the
// next bytes are its encoding (actors are read-only once decoded).
func (d *Decoder) cachedActor() (*security.Actor, error) {
	at := d.offset()
	c := &d.actorC
	if len(c.raw) > 0 && bytes.HasPrefix(d.body[at:], c.raw) {
		d.advance(len(c.raw))
		return c.a, nil
	}
	a, err := d.actor()
	if err == nil && a != nil {
		if raw := d.body[at:d.offset()]; len(raw) <= maxCachedRaw {
			c.raw, c.a = append(c.raw[:0], raw...), a
		}
	}
	return a, err
}

// cachedScope is cachedActor for scope ids.
func (d *Decoder) cachedScope() ([]string, error) {
	at := d.offset()
	c := &d.scopeC
	if len(c.raw) > 0 && bytes.HasPrefix(d.body[at:], c.raw) {
		d.advance(len(c.raw))
		return c.s, nil
	}
	s, err := d.scope()
	if err == nil && s != nil {
		if raw := d.body[at:d.offset()]; len(raw) <= maxCachedRaw {
			c.raw, c.s = append(c.raw[:0], raw...), s
		}
	}
	return s, err
}

// cachedOuter reads the outer layers of an envelope's chain (nil for
// none), or returns the ones decoded last when the next bytes are their
// encoding.
func (d *Decoder) cachedOuter() (security.RemoteChain, error) {
	at := d.offset()
	c := &d.outerC
	if len(c.raw) > 0 && bytes.HasPrefix(d.body[at:], c.raw) {
		d.advance(len(c.raw))
		return c.chain, nil
	}
	if isNil, err := d.nilNext("outer layers"); err != nil || isNil {
		return nil, err
	}
	ch, err := d.chain("outer layers")
	if err == nil {
		if raw := d.body[at:d.offset()]; len(raw) <= maxCachedRaw {
			c.raw, c.chain = append(c.raw[:0], raw...), ch
		}
	}
	return ch, err
}

// chain reads an array of layers, [actor, scope] each, at most
// security.MaxLayers.
func (d *Decoder) chain(what string) (security.RemoteChain, error) {
	n, err := d.arrayLen(what)
	if err != nil {
		return nil, err
	}
	if n > security.MaxLayers {
		return nil, fmt.Errorf("%w: %s: %d layers, at most %d", ErrMalformed, what, n, security.MaxLayers)
	}
	out := make(security.RemoteChain, n)
	for i := range out {
		extra, err := d.arrayHeader(layerFields, "layer")
		if err != nil {
			return nil, err
		}
		if out[i].Actor, err = d.actor(); err != nil {
			return nil, err
		}
		if out[i].ScopeIDs, err = d.scope(); err != nil {
			return nil, err
		}
		if err := d.skip(extra); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Decoder) actor() (*security.Actor, error) {
	if isNil, err := d.nilNext("actor"); err != nil || isNil {
		return nil, err
	}
	extra, err := d.arrayHeader(actorFields, "actor")
	if err != nil {
		return nil, err
	}
	a := &security.Actor{}
	if a.ID, err = d.str("actor id", true); err != nil {
		return nil, err
	}
	if a.Meta, err = d.meta(); err != nil {
		return nil, err
	}
	return a, d.skip(extra)
}

func (d *Decoder) meta() (map[string]any, error) {
	if isNil, err := d.nilNext("actor meta"); err != nil || isNil {
		return nil, err
	}
	return d.metaMap(1)
}

// metaMap reads a map of meta values; depth is its nesting.
func (d *Decoder) metaMap(depth int) (map[string]any, error) {
	c, err := d.peek("actor meta")
	if err != nil {
		return nil, err
	}
	if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return nil, fmt.Errorf("%w: actor meta is code 0x%02x, not a map", ErrMalformed, c)
	}
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > d.left()/2 {
		return nil, fmt.Errorf("%w: actor meta of %d entries, %d bytes left", ErrTruncated, n, d.left())
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.str("actor meta key", true)
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%w: actor meta key %q twice", ErrMalformed, k)
		}
		if m[k], err = d.metaValue(depth); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// metaValue reads a meta value: a scalar, or a list or map of them.
func (d *Decoder) metaValue(depth int) (any, error) {
	c, err := d.peek("actor meta value")
	if err != nil {
		return nil, err
	}
	isMap := msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
	isList := msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
	switch {
	case (isMap || isList) && depth >= msg.MaxDepth:
		return nil, fmt.Errorf("%w: actor meta nested deeper than %d", ErrMalformed, msg.MaxDepth)
	case isMap:
		return d.metaMap(depth + 1)
	case isList:
		n, err := d.arrayLen("actor meta list")
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = d.metaValue(depth + 1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return d.scalar()
}

func (d *Decoder) scalar() (any, error) {
	c, err := d.peek("actor meta value")
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, d.dec.DecodeNil()
	case c == msgpcode.True || c == msgpcode.False:
		return d.dec.DecodeBool()
	case c <= msgpcode.PosFixedNumHigh || c >= msgpcode.Uint8 && c <= msgpcode.Uint64:
		v, err := d.dec.DecodeUint64()
		if err != nil || v > math.MaxInt64 {
			return v, err
		}
		return int64(v), nil
	case c >= msgpcode.NegFixedNumLow || c >= msgpcode.Int8 && c <= msgpcode.Int64:
		return d.dec.DecodeInt64()
	case c == msgpcode.Float || c == msgpcode.Double:
		return d.dec.DecodeFloat64()
	case msgpcode.IsString(c):
		return d.str("actor meta value", true)
	}
	return nil, fmt.Errorf("%w: actor meta value is code 0x%02x, not a scalar", ErrMalformed, c)
}

func (d *Decoder) scope() ([]string, error) {
	if isNil, err := d.nilNext("scope"); err != nil || isNil {
		return nil, err
	}
	n, err := d.arrayLen("scope")
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = d.str("scope policy id", true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// simpleValue reads the payloads most messages carry (nil, a bool, an integer,
// a string or bytes) straight from the body, as msg.Decode would decode
// them; ok is false for any other value, and for one that is cut short or
// out of range, which msg.Decode then reads (and rejects).
func (d *Decoder) simpleValue() (v msg.Value, ok bool) {
	b := d.body[d.offset():]
	c := b[0]
	var hdr, n int
	bin := false
	switch {
	case c <= 0x7f:
		d.advance(1)
		return msg.Int(int64(c)), true
	case c >= 0xe0:
		d.advance(1)
		return msg.Int(int64(int8(c))), true
	case c == msgpcode.Nil:
		d.advance(1)
		return msg.Nil, true
	case c == msgpcode.False || c == msgpcode.True:
		d.advance(1)
		return msg.Bool(c == msgpcode.True), true
	case msgpcode.IsFixedString(c):
		hdr, n = 1, int(c&0x1f)
	case c == msgpcode.Str8 || c == msgpcode.Bin8:
		if len(b) < 2 {
			return msg.Nil, false
		}
		hdr, n, bin = 2, int(b[1]), c == msgpcode.Bin8
	case c == msgpcode.Str16 || c == msgpcode.Bin16:
		if len(b) < 3 {
			return msg.Nil, false
		}
		hdr, n, bin = 3, int(binary.BigEndian.Uint16(b[1:])), c == msgpcode.Bin16
	case c == msgpcode.Str32 || c == msgpcode.Bin32:
		if len(b) < 5 {
			return msg.Nil, false
		}
		hdr, n, bin = 5, int(binary.BigEndian.Uint32(b[1:])), c == msgpcode.Bin32
	default:
		return d.integer(b)
	}
	if n > len(b)-hdr {
		return msg.Nil, false
	}
	s := d.text(b[hdr : hdr+n])
	d.advance(hdr + n)
	if bin {
		return msg.BytesString(s), true
	}
	return msg.String(s), true
}

// integer reads a sized integer for simpleValue.
func (d *Decoder) integer(b []byte) (msg.Value, bool) {
	var size int
	switch b[0] {
	case msgpcode.Uint8, msgpcode.Int8:
		size = 1
	case msgpcode.Uint16, msgpcode.Int16:
		size = 2
	case msgpcode.Uint32, msgpcode.Int32:
		size = 4
	case msgpcode.Uint64, msgpcode.Int64:
		size = 8
	default:
		return msg.Nil, false
	}
	if len(b) < 1+size {
		return msg.Nil, false
	}
	var u uint64
	for _, x := range b[1 : 1+size] {
		u = u<<8 | uint64(x)
	}
	var i int64
	switch b[0] {
	case msgpcode.Uint64:
		if u > math.MaxInt64 {
			return msg.Nil, false
		}
		i = int64(u)
	case msgpcode.Int8:
		i = int64(int8(u))
	case msgpcode.Int16:
		i = int64(int16(u))
	case msgpcode.Int32:
		i = int64(int32(u))
	default:
		i = int64(u) // the unsigned sizes below 8 bytes, and Int64
	}
	d.advance(1 + size)
	return msg.Int(i), true
}

// text returns b as a string. A short one is cut from the decoder's slab:
// bytes are only ever appended to a slab, so a string made from it never
// changes.
func (d *Decoder) text(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > slabMax {
		return string(b)
	}
	if cap(d.slab)-len(d.slab) < n {
		d.slab = make([]byte, 0, slabSize)
	}
	at := len(d.slab)
	d.slab = append(d.slab, b...)
	return unsafe.String(&d.slab[at], n)
}
