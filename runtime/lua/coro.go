package lua

import (
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/proc"
)

// How a process runs its Lua code without a goroutine of its own.
//
// gopher-lua cannot yield across a Go->Lua call, and a process must be able
// to block anywhere: inside pcall, inside its own coroutines. So every Lua
// function that may contain a blocking call runs on a thread (a gopher-lua
// coroutine) of the process, and the functions that call Lua from Go —
// pcall, xpcall, coroutine.resume, coroutine.wrap — are replaced by versions
// that resume a thread instead of calling.
//
// A chain is a stack of coroutines where each one waits for the one above
// it: a pcall coroutine returns its results to the one below as pcall's
// results, a user coroutine (coroutine.create) returns its results or its
// yielded values as coroutine.resume's. A blocking call records what its
// task waits for and yields blockMark. The function that resumed that thread
// (a pcall or resume wrapper, or the driver) sees blockMark and, if it runs
// nested in a thread of its own, passes its chain up in p.pending and
// yields blockMark too; the driver ends up holding the whole chain in the
// task's stack. When the wait is over, the driver resumes the top of the
// chain, and as each coroutine finishes it resumes the one below with its
// results — the Go function that called pcall is long gone, and the results
// land where its results would have.
//
// Values crossing a resume are counted: a finished coroutine returns
// (n, v1..vn) through the trampoline, a user yield yields (n, v1..vn),
// because Resume cannot tell "no values" from "nil".

// coroKind says how a coroutine's results reach the one below it.
type coroKind uint8

const (
	kindRoot  coroKind = iota // main: the bottom of the main task
	kindSpawn                 // coroutine.spawn: the bottom of its task
	kindPcall                 // pcall/xpcall callee: results are pcall's
	kindUser                  // coroutine.create: results are resume's
)

// coState is a user coroutine's status.
type coState uint8

const (
	coSuspended coState = iota
	coActive
	coDead
)

// coro is one coroutine of a process.
type coro struct {
	th    *glua.LState
	fn    glua.LValue // run at the first resume, then nil
	fresh bool        // not started, and the first resume's args begin with the function
	gofn  bool        // the function run is a Go function
	kind  coroKind
	state coState
	nret  int   // results the Go function that yielded it expects; -1 all
	below *coro // pcall: the coroutine that called pcall
	outer *coro // while resumed: the coroutine whose code resumed it
	saved []*coro
	ud    *glua.LUserData // user handle (kindUser)
	one   [1]*coro        // backing array of a one-coroutine chain
}

// outcome is how a chain stopped running.
type outcome uint8

const (
	outDone    outcome = iota // the base returned (values counted)
	outError                  // the base raised (one value)
	outBlocked                // the top waits; the chain is to be resumed later
	outYield                  // a user yield reached the base (values counted)
)

// resume runs co's thread from `from` (the driver, or the thread of the
// wrapper running it nested) with args.
func (p *process) resume(from *glua.LState, co *coro, args []glua.LValue) (glua.ResumeState, error, []glua.LValue) {
	var fn *glua.LFunction
	switch {
	case co.fresh:
		co.fresh = false
		fn = p.eng.lib.tramp
		co.gofn = isGo(args[0])
	case co.fn != nil:
		fn = p.eng.lib.tramp
		co.gofn = isGo(co.fn)
		args = append([]glua.LValue{co.fn}, args...)
		co.fn = nil
	case co.nret > len(args):
		for len(args) < co.nret {
			args = append(args, glua.LNil)
		}
	}
	if fn != nil && co.th == nil {
		co.th = p.eng.thread(p)
	}
	co.nret = -1
	co.state = coActive
	// Resume refuses a thread its state's G records as current; the
	// driver's G is never reset by the thread it resumed (a gopher-lua
	// quirk), so reset it before each resume.
	from.G.CurrentThread = from
	// A thread resumed from another one runs on top of it: their frames
	// count together against CallStackSize, as Go recursion they are.
	prev, prevTh, prevBase := p.running, p.th, p.base
	if prevTh != nil {
		p.base += int32(depth(prevTh))
	}
	p.running, p.th, co.outer = co, co.th, prev
	p.setRoom()
	st, err, vals := from.Resume(co.th, fn, args...)
	p.running, p.th, co.outer, p.base = prev, prevTh, nil, prevBase
	p.setRoom()
	return st, err, vals
}

// run resumes the top of chain with args until the base of the chain
// returns, raises or yields, or the top blocks. It returns the chain as it
// stands.
func (p *process) run(from *glua.LState, chain []*coro, args []glua.LValue) ([]*coro, outcome, []glua.LValue) {
	for {
		top := chain[len(chain)-1]
		st, err, vals := p.resume(from, top, args)
		switch st {
		case glua.ResumeOK:
			p.retire(top)
			if len(chain) == 1 {
				return chain, outDone, vals
			}
			chain = chain[:len(chain)-1]
			args = withStatus(glua.LTrue, vals)
		case glua.ResumeError:
			ev := p.errorValue(err, top)
			p.retire(top)
			if len(chain) == 1 || p.stopping() {
				return chain, outError, []glua.LValue{ev}
			}
			chain = chain[:len(chain)-1]
			args = []glua.LValue{glua.LFalse, ev}
		default: // yield
			top.nret, p.nret = p.nret, -1
			if p.pending != nil {
				chain = append(chain, p.pending...)
				p.pending = nil
			}
			if len(vals) > 0 && vals[0] == blockMark {
				return chain, outBlocked, nil
			}
			// A user yield goes to the nearest user coroutine in the chain,
			// which keeps the part of the chain from itself up.
			j := len(chain) - 1
			for j >= 0 && chain[j].kind != kindUser {
				j--
			}
			if j <= 0 {
				return chain, outYield, vals
			}
			co := chain[j]
			co.saved = append([]*coro(nil), chain[j:]...)
			co.state = coSuspended
			chain = chain[:j]
			args = withStatus(glua.LTrue, vals)
		}
	}
}

