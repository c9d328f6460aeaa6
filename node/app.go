package node

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// ImplicitTerminal is the terminal host a node has when its app defines none.
const ImplicitTerminal = "app:terminal"

// ErrNoTerminal is returned when -x names no usable terminal host.
var ErrNoTerminal = errors.New("node: no terminal host")

// hostsOf turns an app's host entries into runtime hosts and says which are
// terminal hosts. A node always has a process host (DefaultHost when the
// app has none) and a terminal host (ImplicitTerminal when it has none).
func hostsOf(reg *entry.Registry) (hosts []runtime.HostConfig, terminals []*entry.Entry) {
	for _, e := range reg.All() {
		if e.Host == nil {
			continue
		}
		h := runtime.HostConfig{ID: e.ID, MaxProcesses: e.Host.MaxProcesses, MaxMailbox: e.Host.MaxMailbox, CancelTimeout: e.Host.CancelTimeout,
			Workers: e.Host.Workers, LocalQueueSize: e.Host.LocalQueueSize, QueueSize: e.Host.QueueSize}
		if e.Host.Terminal {
			h.MaxProcesses = 1 // a terminal host runs one process at a time
			terminals = append(terminals, e)
		}
		hosts = append(hosts, h)
	}
	hasProcessHost := len(reg.ByKind(entry.KindProcessHost)) > 0
	if !hasProcessHost {
		hosts = append([]runtime.HostConfig{{ID: DefaultHost}}, hosts...)
	}
	if len(terminals) == 0 {
		hosts = append(hosts, runtime.HostConfig{ID: ImplicitTerminal, MaxProcesses: 1})
	}
	return hosts, terminals
}

// maxMemory returns the Lua engine's memory bounds: each host entry's
// max_memory, and the default for the hosts a node adds by itself.
func maxMemory(reg *entry.Registry) (def int64, hosts map[string]int64) {
	hosts = map[string]int64{}
	for _, e := range reg.All() {
		if e.Host != nil {
			hosts[e.ID] = e.Host.MaxMemory
		}
	}
	return entry.DefaultMaxMemory, hosts
}

// TerminalHost picks the terminal host for `run -x`: the named one, the
// only one, or the implicit one when the app has none.
func TerminalHost(reg *entry.Registry, name string) (id string, hideLogs bool, err error) {
	_, terms := hostsOf(reg)
	if name != "" {
		for _, t := range terms {
			if t.ID == name {
				return t.ID, t.Host.HideLogs, nil
			}
		}
		if len(terms) == 0 && name == ImplicitTerminal {
			return name, false, nil
		}
		return "", false, fmt.Errorf("%w: %s is not a terminal.host entry", ErrNoTerminal, name)
	}
	switch len(terms) {
	case 0:
		return ImplicitTerminal, false, nil
	case 1:
		return terms[0].ID, terms[0].Host.HideLogs, nil
	}
	ids := make([]string, len(terms))
	for i, t := range terms {
		ids[i] = t.ID
	}
	return "", false, fmt.Errorf("%w: several terminal hosts (%v): pick one with --host", ErrNoTerminal, ids)
}

// luaCatalog serves an app's Lua entries to the Lua engine and remembers
// the source an upgrade reloaded, so later spawns get it too. A hot reload
// swaps its registry (swap).
type luaCatalog struct {
	mu  sync.Mutex
	reg *entry.Registry // mu
	cur map[string]*lua.Source
}

func newLuaCatalog(reg *entry.Registry) *luaCatalog {
	return &luaCatalog{reg: reg, cur: map[string]*lua.Source{}}
}

// registry returns the registry the catalog serves now.
func (c *luaCatalog) registry() *entry.Registry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reg
}

// swap serves reg from now on: the sources of its entries replace the
// ones served so far (those an upgrade reloaded included).
func (c *luaCatalog) swap(reg *entry.Registry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reg = reg
	clear(c.cur)
}

