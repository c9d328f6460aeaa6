package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// mailbox holds where a process's deliveries go: the inbox channel, the
// events channel, the channels of listened topics, and the process.exec
// calls waiting for a child's EXIT. It survives an upgrade: the channels
// and what they buffer are kept (their values are plain Lua values and
// userdata with shared metatables, valid in the new state), the waiters of
// the old state are dropped.
type mailbox struct {
	inbox   *channel
	events  *channel
	listens map[string]*listen
	execs   map[pid.PID]*task
	subs    map[uint64]*pgSub // process group subscriptions
}

// listen is one listened topic.
type listen struct {
	ch      *channel
	message bool // Message objects rather than payload data
}

// message is a Message object: the userdata and what it holds in one
// block, with the Payload its first payload() call returns (a message is
// made for every delivery the inbox gets, and most are read once).
type message struct {
	ud   glua.LUserData // Value is the message itself
	from *origin
	pay  lualib.PayloadCell
}

// origin is the sender and topic of a message, shared by the messages of
// a run from one sender on one topic (see originOf): one pointer for both
// keeps a message in the 160-byte size class rather than 176, the topic
// is boxed once and from() formats the PID once.
type origin struct {
	pid   pid.PID     // zero: sent from outside any process
	str   glua.LValue // the PID's string, nil until from() asks
	topic glua.LValue // an LString
}

func (m *message) topicString() string { return m.from.topicString() }

// payload returns the message's payload value.
func (m *message) payload() msg.Value { return m.pay.Value() }

func (p *process) mailbox() *mailbox {
	if p.box == nil {
		p.box = &mailbox{}
	}
	return p.box
}

func (p *process) boxChannel() *channel {
	ch := p.newChannel(-1)
	ch.boxed = true
	return ch
}

// msgChannel is a channel the mailbox feeds messages to (the inbox, a
// listen): what it queues counts against the host's max_mailbox.
func (p *process) msgChannel() *channel {
	ch := p.boxChannel()
	ch.held = &p.held
	return ch
}

func (p *process) inboxChan() *channel {
	b := p.mailbox()
	if b.inbox == nil {
		b.inbox = p.msgChannel()
	}
	return b.inbox
}

// Held implements proc.Holder: the messages queued in the inbox and listen
// channels, not yet received by the process's code.
func (p *process) Held() int { return int(p.held.Load()) }

func (p *process) eventsChan() *channel {
	b := p.mailbox()
	if b.events == nil {
		b.events = p.boxChannel()
	}
	return b.events
}

// dropWaiters forgets every task waiting on the mailbox's channels.
func (b *mailbox) dropWaiters() {
	for _, ch := range []*channel{b.inbox, b.events} {
		if ch != nil {
			ch.recvq, ch.sendq = nil, nil
		}
	}
	for _, l := range b.listens {
		l.ch.recvq, l.ch.sendq = nil, nil
	}
	for _, s := range b.subs {
		s.ch.recvq, s.ch.sendq = nil, nil
	}
	b.execs = nil
}

// route hands one delivery to what waits for it.
func (p *process) route(d *proc.Delivery) {
	switch d.Kind {
	case proc.DeliveryMessage:
		if p.mem.limit > 0 {
			p.mem.debt += msgBytes(d.Payload)
		}
		if d.Topic == proc.TopicGroupEvent && d.From.IsZero() {
			p.routeGroupEvent(d)
			return
		}
		if p.box != nil {
			if l := p.box.listens[d.Topic]; l != nil {
				if l.message {
					p.deliver(l.ch, p.newMessage(d))
				} else {
					p.deliver(l.ch, p.toLua(d.Payload))
				}
				return
			}
		}
		p.deliver(p.inboxChan(), p.newMessage(d))
	case proc.DeliveryExit:
		if p.box != nil {
			if t := p.box.execs[d.From]; t != nil {
				delete(p.box.execs, d.From)
				p.ready(t, []glua.LValue{p.toLua(d.Payload), p.errObj(d.Err)})
				return
			}
		}
		res := p.L.CreateTable(0, 2)
		res.RawSetString("value", p.toLua(d.Payload))
		res.RawSetString("error", p.errObj(d.Err))
		p.event("EXIT", d.From, "result", res)
	case proc.DeliveryLinkDown:
		res := p.L.CreateTable(0, 1)
		res.RawSetString("error", p.errObj(d.Err))
		p.event("LINK_DOWN", d.From, "result", res)
	case proc.DeliveryCancel:
		reason, _ := d.Payload.AsString()
		p.event("CANCEL", d.From, "reason", glua.LString(reason))
	case proc.DeliveryTimer:
		if id, ok := d.Payload.AsInt(); ok {
			p.fireTimer(proc.TimerID(id))
		}
	}
}