func isGo(v glua.LValue) bool {
	f, ok := v.(*glua.LFunction)
	return ok && f.IsG
}

// retire marks a coroutine whose thread returned or raised as dead and
// pools the thread when it is clean.
func (p *process) retire(co *coro) {
	co.state = coDead
	co.saved = nil
	if co.kind != kindRoot && co.th != nil {
		p.eng.release(co.th)
		co.th = nil
	}
}

// nested runs chain from the Go function running on L and pushes the
// result the caller (pcall or coroutine.resume) returns. user is the
// coroutine being resumed, nil for pcall.
func (p *process) nested(L *glua.LState, chain []*coro, args []glua.LValue, user *coro) int {
	if int(p.nesting) >= p.eng.cfg.MaxNesting {
		L.RaiseError("stack overflow (pcall, xpcall and coroutine.resume nested more than %d deep)", p.eng.cfg.MaxNesting)
	}
	p.nesting++
	defer func() { p.nesting-- }()
	for {
		var out outcome
		var vals []glua.LValue
		chain, out, vals = p.run(L, chain, args)
		switch out {
		case outDone:
			return pushStatus(L, glua.LTrue, vals)
		case outError:
			if p.stopping() {
				L.Error(vals[0], 0) // an interrupt or an upgrade is never caught
			}
			L.Push(glua.LFalse)
			L.Push(vals[0])
			return 2
		case outYield:
			if user != nil {
				user.saved = chain
				user.state = coSuspended
				return pushStatus(L, glua.LTrue, vals)
			}
			// The yield of a coroutine enclosing this pcall: pass it on.
			if !yieldable(L) {
				L.RaiseError("attempt to yield across a C-call boundary")
			}
			p.pending = chain
			p.nret = wantResults(L)
			L.SetTop(0)
			for _, v := range vals {
				L.Push(v)
			}
			return -1
		default: // blocked
			if yieldable(L) {
				p.pending = chain
				p.nret = wantResults(L)
				return L.Yield(blockMark)
			}
			args = p.syncWait(L)
		}
	}
}

// block is how a Go function waits: its task is registered on what it
// waits for; the thread yields to the driver, or, where a yield is
// impossible, the worker goroutine waits (syncWait). The function's
// results are what the waker passes to ready.
func (p *process) block(L *glua.LState) int {
	if yieldable(L) {
		p.nret = wantResults(L)
		return L.Yield(blockMark)
	}
	vals := p.syncWait(L)
	for _, v := range vals {
		L.Push(v)
	}
	return len(vals)
}

// Receiver is implemented by an Env that can wait, on the worker goroutine,
// for the process's next deliveries. The engine calls it inside
// Env.Blocking when Lua code blocks where it cannot yield (a metamethod, a
// generic-for iterator, a table.sort comparator, a Go callback). Receive
// returns at once, possibly empty, once the process is killed.
type Receiver interface {
	Receive() []proc.Delivery
}

// syncWait waits on the worker goroutine until the current task is woken,
// routing deliveries as they come, and returns the values it was woken
// with.
func (p *process) syncWait(L *glua.LState) []glua.LValue {
	t := p.cur
	r, ok := p.env.(Receiver)
	if t == nil || !ok {
		p.unwait(t)
		L.RaiseError("cannot block here (inside a metamethod, an iterator or a Go callback)")
	}
	t.sync, t.woken = true, false
	defer func() { t.sync = false }()
	for !t.woken {
		if p.stopping() || p.env.Killed() {
			p.unwait(t)
			L.RaiseError("process stopping")
		}
		var batch []proc.Delivery
		p.blocking(func() { batch = r.Receive() })
		for i := range batch {
			p.route(&batch[i])
		}
	}
	args := t.args
	t.args = nil
	return args
}

// errorValue returns the Lua value co's thread raised. A Go function the
// trampoline called directly (pcall(error, "x")) reports the trampoline's
// position, which Lua code has no use for: it is removed.
func (p *process) errorValue(err error, co *coro) glua.LValue {
	ae, ok := err.(*glua.ApiError)
	if !ok || ae.Object == nil {
		return glua.LString(err.Error())
	}
	if s, ok := ae.Object.(glua.LString); ok && co.gofn {
		return glua.LString(strings.TrimPrefix(string(s), p.eng.lib.trampWhere))
	}
	return ae.Object
}

// withStatus turns counted values (n, v1..vn) into (status, v1..vn).
func withStatus(status glua.LValue, vals []glua.LValue) []glua.LValue {
	n := counted(vals)
	out := make([]glua.LValue, n+1)
	out[0] = status
	copy(out[1:], vals[1:])
	for i := 1; i <= n; i++ {
		if out[i] == nil {
			out[i] = glua.LNil
		}
	}
	return out
}

// pushStatus pushes status and the counted values; it returns how many.
func pushStatus(L *glua.LState, status glua.LValue, vals []glua.LValue) int {
	n := counted(vals)
	L.Push(status)
	for i := 1; i <= n; i++ {
		if i < len(vals) {
			L.Push(vals[i])
		} else {
			L.Push(glua.LNil)
		}
	}
	return n + 1
}

// counted returns n of counted values (n, v1..vn).
func counted(vals []glua.LValue) int {
	if len(vals) == 0 {
		return 0
	}
	n, _ := vals[0].(glua.LNumber)
	return int(n)
}
