package lua

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	glua "github.com/yuin/gopher-lua"
)

// channel is a Lua channel: process-local, driven by the process's one
// runner, so it needs no lock. Its semantics follow Go's: an unbuffered
// channel hands a value from a sender to a receiver, a buffered one holds
// up to cap values, receiving from a closed and drained channel gives
// (nil, false), sending on a closed one raises. A channel the mailbox feeds
// (inbox, events, listen) is unbounded.
type channel struct {
	q      []glua.LValue // buffered values: q[head:]
	head   int
	cap    int // < 0: unbounded
	closed bool
	boxed  bool          // fed by the mailbox: cannot be closed
	held   *atomic.Int64 // the process's count of queued messages (inbox, listens)
	recvq  []*waiter
	sendq  []*waiter
	ud     *glua.LUserData // the channel's one Lua value
}

// waiter is a task blocked on a channel, alone or as one case of a select.
type waiter struct {
	t   *task
	sel *selectWait
	idx int         // case index in sel
	v   glua.LValue // the value offered by a sender
}

// selectWait is a select a task is blocked in.
type selectWait struct {
	t     *task
	cases []*selCase
}

// selCase is a case object (ch:case_send(v), ch:case_receive()).
type selCase struct {
	ch   *channel
	send bool
	v    glua.LValue
}

func (p *process) newChannel(size int) *channel {
	ch := &channel{cap: size}
	ch.ud = &glua.LUserData{Value: ch, Metatable: p.eng.lib.chanMeta}
	return ch
}

func (ch *channel) len() int { return len(ch.q) - ch.head }

func (ch *channel) push(v glua.LValue) {
	ch.q = append(ch.q, v)
	if ch.held != nil {
		ch.held.Add(1)
	}
}

// keepValues is the largest buffer a drained channel keeps (4 KiB): the
// inbox of a process that is sent bursts (tokens bunching up in a ring)
// is refilled turn after turn, and letting its buffer go each time cost an
// allocation of the burst's size per turn. The runtime's mailbox keeps up
// to twice that in deliveries for the same reason.
const keepValues = 256

// reserve makes room for n more values in one allocation, where pushing
// them one by one would grow the buffer by doubling: a turn routes its
// whole batch into the inbox at once.
func (ch *channel) reserve(n int) {
	k := ch.len()
	if cap(ch.q)-len(ch.q) >= n {
		return
	}
	q := make([]glua.LValue, k, k+n)
	copy(q, ch.q[ch.head:])
	ch.q, ch.head = q, 0
}

func (ch *channel) pop() glua.LValue {
	if ch.held != nil {
		ch.held.Add(-1)
	}
	v := ch.q[ch.head]
	ch.q[ch.head] = nil
	ch.head++
	if ch.head == len(ch.q) {
		// Drained: keep a buffer of up to keepValues for reuse, let a
		// bigger one go.
		if cap(ch.q) > keepValues {
			ch.q = nil
		} else {
			ch.q = ch.q[:0]
		}
		ch.head = 0
	}
	return v
}

func popWaiter(q *[]*waiter) *waiter {
	if len(*q) == 0 {
		return nil
	}
	w := (*q)[0]
	(*q)[0] = nil
	if len(*q) == 1 {
		*q = (*q)[:0] // keep the array: the next wait would make it again
		return w
	}
	*q = (*q)[1:]
	return w
}

func removeWaiter(q *[]*waiter, match func(*waiter) bool) {
	out := (*q)[:0]
	for _, w := range *q {
		if !match(w) {
			out = append(out, w)
		}
	}
	for i := len(out); i < len(*q); i++ {
		(*q)[i] = nil
	}
	*q = out
	if len(out) == 0 {
		*q = nil
	}
}

// tryRecv receives without blocking; ready is false when it would block.
func (p *process) tryRecv(ch *channel) (v glua.LValue, ok, ready bool) {
	if ch.len() > 0 {
		v = ch.pop()
		if s := popWaiter(&ch.sendq); s != nil {
			ch.push(s.v)
			p.sent(s)
		}
		return v, true, true
	}
	if s := popWaiter(&ch.sendq); s != nil {
		p.sent(s)
		return s.v, true, true
	}
	if ch.closed {
		return glua.LNil, false, true
	}
	return glua.LNil, false, false
}

// trySend sends without blocking; it reports false when it would block.
// The caller has checked that ch is open.
func (p *process) trySend(ch *channel, v glua.LValue) bool {
	if r := popWaiter(&ch.recvq); r != nil {
		p.received(r, v, true)
		return true
	}
	if ch.cap < 0 || ch.len() < ch.cap {
		ch.push(v)
		return true
	}
	return false
}

