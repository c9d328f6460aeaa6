package lua

import (
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
)

// Measuring what a process holds: a walk of everything its state reaches
// (globals, the value stacks of its coroutines, upvalues, metatables,
// mailbox channels, messages, timers), with an estimate of each object's
// size. What the engine shares (library tables and functions, metatables)
// is not counted; a string of at least dedupString bytes reached twice is
// counted once. The estimates follow Go's layout of gopher-lua's objects
// (a table slot 16 bytes, a hash entry with its iteration index ~160
// bytes); docs/lua-decisions.md lists what is counted.

// Size estimates, in bytes.
const (
	tableBytes    = 96  // an LTable
	slotBytes     = 16  // an LValue in an array or a value stack
	entryBytes    = 160 // a hash entry: map slot, key index, key slice
	stringBytes   = 16  // a string header boxed in an LValue
	numberBytes   = 16  // a float boxed in an LValue
	funcBytes     = 64  // an LFunction
	upvalueBytes  = 56  // an Upvalue and its pointer
	userdataBytes = 64  // an LUserData and its Go value's header
	stateBytes    = 600 // an LState with its allocator
	segmentBytes  = 640 // a segment of framesPerSegment call frames
	valueBytes    = 48  // a msg.Value
	dedupString   = 256 // strings at least this long are counted once
)

// table mirrors gopher-lua's LTable (checkLayout verifies it).
type table struct {
	Metatable glua.LValue
	array     []glua.LValue
	dict      map[glua.LValue]glua.LValue
	strdict   map[string]glua.LValue
	keys      []glua.LValue
	k2i       map[glua.LValue]int
}

// walker is one measure in progress; walkers are pooled by the engine.
type walker struct {
	shared map[unsafe.Pointer]struct{} // the engine's objects: never counted
	seen   map[unsafe.Pointer]struct{}
	work   []glua.LValue
	total  int64
	stop   int64
}

func newWalker(shared map[unsafe.Pointer]struct{}) *walker {
	return &walker{shared: shared, seen: make(map[unsafe.Pointer]struct{})}
}

// walk returns the bytes p's state holds, or a figure above stop as soon
// as the count passes it.
func (e *Engine) walk(p *process, stop int64) int64 {
	w := e.walkers.Get().(*walker)
	w.total, w.stop = 0, stop
	w.process(p)
	w.drain()
	n := w.total
	clear(w.seen)
	clear(w.work)
	w.work = w.work[:0]
	e.walkers.Put(w)
	return n
}

// process adds the roots of p: everything else it holds is reached from
// them.
func (w *walker) process(p *process) {
	if p.L != nil {
		w.value(p.globals)
		w.value(p.L.G.Registry)
		w.value(p.L)
	}
	for co := p.running; co != nil; co = co.outer {
		w.coro(co) // being resumed: Go holds their chains
	}
	w.task(p.main)
	for _, t := range p.runq[p.rqHead:] {
		w.task(t)
	}
	for _, rec := range p.timers {
		w.task(rec.t)
		w.channel(rec.ch)
		if rec.obj != nil {
			w.channel(rec.obj.ch)
		}
	}
	if b := p.box; b != nil {
		w.channel(b.inbox)
		w.channel(b.events)
		for _, l := range b.listens {
			w.channel(l.ch)
		}
		for _, t := range b.execs {
			w.task(t)
		}
	}
	for _, v := range p.require {
		w.value(v)
	}
}

// mark records an object as seen; false when it was seen or is shared.
func (w *walker) mark(ptr unsafe.Pointer) bool {
	if _, ok := w.shared[ptr]; ok {
		return false
	}
	if _, ok := w.seen[ptr]; ok {
		return false
	}
	w.seen[ptr] = struct{}{}
	return true
}

// value counts v, and queues it when it holds other values.
func (w *walker) value(v glua.LValue) {
	var ptr unsafe.Pointer
	switch x := v.(type) {
	case glua.LString:
		w.str(string(x))
		return
	case glua.LNumber:
		w.total += numberBytes
		return
	case *glua.LTable:
		ptr = unsafe.Pointer(x)
	case *glua.LFunction:
		ptr = unsafe.Pointer(x)
	case *glua.LUserData:
		ptr = unsafe.Pointer(x)
	case *glua.LState:
		ptr = unsafe.Pointer(x)
	default:
		return // nil, booleans: inside the slot that holds them
	}
	if ptr != nil && w.mark(ptr) {
		w.work = append(w.work, v)
	}
}

