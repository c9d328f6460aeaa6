package lualib

import (
	"log/slog"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/security"
)

// Clock is the source of wall and monotonic time for os.time, os.date,
// os.clock and time.now. Tests inject a fixed or stepping clock. Every
// process of a node calls it, so it must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock returns the real clock.
func SystemClock() Clock { return systemClock{} }

// Options configures one node's library set. The zero Options is valid.
type Options struct {
	// Clock gives the time of os.time, os.date, os.clock and time.now.
	// Default: the system clock.
	Clock Clock
	// Location is the local zone of os.date, os.time, time.date,
	// time.localtz and Time:in_local. Default: time.Local. Set it to
	// time.UTC in tests so output does not depend on the machine.
	Location *time.Location
}

// Host is what one process lends to the library functions: the per-process
// context. The caller (the Lua process behaviour) implements it and attaches
// it to the process's LState with Lib.Bind. Every method may be called from
// the goroutine running the process only.
type Host interface {
	// Logger is the process's logger, already carrying the PID and the
	// entry id as attributes. nil discards the lines.
	Logger() *slog.Logger
	// Env is the env store as this process sees it. nil makes every env
	// call return UNAVAILABLE. Permission checks live in the store (see
	// EnvStore).
	Env() EnvStore
}

// Authorizer is implemented by a Host whose process runs under security
// policies (SPEC section 8). The env module asks it before every read and
// write: env.get and env.set on the variable name; get_all returns only
// what the process may env.get. A Host that does not implement it is not
// checked.
type Authorizer interface {
	// Authorize returns nil when the process may do action on resource,
	// else a PERMISSION_DENIED *proc.Error.
	Authorize(action security.Action, resource string) error
	// Can reports the same without counting a refusal.
	Can(action security.Action, resource string, meta map[string]any) bool
}

// Budget is implemented by a Host whose process has a memory bound: a
// function about to build a large value asks Need first, which raises a
// Lua error when the process may not allocate n more bytes.
type Budget interface {
	Need(L *lua.LState, n int, what string)
}

// need asks the process's Budget, if it has one, for n bytes.
func need(L *lua.LState, n int, what string) {
	if b, ok := HostOf(L).(Budget); ok {
		b.Need(L, n, what)
	}
}

// RegistryKey is the key of L.G.Registry under which Bind stores the
// process binding. The registry is shared by every coroutine of a state.
const RegistryKey = "wippyd.lualib"

// Lib is one node's set of library modules and the metatables of their
// userdata. It is built once per node and read concurrently by every
// process of that node; nothing in it changes after New returns.
type Lib struct {
	clock Clock
	loc   *time.Location
	start time.Time

	errMeta     *lua.LTable
	payloadMeta *lua.LTable
	timeMeta    *lua.LTable
	durMeta     *lua.LTable
	locMeta     *lua.LTable
	loggerMeta  *lua.LTable

	rootLogger loggerObject // the module itself: no name, no fields; never written
	utc, local lua.LValue   // Location userdata for time.utc, time.localtz

	errorsMod  *lua.LTable
	payloadMod *lua.LTable
	osMod      *lua.LTable
	jsonMod    *lua.LTable
	timeMod    *lua.LTable
	loggerMod  *lua.LTable
	envMod     *lua.LTable
}

// binding is what Bind stores in a state's registry.
type binding struct {
	lib  *Lib
	host Host
}

// New builds one node's libraries. L is a node-level state used only to
// allocate the shared tables and functions (their environment is L's
// globals, which no library function reads); it may be closed afterwards.
// New never touches L's globals.
func New(L *lua.LState, opts Options) *Lib {
	lib := &Lib{clock: opts.Clock, loc: opts.Location}
	if lib.clock == nil {
		lib.clock = systemClock{}
	}
	if lib.loc == nil {
		lib.loc = time.Local
	}
	lib.start = lib.clock.Now()

	lib.errMeta = lib.newErrorMeta(L)
	lib.payloadMeta = lib.newPayloadMeta(L)
	lib.timeMeta = lib.newTimeMeta(L)
	lib.durMeta = lib.newDurationMeta(L)
	lib.locMeta = lib.newLocationMeta(L)
	lib.loggerMeta = lib.newLoggerMeta(L)
	lib.utc = lib.newLocation(L, time.UTC)
	lib.local = lib.newLocation(L, lib.loc)

	lib.errorsMod = lib.openErrors(L)
	lib.payloadMod = lib.openPayload(L)
	lib.osMod = lib.openOS(L)
	lib.jsonMod = lib.openJSON(L)
	lib.timeMod = lib.openTime(L)
	lib.loggerMod = lib.openLogger(L)
	lib.envMod = lib.openEnv(L)
	return lib
}

