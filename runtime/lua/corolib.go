package lua

import (
	"fmt"

	glua "github.com/yuin/gopher-lua"
)

// The yield-transparent base functions and the coroutine library. User
// coroutines are userdata handles on a coro (not raw threads), so an
// abandoned coroutine is collected with its handle and Lua code never
// touches a thread directly.

// pcallFn implements pcall(f, ...).
func pcallFn(L *glua.LState) int {
	p := procOf(L)
	if L.GetTop() == 0 {
		L.ArgError(1, "value expected")
	}
	co := &coro{fresh: true, kind: kindPcall, below: p.running, nret: -1}
	co.one[0] = co
	return p.nested(L, co.one[:], args(L, 1), nil)
}

// args returns the arguments of the running Go function from index i on.
func args(L *glua.LState, i int) []glua.LValue {
	n := L.GetTop() - i + 1
	if n <= 0 {
		return nil
	}
	out := make([]glua.LValue, n)
	for k := range out {
		out[k] = L.Get(i + k)
	}
	return out
}

// wrapCheck is the Go half of a coroutine.wrap function: it raises the
// error of a failed resume and returns the values of a successful one.
func wrapCheck(L *glua.LState) int {
	if !L.ToBool(1) {
		L.Error(L.Get(2), 0)
	}
	return L.GetTop() - 1
}

// countResults is the Go half of the trampoline: it prefixes the values it
// gets with their count.
func countResults(L *glua.LState) int {
	n := L.GetTop()
	L.Insert(glua.LNumber(n), 1)
	return n + 1
}

// checkCo returns the user coroutine at argument n.
func checkCo(L *glua.LState, n int) *coro {
	if ud, ok := L.Get(n).(*glua.LUserData); ok {
		if co, ok := ud.Value.(*coro); ok {
			return co
		}
	}
	L.ArgError(n, "coroutine expected")
	return nil
}

// current returns the user coroutine the running code belongs to, or nil
// in main or a spawned coroutine.
func (p *process) current() *coro {
	c := p.running
	for c != nil && c.kind == kindPcall {
		c = c.below
	}
	if c == nil || c.kind != kindUser {
		return nil
	}
	return c
}

func coCreate(L *glua.LState) int {
	p := procOf(L)
	fn := L.CheckFunction(1)
	L.Push(p.newUserCoro(fn).ud)
	return 1
}

func (p *process) newUserCoro(fn *glua.LFunction) *coro {
	co := &coro{fn: fn, kind: kindUser, nret: -1}
	co.ud = &glua.LUserData{Value: co, Metatable: p.eng.lib.coMeta}
	return co
}

func coResume(L *glua.LState) int {
	p := procOf(L)
	co := checkCo(L, 1)
	switch co.state {
	case coDead:
		L.Push(glua.LFalse)
		L.Push(glua.LString("cannot resume dead coroutine"))
		return 2
	case coActive:
		L.Push(glua.LFalse)
		L.Push(glua.LString("cannot resume non-suspended coroutine"))
		return 2
	}
	chain := co.saved
	co.saved = nil
	if chain == nil {
		chain = []*coro{co}
	}
	return p.nested(L, chain, args(L, 2), co)
}

func coYield(L *glua.LState) int {
	p := procOf(L)
	if p.current() == nil {
		L.RaiseError("attempt to yield from outside a coroutine")
	}
	if !yieldable(L) {
		L.RaiseError("attempt to yield across a C-call boundary")
	}
	p.nret = wantResults(L)
	n := L.GetTop()
	L.Insert(glua.LNumber(n), 1)
	return -1
}

func coStatus(L *glua.LState) int {
	p := procOf(L)
	co := checkCo(L, 1)
	s := "suspended"
	switch co.state {
	case coDead:
		s = "dead"
	case coActive:
		s = "normal"
		if p.current() == co {
			s = "running"
		}
	}
	L.Push(glua.LString(s))
	return 1
}

func coRunning(L *glua.LState) int {
	if co := procOf(L).current(); co != nil {
		L.Push(co.ud)
		return 1
	}
	L.Push(glua.LNil)
	return 1
}

func coWrap(L *glua.LState) int {
	p := procOf(L)
	co := p.newUserCoro(L.CheckFunction(1))
	L.Push(p.eng.lib.wrapper(L, co.ud))
	return 1
}

// coSpawn implements coroutine.spawn(fn, ...): fn runs as a task of its
// own in this process, scheduled by the same Step.
func coSpawn(L *glua.LState) int {
	p := procOf(L)
	fn := L.CheckFunction(1)
	co := &coro{fn: fn, kind: kindSpawn, nret: -1}
	t := &task{stack: []*coro{co}, spawned: true}
	p.ready(t, args(L, 2))
	return 0
}

func coToString(L *glua.LState) int {
	L.Push(glua.LString(fmt.Sprintf("thread: %p", L.CheckUserData(1).Value)))
	return 1
}