// event queues an event table on the events channel.
func (p *process) event(kind string, from pid.PID, key string, v glua.LValue) {
	ev := p.L.CreateTable(0, 3)
	ev.RawSetString("kind", glua.LString(kind))
	if !from.IsZero() {
		ev.RawSetString("from", glua.LString(from.String()))
	}
	ev.RawSetString(key, v)
	p.deliver(p.eventsChan(), ev)
}

func (p *process) newMessage(d *proc.Delivery) glua.LValue {
	m := &message{from: p.originOf(d.From, d.Topic)}
	m.pay.Set(d.Payload)
	m.ud.Value, m.ud.Metatable = m, p.eng.lib.msgMeta
	return &m.ud
}

// originOf returns the origin of a message from `from` on topic: the last
// message's when it has both, else a new one that reuses what it can of
// the last (boxing a string allocates; a process is usually sent many
// messages of one topic, often by one sender).
func (p *process) originOf(from pid.PID, topic string) *origin {
	last := p.lastOrigin
	if last != nil && last.pid == from && last.topicString() == topic {
		return last
	}
	o := &origin{pid: from}
	switch {
	case last == nil:
	case last.topicString() == topic:
		o.topic = last.topic
	case last.pid == from:
		o.str = last.str
	}
	if o.topic == nil {
		o.topic = glua.LString(topic)
	}
	p.lastOrigin = o
	return o
}

func (o *origin) topicString() string { return string(o.topic.(glua.LString)) }

// errObj returns an error object for err, or nil.
func (p *process) errObj(err error) glua.LValue {
	if err == nil {
		return glua.LNil
	}
	return lualib.NewError(p.L, proc.AsError(err))
}

func (p *process) toLua(v msg.Value) glua.LValue { return lualib.FromValue(p.L, v) }

func (p *process) toValue(v glua.LValue) (msg.Value, error) { return lualib.ToValue(p.L, v) }

func checkMessage(L *glua.LState) *message {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if m, ok := ud.Value.(*message); ok {
			return m
		}
	}
	L.ArgError(1, "message expected")
	return nil
}

func msgTopic(L *glua.LState) int {
	L.Push(checkMessage(L).from.topic)
	return 1
}

func msgFrom(L *glua.LState) int {
	o := checkMessage(L).from
	if o.pid.IsZero() {
		L.Push(glua.LNil)
		return 1
	}
	if o.str == nil {
		o.str = glua.LString(o.pid.String())
	}
	L.Push(o.str)
	return 1
}

func msgPayload(L *glua.LState) int {
	L.Push(checkMessage(L).pay.Payload(L, procOf(L).eng.lib.lib))
	return 1
}

func (l *libs) buildMessage(B *glua.LState) {
	l.msgMeta = userMeta(B, "message", nil)
	methods := B.CreateTable(0, 3)
	for name, fn := range map[string]glua.LGFunction{"topic": msgTopic, "from": msgFrom, "payload": msgPayload} {
		methods.RawSetString(name, B.NewFunction(fn))
	}
	l.msgMeta.RawSetString("__index", methods)
}