// Bind attaches lib and the process context h to L and to every coroutine
// of L (they share L.G). Call it after replacing L.G.Registry, since the
// binding lives there. A state used without Bind gets a private Lib with
// default Options and no Host on first use.
func (lib *Lib) Bind(L *lua.LState, h Host) {
	L.G.Registry.RawSetString(RegistryKey, &lua.LUserData{Value: &binding{lib: lib, host: h}, Metatable: lua.LNil})
}

// Bound is implemented by a state's context (L.Context()) that carries its
// Lib and Host itself. Such a state needs no Bind: its binding is found
// through the context before the registry, and costs no registry key (a
// table's first string key allocates two maps).
type Bound interface {
	LualibBinding() (*Lib, Host)
}

func bindingOf(L *lua.LState) (*Lib, Host) {
	if c, ok := L.Context().(Bound); ok {
		if lib, h := c.LualibBinding(); lib != nil {
			return lib, h
		}
	}
	if ud, ok := L.G.Registry.RawGetString(RegistryKey).(*lua.LUserData); ok {
		if b, ok := ud.Value.(*binding); ok {
			return b.lib, b.host
		}
	}
	b := &binding{lib: New(L, Options{})}
	L.G.Registry.RawSetString(RegistryKey, &lua.LUserData{Value: b, Metatable: lua.LNil})
	return b.lib, nil
}

// LibOf returns the Lib bound to L (see Bind).
func LibOf(L *lua.LState) *Lib {
	lib, _ := bindingOf(L)
	return lib
}

// HostOf returns the Host bound to L, or nil.
func HostOf(L *lua.LState) Host {
	_, h := bindingOf(L)
	return h
}

// Errors returns the `errors` global.
func (lib *Lib) Errors() *lua.LTable { return lib.errorsMod }

// Payload returns the `payload` global.
func (lib *Lib) Payload() *lua.LTable { return lib.payloadMod }

// OS returns the restricted `os` global.
func (lib *Lib) OS() *lua.LTable { return lib.osMod }

// JSON returns the `json` module.
func (lib *Lib) JSON() *lua.LTable { return lib.jsonMod }

// Time returns the `time` module without sleep, after, timer and ticker,
// which the process behaviour adds to its own copy.
func (lib *Lib) Time() *lua.LTable { return lib.timeMod }

// Logger returns the `logger` module.
func (lib *Lib) Logger() *lua.LTable { return lib.loggerMod }

// Env returns the `env` module.
func (lib *Lib) Env() *lua.LTable { return lib.envMod }

// Globals returns the always-global tables by name: errors, payload, os.
// The map is new on each call; the tables are shared.
func (lib *Lib) Globals() map[string]*lua.LTable {
	return map[string]*lua.LTable{"errors": lib.errorsMod, "payload": lib.payloadMod, "os": lib.osMod}
}

// Modules returns the require()-able modules by name: json, time, logger,
// env. The map is new on each call; the tables are shared.
func (lib *Lib) Modules() map[string]*lua.LTable {
	return map[string]*lua.LTable{"json": lib.jsonMod, "time": lib.timeMod, "logger": lib.loggerMod, "env": lib.envMod}
}

// Now returns the time of the node's clock.
func (lib *Lib) Now() time.Time { return lib.clock.Now() }

// Location returns the node's local zone.
func (lib *Lib) Location() *time.Location { return lib.loc }

// ReadOnly returns a proxy of t: reads go to t, writes raise, and the
// proxy's metatable is locked. The proxy owns no keys, so pairs() over it
// sees nothing and rawset on it still succeeds: give each process its own
// proxy. Nested tables of t are not wrapped.
func ReadOnly(L *lua.LState, t *lua.LTable) *lua.LTable {
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(raiseReadOnly))
	mt.RawSetString("__metatable", lua.LString("locked"))
	p := L.CreateTable(0, 0)
	p.Metatable = mt
	return p
}

func raiseReadOnly(L *lua.LState) int {
	L.RaiseError("attempt to modify a read-only table (key %s)", L.Get(2).String())
	return 0
}

// setFuncs adds Go functions to t.
func setFuncs(L *lua.LState, t *lua.LTable, fns map[string]lua.LGFunction) {
	for name, fn := range fns {
		t.RawSetString(name, L.NewFunction(fn))
	}
}

// newMeta returns a locked metatable whose __index is a table of methods.
func newMeta(L *lua.LState, methods map[string]lua.LGFunction) *lua.LTable {
	mt := L.NewTable()
	idx := L.NewTable()
	setFuncs(L, idx, methods)
	mt.RawSetString("__index", idx)
	mt.RawSetString("__metatable", lua.LString("locked"))
	return mt
}
