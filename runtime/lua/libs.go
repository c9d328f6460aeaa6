package lua

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/proc"
)

// libs is what every process of a node shares, read-only once built: the
// base functions, the library tables, the metatables of the userdata this
// package makes, and a few functions written in Lua.
//
// Nothing in here is ever reachable for writing from Lua: a process sees a
// library through a proxy of its own (an empty table whose metatable, shared
// and locked, reads the shared table); a table nested in a library (e.g.
// process.event) is a shared userdata with a locked metatable, which rawset
// and table.insert cannot write; the string metatable is locked.
type libs struct {
	lib *lualib.Lib

	gindex   *glua.LTable       // base functions, the __index of every globals table
	gmeta    *glua.LTable       // metatable of every globals table
	globals  map[string]*module // always-global libraries
	required map[string]*module // require()-able modules (when listed in modules:)
	strMeta  *glua.LTable

	coMeta, chanMeta, caseMeta, msgMeta, timerMeta, tickerMeta, spawnerMeta, actorMeta *glua.LTable
	scopeMeta, policyMeta, pgMeta, pgSubMeta                                           *glua.LTable

	tramp, boot *glua.LFunction
	trampWhere  string // position prefix of an error raised by a Go function the trampoline called
	wrapProto   *glua.FunctionProto
	wrapUV      map[string]*glua.Upvalue // shared upvalues of wrap closures
}

// module is one library: its shared table and the metatable of the
// per-process proxies that read it.
type module struct {
	name  string
	table *glua.LTable
	meta  *glua.LTable
}

// blockMark is what a thread yields when it waits; raiseMark, returned by a
// raw channel operation, tells its Lua wrapper to raise. Neither is ever
// visible to Lua code. They are never mutated.
var (
	blockMark = &glua.LUserData{}
	raiseMark = &glua.LUserData{}
)

// helpers is the Lua half of the functions that must continue in Lua after
// a blocking call or a nested run (see coro.go).
const helpers = `
local cnt, pick, pcall, chk, sendraw, selectraw, wchk, resume = ...
local co
local M = {}
M.tramp = function(f, ...) return cnt(f(...)) end
M.boot = function(chunk, method, ...) return pick(chunk(), method)(...) end
local function xfin(h, ok, ...)
  if ok then return true, ... end
  local _, r = pcall(h, (...))
  return false, r
end
M.xpcall = function(f, h, ...) return xfin(h, pcall(f, ...)) end
M.send = function(ch, v) return (chk(sendraw(ch, v))) end
M.select = function(cases) return (chk(selectraw(cases))) end
M.wrap = function(...) return wchk(resume(co, ...)) end
return M
`

func newLibs(e *Engine) (*libs, error) {
	// B is a node-level state used only to build the shared tables.
	B := glua.NewState()
	defer B.Close()
	l := &libs{
		lib:      lualib.New(B, e.cfg.Lib),
		globals:  make(map[string]*module),
		required: make(map[string]*module),
	}
	l.coMeta = userMeta(B, "thread", map[string]glua.LGFunction{"__tostring": coToString})
	if err := l.buildHelpers(B); err != nil {
		return nil, err
	}
	l.buildBase(B)
	l.buildStdlib(B)
	l.buildProcess(B)
	l.buildTime(B)
	l.buildIO(B)
	l.buildSecurity(B)
	l.buildCtx(B)
	l.buildPG(B)
	l.buildSystem(B, e.cfg.Node)
	for name, t := range l.lib.Globals() {
		l.addGlobal(B, name, t)
	}
	for name, t := range l.lib.Modules() {
		if name != "time" {
			l.addRequired(B, name, t)
		}
	}
	gm := B.CreateTable(0, 1)
	gm.RawSetString("__index", B.NewFunction(libIndex))
	l.gindex.Metatable = gm
	l.gmeta = B.CreateTable(0, 2)
	l.gmeta.RawSetString("__index", l.gindex)
	l.gmeta.RawSetString("__metatable", glua.LString("locked"))
	return l, nil
}