func (w *walker) str(s string) {
	if len(s) >= dedupString && !w.mark(unsafe.Pointer(unsafe.StringData(s))) {
		return
	}
	w.total += stringBytes + int64(len(s))
}

// drain counts queued objects until none is left or the count passes stop.
func (w *walker) drain() {
	for len(w.work) > 0 && w.total <= w.stop {
		v := w.work[len(w.work)-1]
		w.work = w.work[:len(w.work)-1]
		switch x := v.(type) {
		case *glua.LTable:
			w.table(x)
		case *glua.LFunction:
			w.function(x)
		case *glua.LUserData:
			w.userdata(x)
		case *glua.LState:
			w.thread(x)
		}
	}
}

func (w *walker) table(lt *glua.LTable) {
	t := (*table)(unsafe.Pointer(lt))
	w.total += tableBytes + int64(cap(t.array))*slotBytes + int64(len(t.dict)+len(t.strdict))*entryBytes
	if t.Metatable != nil {
		w.value(t.Metatable)
	}
	for _, v := range t.array {
		w.value(v)
	}
	for k, v := range t.dict {
		w.value(k)
		w.value(v)
	}
	for k, v := range t.strdict {
		w.total += int64(len(k))
		w.value(v)
	}
}

func (w *walker) function(f *glua.LFunction) {
	w.total += funcBytes + int64(len(f.Upvalues))*upvalueBytes
	if f.Env != nil {
		w.value(f.Env)
	}
	for _, uv := range f.Upvalues {
		if uv != nil {
			w.value(uv.Value())
		}
	}
}

func (w *walker) userdata(u *glua.LUserData) {
	w.total += userdataBytes
	if u.Metatable != nil {
		w.value(u.Metatable)
	}
	switch x := u.Value.(type) {
	case *coro:
		w.coro(x)
	case *channel:
		w.channel(x)
	case *message:
		w.total += msgBytes(x.payload())
	default:
		if v, ok := lualib.PayloadValue(u); ok {
			w.total += msgBytes(v)
		}
	}
}

// thread counts a coroutine's state: its value stack (all of it: Go keeps
// what stale slots above the top point to alive too) and call frames.
func (w *walker) thread(th *glua.LState) {
	reg, cs := registryOf(th), callStack(th)
	w.total += stateBytes + int64(cap(reg.array))*slotBytes +
		int64(len(cs.segments))*8 + int64(cs.segIdx+1)*segmentBytes
	for _, v := range reg.array {
		w.value(v)
	}
	for f := currentFrame(th); f != nil; f = f.Parent {
		if f.Fn != nil {
			w.value(f.Fn)
		}
	}
}

func (w *walker) coro(co *coro) {
	if co == nil {
		return
	}
	if co.th != nil {
		w.value(co.th)
	}
	if co.fn != nil {
		w.value(co.fn)
	}
	for _, c := range co.saved {
		if c != co {
			w.coro(c)
		}
	}
}

func (w *walker) task(t *task) {
	if t == nil || t.done {
		return
	}
	for _, co := range t.stack {
		w.coro(co)
	}
	for _, v := range t.args {
		w.value(v)
	}
}

func (w *walker) channel(ch *channel) {
	if ch == nil || !w.mark(unsafe.Pointer(ch)) {
		return
	}
	w.total += userdataBytes + int64(cap(ch.q))*slotBytes
	for _, v := range ch.q[ch.head:] {
		w.value(v)
	}
	for _, q := range [2][]*waiter{ch.recvq, ch.sendq} {
		for _, wt := range q {
			if wt.v != nil {
				w.value(wt.v)
			}
			w.task(wt.t)
		}
	}
}

// msgBytes estimates the memory of a message payload.
func msgBytes(v msg.Value) int64 {
	switch v.Kind() {
	case msg.KindString:
		s, _ := v.AsString()
		return valueBytes + int64(len(s))
	case msg.KindBytes:
		s, _ := v.BytesString()
		return valueBytes + int64(len(s))
	case msg.KindList:
		n := int64(valueBytes)
		for _, x := range v.Items() {
			n += msgBytes(x)
		}
		return n
	case msg.KindMap:
		n := int64(valueBytes)
		for _, kv := range v.Pairs() {
			n += msgBytes(kv.Key) + msgBytes(kv.Val)
		}
		return n
	case msg.KindError:
		e, _ := v.AsError()
		return valueBytes + int64(len(e.Kind)+len(e.Message)) + msgBytes(e.Details)
	}
	return valueBytes
}
