package lua

import (
	"slices"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// require, print and process.upgrade: the functions that deal with
// entries and the node rather than with one value.

// loading marks an import being loaded, to report a require loop.
var loading = &glua.LUserData{}

// luaRequire implements require(name): an always-global library returns
// that global; a module listed in the calling entry's modules: returns the
// process's proxy of it; an alias of the entry's imports: loads that
// library entry once per process and returns what its chunk returned.
func luaRequire(L *glua.LState) int {
	p := procOf(L)
	name := L.CheckString(1)
	lib := p.eng.lib
	if m, ok := lib.globals[name]; ok {
		L.Push(p.libGlobal(m))
		return 1
	}
	src := p.scopeOf(L)
	if slices.Contains(src.Modules, name) {
		if m, ok := lib.required[name]; ok {
			if v, ok := p.require[name]; ok {
				L.Push(v)
				return 1
			}
			px := p.proxy(m)
			p.cache(name, px)
			L.Push(px)
			return 1
		}
	}
	if id, ok := src.Imports[name]; ok {
		L.Push(p.importLib(L, name, id))
		return 1
	}
	switch {
	case lib.required[name] != nil:
		L.RaiseError("module '%s' not found: list it in the modules: of %s (modules: [%s])", name, src.ID, name)
	case slices.Contains(wippyModules, name):
		L.RaiseError("module '%s' not found: wippyd does not implement it", name)
	}
	L.RaiseError("module '%s' not found", name)
	return 0
}

func (p *process) cache(key string, v glua.LValue) {
	if p.require == nil {
		p.require = make(map[string]glua.LValue)
	}
	p.require[key] = v
}

// libGlobal returns the process's proxy of an always-global library.
func (p *process) libGlobal(m *module) glua.LValue {
	if t, ok := p.globals.RawGetString(m.name).(*glua.LTable); ok && t.Metatable == m.meta {
		return t
	}
	px := p.proxy(m)
	if p.globals.RawGetString(m.name) == glua.LNil {
		p.globals.RawSetString(m.name, px)
	}
	return px
}

// scopeOf returns the entry whose code called the running Go function:
// the main entry, or a library loaded by importLib.
func (p *process) scopeOf(L *glua.LState) *Source {
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("S", dbg, glua.LNil); err == nil {
			if v, ok := p.require["@chunk:"+dbg.Source]; ok {
				if ud, ok := v.(*glua.LUserData); ok {
					if s, ok := ud.Value.(*Source); ok {
						return s
					}
				}
			}
		}
	}
	return p.src
}

// importLib loads a library.lua entry once per process.
func (p *process) importLib(L *glua.LState, alias, id string) glua.LValue {
	key := "@lib:" + id
	if v, ok := p.require[key]; ok {
		if v == loading {
			L.RaiseError("module '%s': require loop through %s", alias, id)
		}
		return v
	}
	src, err := p.eng.cfg.Catalog.Source(id)
	if err != nil {
		L.RaiseError("module '%s' not found: %v", alias, err)
	}
	proto, err := p.eng.compile(src)
	if err != nil {
		L.RaiseError("module '%s': %v", alias, err)
	}
	p.cache(key, loading)
	p.cache("@chunk:"+proto.SourceName, &glua.LUserData{Value: src})
	L.Push(p.L.NewFunctionFromProto(proto))
	L.Call(0, 1)
	v := L.Get(-1)
	L.Pop(1)
	if v == glua.LNil {
		v = glua.LTrue
	}
	p.cache(key, v)
	return v
}

// luaPrint implements print: one line to the node's structured log.
func luaPrint(L *glua.LState) int {
	p := procOf(L)
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(L.ToStringMeta(L.Get(i)).String())
	}
	p.eng.log.Info(b.String(), "pid", p.self.String(), "entry", p.src.ID)
	return 0
}

// upgradeReq is a pending process.upgrade.
type upgradeReq struct {
	src   *Source
	proto *glua.FunctionProto
	args  []msg.Value
	err   error
}

// procUpgrade implements process.upgrade(entry_or_nil, ...): it records the
// request and unwinds the whole state (nothing catches it); Step then
// replaces the state (doUpgrade).
func procUpgrade(L *glua.LState) int {
	p := procOf(L)
	req := &upgradeReq{}
	if L.Get(1) == glua.LNil {
		req.src, req.err = p.eng.cfg.Catalog.Reload(p.src.ID)
	} else {
		// Upgrading to another entry is checked as spawning it.
		entry := L.CheckString(1)
		if req.err = p.env.Authorize(security.ActionSpawn, entry); req.err == nil {
			req.src, req.err = p.eng.cfg.Catalog.Source(entry)
		}
	}
	if req.err == nil {
		req.proto, req.err = p.eng.compile(req.src)
	}
	if req.err == nil {
		req.args, req.err = argsOf(L, 2)
	}
	p.upgrade = req
	L.Error(glua.LString("process upgrading"), 0)
	return 0
}

// doUpgrade replaces the Lua state by a fresh one running the requested
// entry, keeping the mailbox routes and what they buffer. A failed upgrade
// ends the process with its error.
func (p *process) doUpgrade() {
	req := p.upgrade
	p.upgrade = nil
	if req.err != nil {
		p.finish(proc.Result{Err: proc.AsError(req.err)})
		return
	}
	for id := range p.timers {
		p.env.StopTimer(id)
	}
	p.release()
	if p.upgradable && req.src.ID != p.src.ID {
		p.eng.upgradable.remove(p.src.ID, p)
		p.eng.upgradable.add(req.src.ID, p, p.self)
	}
	p.src, p.proto = req.src, req.proto
	p.gen++
	if err := p.start(req.proto, req.args); err != nil {
		p.finish(proc.Result{Err: proc.AsError(err)})
	}
}