func luaSource(e *entry.Entry, s entry.Source) *lua.Source {
	ch, _ := s.Compiled.(*lua.Chunk) // nil for an app loaded without compileLua
	return &lua.Source{
		ID: e.ID, Path: s.Name, Code: s.Code, Hash: s.Hash, Chunk: ch,
		Method: e.Lua.Method, Modules: e.Lua.Modules, Imports: e.Lua.Imports,
	}
}

// Source implements lua.Catalog.
func (c *luaCatalog) Source(id string) (*lua.Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.cur[id]; ok {
		return s, nil
	}
	e, ok := c.reg.Get(id)
	if !ok || e.Lua == nil {
		return nil, fmt.Errorf("%w: %s", lua.ErrEntry, id)
	}
	s := luaSource(e, e.Lua.Source)
	c.cur[id] = s
	return s, nil
}

// Reload implements lua.Catalog: it re-reads the entry's file.
func (c *luaCatalog) Reload(id string) (*lua.Source, error) {
	reg := c.registry()
	e, ok := reg.Get(id)
	if !ok || e.Lua == nil {
		return nil, fmt.Errorf("%w: %s", lua.ErrEntry, id)
	}
	src, err := reg.Reload(id)
	if err != nil {
		return nil, err
	}
	s := luaSource(e, src)
	c.mu.Lock()
	c.cur[id] = s
	c.mu.Unlock()
	return s, nil
}

// appCatalog resolves entry ids for spawns: Lua entries through the Lua
// engine, Go-native ones through the native catalog.
type appCatalog struct {
	lua    *luaCatalog // the app's entries, nil without an app
	eng    *lua.Engine
	native runtime.Catalog
}

// Behavior implements runtime.Catalog.
func (c *appCatalog) Behavior(id string, args []msg.Value) (proc.Behavior, error) {
	if c.lua != nil {
		reg := c.lua.registry()
		if e, ok := reg.Get(id); ok {
			if e.Kind != entry.KindProcessLua {
				return nil, proc.Errorf(proc.KindInvalid, msg.False, "entry %s is a %s, not a process", id, e.Kind)
			}
			return c.eng.Behavior(id, args)
		}
		if kind, ok := reg.Skipped(id); ok {
			return nil, proc.Errorf(proc.KindNotFound, msg.False, "entry %s is of kind %s, which wippyd does not run", id, kind)
		}
	}
	if c.native != nil {
		return c.native.Behavior(id, args)
	}
	return nil, proc.Errorf(proc.KindNotFound, msg.False, "entry not found: %s", id)
}

// envStore is what env.get/env.set see: the node's `env:` config, then
// env.variable entries (by entry name or full id), then values set at run
// time (which win over both).
type envStore struct {
	mu   sync.RWMutex
	set  map[string]string
	cfg  map[string]string
	vars map[string]string
}

func newEnvStore(cfg map[string]string, reg *entry.Registry, lookup func(string) (string, bool)) *envStore {
	s := &envStore{set: map[string]string{}, cfg: cfg, vars: map[string]string{}}
	if reg != nil {
		for _, e := range reg.ByKind(entry.KindEnvVariable) {
			v, ok := "", false
			if e.Env.Variable != "" {
				v, ok = lookup(e.Env.Variable)
			}
			if !ok && e.Env.HasDefault {
				v, ok = e.Env.Default, true
			}
			if ok {
				s.vars[e.Name] = v
				s.vars[e.ID] = v
			}
		}
	}
	return s
}

var _ lualib.EnvStore = (*envStore)(nil)

func (s *envStore) Get(key string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v, ok := s.set[key]; ok {
		return v, nil
	}
	if v, ok := s.cfg[key]; ok {
		return v, nil
	}
	if v, ok := s.vars[key]; ok {
		return v, nil
	}
	return "", fmt.Errorf("%w: %s", lualib.ErrNotFound, key)
}