func (l *libs) buildHelpers(B *glua.LState) error {
	chunk, err := parse.Parse(strings.NewReader(helpers), "[wippyd]")
	if err != nil {
		return fmt.Errorf("lua: helpers: %w", err)
	}
	proto, err := glua.Compile(chunk, "[wippyd]")
	if err != nil {
		return fmt.Errorf("lua: helpers: %w", err)
	}
	resume := B.NewFunction(coResume)
	B.Push(B.NewFunctionFromProto(proto))
	for _, f := range []glua.LGFunction{countResults, pickMain, pcallFn, raiseCheck, chanSendRaw, selectRaw, wrapCheck} {
		B.Push(B.NewFunction(f))
	}
	B.Push(resume)
	B.Call(8, 1)
	m := B.Get(-1).(*glua.LTable)
	B.Pop(1)
	l.tramp = m.RawGetString("tramp").(*glua.LFunction)
	l.trampWhere = fmt.Sprintf("%s:%d: ", l.tramp.Proto.SourceName, l.tramp.Proto.LineDefined)
	l.boot = m.RawGetString("boot").(*glua.LFunction)
	wrap := m.RawGetString("wrap").(*glua.LFunction)
	l.wrapProto = wrap.Proto
	l.wrapUV = make(map[string]*glua.Upvalue)
	for i, name := range wrap.Proto.DbgUpvalues {
		if name != "co" {
			l.wrapUV[name] = wrap.Upvalues[i]
		}
	}
	l.gindex = B.CreateTable(0, 32)
	l.gindex.RawSetString("pcall", B.NewFunction(pcallFn))
	l.gindex.RawSetString("xpcall", m.RawGetString("xpcall"))
	l.buildChannel(B, m.RawGetString("send"), m.RawGetString("select"))
	return nil
}

// wrapper returns a coroutine.wrap function resuming the coroutine ud.
func (l *libs) wrapper(L *glua.LState, ud *glua.LUserData) *glua.LFunction {
	fn := L.NewFunctionFromProto(l.wrapProto)
	for i, name := range l.wrapProto.DbgUpvalues {
		if uv, ok := l.wrapUV[name]; ok {
			fn.Upvalues[i] = uv
			continue
		}
		uv := &glua.Upvalue{}
		uv.Close()
		uv.SetValue(ud)
		fn.Upvalues[i] = uv
	}
	return fn
}

// pickMain is the Go half of boot: the function main runs, from what the
// entry's chunk returned.
func pickMain(L *glua.LState) int {
	mod, method := L.Get(1), L.OptString(2, "")
	switch m := mod.(type) {
	case *glua.LFunction:
		L.Push(m)
		return 1
	case *glua.LTable:
		if method == "" {
			method = "main"
		}
		if f, ok := m.RawGetString(method).(*glua.LFunction); ok {
			L.Push(f)
			return 1
		}
		raiseNoMethod(L, fmt.Sprintf("the table it returns has no function %q (%s)", method, functionsOf(m)))
	}
	raiseNoMethod(L, fmt.Sprintf("it returns %s, not a table of functions or a function", mod.Type()))
	return 0
}

// raiseNoMethod raises the error of an entry whose method is missing,
// naming the entry and its file (a position inside the engine's helpers
// would say nothing).
func raiseNoMethod(L *glua.LState, why string) {
	what := "the entry's source"
	if p, _ := L.Context().(*process); p != nil && p.src != nil {
		what = fmt.Sprintf("%s (method: %s): %s", p.src.ID, p.src.Method, p.src.Path)
	}
	L.Error(glua.LString(fmt.Sprintf("%v: %s: %s", ErrMethod, what, why)), 0)
}

// functionsOf lists the names of the functions in t, for an error.
func functionsOf(t *glua.LTable) string {
	var names []string
	t.ForEach(func(k, v glua.LValue) {
		if _, ok := v.(*glua.LFunction); ok && k.Type() == glua.LTString && len(names) < 10 {
			names = append(names, k.String())
		}
	})
	if len(names) == 0 {
		return "it has none"
	}
	slices.Sort(names)
	return "it has " + strings.Join(names, ", ")
}

// raiseCheck is the Go half of channel send and select: it raises when the
// raw operation asked for it (raiseMark, message), else returns its value.
// Level 3 points at the Lua code that called the wrapper.
func raiseCheck(L *glua.LState) int {
	if L.Get(1) == raiseMark {
		L.Error(L.Get(2), 3)
	}
	return 1
}

func (l *libs) buildBase(B *glua.LState) {
	g := B.G.Global
	for _, name := range []string{
		"error", "ipairs", "pairs", "next", "rawequal", "rawget", "rawset",
		"select", "getmetatable", "tonumber", "tostring", "type", "unpack", "_VERSION",
	} {
		l.gindex.RawSetString(name, g.RawGetString(name))
	}
	l.gindex.RawSetString("print", B.NewFunction(luaPrint))
	l.gindex.RawSetString("setmetatable", B.NewFunction(setMetatable))
	l.gindex.RawSetString("assert", B.NewFunction(luaAssert))
	l.gindex.RawSetString("require", B.NewFunction(luaRequire))
}