// deliver puts a mailbox value into ch (which never blocks: it is
// unbounded).
func (p *process) deliver(ch *channel, v glua.LValue) {
	if p.routing > 1 && len(ch.q) == cap(ch.q) && len(ch.recvq) == 0 {
		ch.reserve(int(p.routing))
	}
	if !p.trySend(ch, v) {
		ch.push(v)
	}
}

// sent completes a blocked sender whose value was taken.
func (p *process) sent(w *waiter) {
	if w.sel != nil {
		p.fire(w.sel, w.idx, w.v, true)
		return
	}
	p.ready(w.t, []glua.LValue{glua.LTrue})
}

// received completes a blocked receiver with (v, ok).
func (p *process) received(w *waiter, v glua.LValue, ok bool) {
	if w.sel != nil {
		p.fire(w.sel, w.idx, v, ok)
		return
	}
	t := w.t
	t.argv = [2]glua.LValue{v, glua.LBool(ok)}
	p.ready(t, t.argv[:2:2])
}

// fire completes a select with case idx.
func (p *process) fire(sel *selectWait, idx int, v glua.LValue, ok bool) {
	p.dropSelect(sel)
	res := p.L.CreateTable(0, 3)
	res.RawSetString("channel", sel.cases[idx].ch.ud)
	res.RawSetString("value", v)
	res.RawSetString("ok", glua.LBool(ok))
	p.ready(sel.t, []glua.LValue{res})
}

// dropSelect removes every waiter of sel from its channels.
func (p *process) dropSelect(sel *selectWait) {
	if sel.t.sel == sel {
		sel.t.sel = nil
	}
	mine := func(w *waiter) bool { return w.sel == sel }
	for _, c := range sel.cases {
		if c.send {
			removeWaiter(&c.ch.sendq, mine)
		} else {
			removeWaiter(&c.ch.recvq, mine)
		}
	}
}

// closeChan closes ch: receivers get (nil, false), senders raise.
func (p *process) closeChan(ch *channel) {
	if ch.closed {
		return
	}
	ch.closed = true
	for w := popWaiter(&ch.recvq); w != nil; w = popWaiter(&ch.recvq) {
		p.received(w, glua.LNil, false)
	}
	for w := popWaiter(&ch.sendq); w != nil; w = popWaiter(&ch.sendq) {
		if w.sel != nil {
			p.dropSelect(w.sel)
		}
		p.ready(w.t, []glua.LValue{raiseMark, glua.LString("send on closed channel")})
	}
}

// unwait removes t's registration after a wait that gave up.
func (p *process) unwait(t *task) {
	if t == nil {
		return
	}
	if t.sel != nil {
		p.dropSelect(t.sel)
	}
	if t.wch != nil {
		ch := t.wch
		mine := func(w *waiter) bool { return w.t == t }
		removeWaiter(&ch.recvq, mine)
		removeWaiter(&ch.sendq, mine)
		t.wch = nil
	}
	if t.timer != 0 {
		if p.env != nil {
			p.env.StopTimer(t.timer)
		}
		delete(p.timers, t.timer)
		t.timer = 0
	}
	if p.box != nil {
		for k, w := range p.box.execs {
			if w == t {
				delete(p.box.execs, k)
			}
		}
	}
}

func checkChan(L *glua.LState, n int) *channel {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if ch, ok := ud.Value.(*channel); ok {
			return ch
		}
	}
	L.ArgError(n, "channel expected")
	return nil
}

// Lua functions.

func chanNew(L *glua.LState) int {
	p := procOf(L)
	size := L.OptInt(1, 0)
	if size < 0 {
		L.ArgError(1, "size must not be negative")
	}
	L.Push(p.newChannel(size).ud)
	return 1
}

// chanSendRaw is ch:send(v) before its Lua wrapper: true, or (raiseMark,
// message).
func chanSendRaw(L *glua.LState) int {
	p := procOf(L)
	ch := checkChan(L, 1)
	v := L.Get(2)
	if ch.closed {
		L.Push(raiseMark)
		L.Push(glua.LString("send on closed channel"))
		return 2
	}
	if p.trySend(ch, v) {
		L.Push(glua.LTrue)
		return 1
	}
	t := p.cur
	t.w = waiter{t: t, v: v}
	ch.sendq = append(ch.sendq, &t.w)
	t.wch = ch
	return p.block(L)
}

func chanReceive(L *glua.LState) int {
	p := procOf(L)
	ch := checkChan(L, 1)
	if v, ok, ready := p.tryRecv(ch); ready {
		L.Push(v)
		L.Push(glua.LBool(ok))
		return 2
	}
	t := p.cur
	t.w = waiter{t: t}
	ch.recvq = append(ch.recvq, &t.w)
	t.wch = ch
	return p.block(L)
}