func (s *envStore) Set(key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set[key] = value
	return nil
}

func (s *envStore) All() (map[string]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]string{}
	for _, m := range []map[string]string{s.vars, s.cfg, s.set} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// App is a loaded source tree of entries.
type App = entry.Registry

// Terminal is the terminal wired to processes on terminal hosts.
type Terminal = lua.Terminal

// LoadApp loads every *.yaml under dir. Its error, when the tree has
// problems, lists each as "file:line: entry-id: message", one per line.
func LoadApp(dir string) (*App, error) { return entry.Load(dir, compileLua, luaModules()) }

// LoadAppFS is LoadApp for a file system, e.g. an app embedded in a Go
// program: every *.yaml under its root; problems name paths inside fsys.
func LoadAppFS(fsys fs.FS) (*App, error) { return entry.LoadFS(fsys, ".", compileLua, luaModules()) }

// LoadDemoApp loads the embedded demo app.
func LoadDemoApp() (*App, error) { return LoadAppFS(DemoApp()) }

// luaModules has the loader check modules: lists against the engine's.
func luaModules() entry.Option {
	modules, globals := lua.Modules()
	return entry.WithModules(entry.ModuleNames{Known: append(modules, globals...), Unimplemented: lua.WippyModules()})
}

// compileLua is the loader's Lua compiler: the engine's, its syntax errors
// as problems at their line. What it returns reaches the engine in
// lua.Source.Chunk, so each source is compiled once.
func compileLua(code []byte, name string) (any, error) {
	ch, err := lua.Compile(code, name)
	if se, ok := errors.AsType[*lua.SyntaxError](err); ok {
		return nil, &entry.CodeError{Line: se.Line, Message: se.Message}
	}
	if err != nil {
		return nil, err
	}
	return ch, nil
}

var (
	// ErrBadEntryID: an entry id that is not namespace:name.
	ErrBadEntryID = errors.New("node: not an entry id (namespace:name)")
	// ErrNoEntry: an app has no entry of that id.
	ErrNoEntry = errors.New("node: no such entry")
	// ErrNotRunnable: the entry exists but is not a process.lua.
	ErrNotRunnable = errors.New("node: not a process.lua entry")
)

// CheckRunnable reports whether id names a process.lua entry of app: an
// error wrapping ErrBadEntryID, ErrNoEntry or ErrNotRunnable when not
// (SuggestEntry and Runnable help to say what was meant).
func CheckRunnable(app *App, id string) error {
	ns, name, ok := strings.Cut(id, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return fmt.Errorf("%w: %q", ErrBadEntryID, id)
	}
	e, ok := app.Get(id)
	if !ok {
		if kind, skipped := app.Skipped(id); skipped {
			return fmt.Errorf("%w: entry %s is of kind %s, which wippyd does not run", ErrNotRunnable, id, kind)
		}
		return fmt.Errorf("%w: %s", ErrNoEntry, id)
	}
	if e.Kind != entry.KindProcessLua {
		return fmt.Errorf("%w: entry %s is a %s", ErrNotRunnable, id, e.Kind)
	}
	return nil
}

// Runnable lists the ids of app's process.lua entries, sorted.
func Runnable(app *App) []string {
	var ids []string
	for _, e := range app.ByKind(entry.KindProcessLua) {
		ids = append(ids, e.ID)
	}
	return ids
}

// SuggestEntry returns the process.lua entry id most likely meant by id,
// or "": one of that name in the only namespace that has it (for a bare
// name), else one a typo away.
func SuggestEntry(app *App, id string) string {
	ids := Runnable(app)
	if !strings.Contains(id, ":") {
		var named []string
		for _, c := range ids {
			if _, name, _ := strings.Cut(c, ":"); name == id {
				named = append(named, c)
			}
		}
		if len(named) == 1 {
			return named[0]
		}
	}
	return entry.Suggest(id, ids, 3)
}