func (l *libs) buildStdlib(B *glua.LState) {
	str := lualib.CopyTable(B, B.G.Global.RawGetString("string").(*glua.LTable))
	for _, k := range []string{"__index", "dump", "gfind"} {
		str.RawSetString(k, glua.LNil)
	}
	for name, fn := range map[string]glua.LGFunction{
		"format": strFormat, "find": strFind, "match": strMatch, "gmatch": strGmatch, "gsub": strGsub, "rep": strRep,
	} {
		str.RawSetString(name, B.NewFunction(fn))
	}
	l.addGlobal(B, "string", str)
	l.strMeta = B.CreateTable(0, 2)
	l.strMeta.RawSetString("__index", str)
	l.strMeta.RawSetString("__metatable", glua.LString("locked"))

	tbl := lualib.CopyTable(B, B.G.Global.RawGetString("table").(*glua.LTable))
	tbl.RawSetString("unpack", B.G.Global.RawGetString("unpack")) // Lua 5.2's name, used by 5.1 code too
	tbl.RawSetString("concat", B.NewFunction(tabConcat))
	l.addGlobal(B, "table", tbl)

	m := lualib.CopyTable(B, B.G.Global.RawGetString("math").(*glua.LTable))
	m.RawSetString("huge", glua.LNumber(math.Inf(1)))
	m.RawSetString("maxinteger", glua.LNumber(1<<53))
	m.RawSetString("mininteger", glua.LNumber(-(1 << 53)))
	for name, fn := range map[string]glua.LGFunction{"tointeger": mathToInteger, "type": mathType, "ult": mathUlt} {
		m.RawSetString(name, B.NewFunction(fn))
	}
	l.addGlobal(B, "math", m)

	co := B.CreateTable(0, 8)
	for name, fn := range map[string]glua.LGFunction{
		"create": coCreate, "resume": coResume, "yield": coYield, "status": coStatus,
		"running": coRunning, "wrap": coWrap, "spawn": coSpawn,
	} {
		co.RawSetString(name, B.NewFunction(fn))
	}
	l.addGlobal(B, "coroutine", co)
}

// shared returns every object the libraries hold: processes reach them
// (their globals' metatable, library proxies, userdata metatables) but
// never own them, so a memory measure does not count them.
func (l *libs) shared() map[unsafe.Pointer]struct{} {
	w := newWalker(nil)
	w.stop = math.MaxInt64
	for _, v := range []glua.LValue{l.gindex, l.gmeta, l.strMeta, l.coMeta, l.chanMeta, l.caseMeta, l.msgMeta,
		l.timerMeta, l.tickerMeta, l.spawnerMeta, l.actorMeta, l.scopeMeta, l.policyMeta, l.pgMeta, l.pgSubMeta,
		l.tramp, l.boot} {
		w.value(v)
	}
	for _, mods := range []map[string]*module{l.globals, l.required} {
		for _, m := range mods {
			w.value(m.table)
			w.value(m.meta)
		}
	}
	for _, uv := range l.wrapUV {
		w.value(uv.Value())
	}
	w.drain()
	return w.seen
}

// setMetatable is Lua 5.1's setmetatable: tables only (gopher-lua's also
// sets the metatable of a whole type, which the engine shares).
func setMetatable(L *glua.LState) int {
	t := L.CheckTable(1)
	L.CheckTypes(2, glua.LTNil, glua.LTTable)
	if mt, ok := t.Metatable.(*glua.LTable); ok && mt.RawGetString("__metatable") != glua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	t.Metatable = L.Get(2)
	L.SetTop(1)
	return 1
}

// luaAssert is assert: a failing assert raises its message; an error
// object (or any non-string value) is raised as is, so
// assert(process.registry.register(...)) raises the error object.
func luaAssert(L *glua.LState) int {
	if L.ToBool(1) {
		return L.GetTop()
	}
	switch m := L.Get(2).(type) {
	case *glua.LNilType:
		L.RaiseError("assertion failed!")
	case glua.LString:
		L.RaiseError("%s", string(m))
	default:
		L.Error(m, 0)
	}
	return 0
}

// addGlobal registers an always-global library.
func (l *libs) addGlobal(B *glua.LState, name string, t *glua.LTable) {
	l.globals[name] = l.newModule(B, name, t)
}