func chanClose(L *glua.LState) int {
	p := procOf(L)
	ch := checkChan(L, 1)
	if ch.boxed {
		L.RaiseError("cannot close a channel fed by the mailbox")
	}
	p.closeChan(ch)
	return 0
}

func chanCaseSend(L *glua.LState) int {
	p := procOf(L)
	c := &selCase{ch: checkChan(L, 1), send: true, v: L.Get(2)}
	L.Push(&glua.LUserData{Value: c, Metatable: p.eng.lib.caseMeta})
	return 1
}

func chanCaseReceive(L *glua.LState) int {
	p := procOf(L)
	c := &selCase{ch: checkChan(L, 1)}
	L.Push(&glua.LUserData{Value: c, Metatable: p.eng.lib.caseMeta})
	return 1
}

func chanToString(L *glua.LState) int {
	L.Push(glua.LString(fmt.Sprintf("channel: %p", L.CheckUserData(1).Value)))
	return 1
}

// selectRaw is channel.select before its Lua wrapper.
func selectRaw(L *glua.LState) int {
	p := procOf(L)
	tb := L.CheckTable(1)
	n := tb.Len()
	cases := make([]*selCase, n)
	var readyBuf [8]int
	ready := readyBuf[:0]
	for i := range cases {
		ud, _ := tb.RawGetInt(i + 1).(*glua.LUserData)
		var c *selCase
		if ud != nil {
			c, _ = ud.Value.(*selCase)
		}
		if c == nil {
			L.Push(raiseMark)
			L.Push(glua.LString(fmt.Sprintf("select: case #%d is not a case object", i+1)))
			return 2
		}
		cases[i] = c
		if c.ready() {
			ready = append(ready, i)
		}
	}
	if len(ready) > 0 {
		i := ready[0]
		if len(ready) > 1 {
			i = ready[rand.IntN(len(ready))]
		}
		c := cases[i]
		res := L.CreateTable(0, 3)
		res.RawSetString("channel", c.ch.ud)
		if c.send {
			if c.ch.closed {
				L.Push(raiseMark)
				L.Push(glua.LString("send on closed channel"))
				return 2
			}
			p.trySend(c.ch, c.v)
			res.RawSetString("value", c.v)
			res.RawSetString("ok", glua.LTrue)
		} else {
			v, ok, _ := p.tryRecv(c.ch)
			res.RawSetString("value", v)
			res.RawSetString("ok", glua.LBool(ok))
		}
		L.Push(res)
		return 1
	}
	if glua.LVAsBool(tb.RawGetString("default")) {
		res := L.CreateTable(0, 2)
		res.RawSetString("default", glua.LTrue)
		res.RawSetString("ok", glua.LTrue)
		L.Push(res)
		return 1
	}
	if n == 0 {
		L.Push(raiseMark)
		L.Push(glua.LString("select: no cases"))
		return 2
	}
	t := p.cur
	sel := &selectWait{t: t, cases: cases}
	for i, c := range cases {
		w := &waiter{t: t, sel: sel, idx: i, v: c.v}
		if c.send {
			c.ch.sendq = append(c.ch.sendq, w)
		} else {
			c.ch.recvq = append(c.ch.recvq, w)
		}
	}
	t.sel = sel
	return p.block(L)
}

// ready reports whether the case can proceed at once (a send on a closed
// channel counts: it raises).
func (c *selCase) ready() bool {
	ch := c.ch
	if c.send {
		return ch.closed || len(ch.recvq) > 0 || ch.cap < 0 || ch.len() < ch.cap
	}
	return ch.len() > 0 || len(ch.sendq) > 0 || ch.closed
}

func (l *libs) buildChannel(B *glua.LState, send, sel glua.LValue) {
	methods := B.CreateTable(0, 6)
	methods.RawSetString("send", send)
	for name, fn := range map[string]glua.LGFunction{
		"receive": chanReceive, "close": chanClose, "case_send": chanCaseSend, "case_receive": chanCaseReceive,
	} {
		methods.RawSetString(name, B.NewFunction(fn))
	}
	l.chanMeta = B.CreateTable(0, 4)
	l.chanMeta.RawSetString("__index", methods)
	l.chanMeta.RawSetString("__tostring", B.NewFunction(chanToString))
	l.chanMeta.RawSetString("__metatable", glua.LString("locked"))
	l.chanMeta.RawSetString("__name", glua.LString("channel"))
	l.caseMeta = userMeta(B, "case", nil)
	mod := B.CreateTable(0, 2)
	mod.RawSetString("new", B.NewFunction(chanNew))
	mod.RawSetString("select", sel)
	l.addGlobal(B, "channel", mod)
}