// addRequired registers a module require() can load when listed.
func (l *libs) addRequired(B *glua.LState, name string, t *glua.LTable) {
	l.required[name] = l.newModule(B, name, t)
}

func (l *libs) newModule(B *glua.LState, name string, t *glua.LTable) *module {
	t = freeze(B, t)
	meta := B.CreateTable(0, 3)
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", B.NewFunction(raiseReadOnly))
	meta.RawSetString("__metatable", glua.LString("locked"))
	return &module{name: name, table: t, meta: meta}
}

// freeze returns a copy of t in which every nested table is replaced by a
// read-only userdata reading a frozen copy of it.
func freeze(B *glua.LState, t *glua.LTable) *glua.LTable {
	out := B.CreateTable(0, 0)
	t.ForEach(func(k, v glua.LValue) {
		if nt, ok := v.(*glua.LTable); ok {
			v = frozenUserdata(B, freeze(B, nt))
		}
		out.RawSet(k, v)
	})
	return out
}

func frozenUserdata(B *glua.LState, t *glua.LTable) *glua.LUserData {
	meta := B.CreateTable(0, 3)
	meta.RawSetString("__index", t)
	meta.RawSetString("__newindex", B.NewFunction(raiseReadOnly))
	meta.RawSetString("__metatable", glua.LString("locked"))
	return &glua.LUserData{Metatable: meta}
}

func raiseReadOnly(L *glua.LState) int {
	L.RaiseError("attempt to modify a read-only table (key %s)", L.Get(2).String())
	return 0
}

// userMeta returns a locked metatable with the given metamethods.
func userMeta(B *glua.LState, name string, meta map[string]glua.LGFunction) *glua.LTable {
	mt := B.CreateTable(0, len(meta)+1)
	for k, fn := range meta {
		mt.RawSetString(k, B.NewFunction(fn))
	}
	mt.RawSetString("__metatable", glua.LString("locked"))
	mt.RawSetString("__name", glua.LString(name))
	return mt
}

// sandbox prepares a new process state: globals that read the shared
// libraries, the locked string metatable, the lualib binding.
func (l *libs) sandbox(p *process) {
	p.globals.Metatable = l.gmeta
}

// LualibBinding implements lualib.Bound: every state of p has p as its
// context, so the libraries find the node's Lib and p as their Host there
// instead of in a registry key of each process (about 700 bytes a process
// in maps).
func (p *process) LualibBinding() (*lualib.Lib, lualib.Host) { return p.eng.lib.lib, p }

// libIndex is the __index of the shared base table, reached for a global
// name that is not a base function: the process's proxy of a library,
// made on first access and kept in its globals; or _G.
func libIndex(L *glua.LState) int {
	p := procOf(L)
	name, ok := L.Get(2).(glua.LString)
	if !ok {
		return 0
	}
	if name == "_G" {
		L.Push(p.globals)
		return 1
	}
	m, ok := p.eng.lib.globals[string(name)]
	if !ok {
		return 0
	}
	px := p.proxy(m)
	p.globals.RawSetString(string(name), px)
	L.Push(px)
	return 1
}

// proxy returns a new per-process read-only view of m.
func (p *process) proxy(m *module) *glua.LTable {
	t := p.L.CreateTable(0, 0)
	t.Metatable = m.meta
	return t
}

func mathToInteger(L *glua.LState) int {
	if n, ok := L.Get(1).(glua.LNumber); ok && float64(n) == math.Trunc(float64(n)) && !math.IsInf(float64(n), 0) {
		L.Push(n)
		return 1
	}
	L.Push(glua.LNil)
	return 1
}

func mathType(L *glua.LState) int {
	n, ok := L.Get(1).(glua.LNumber)
	switch {
	case !ok:
		L.Push(glua.LNil)
	case float64(n) == math.Trunc(float64(n)) && math.Abs(float64(n)) <= 1<<53:
		L.Push(glua.LString("integer"))
	default:
		L.Push(glua.LString("float"))
	}
	return 1
}

func mathUlt(L *glua.LState) int {
	a, b := L.CheckInt64(1), L.CheckInt64(2)
	L.Push(glua.LBool(uint64(a) < uint64(b)))
	return 1
}

// errorFrom converts a Lua error value to an exit error.
func (l *libs) errorFrom(L *glua.LState, v glua.LValue) *proc.Error {
	return lualib.ErrorFromLua(L, v)
}
