package lua

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/lua/pattern"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Source is one Lua entry as the node's catalog knows it.
type Source struct {
	ID      string            // entry id, "namespace:name"
	Path    string            // chunk name in error messages and tracebacks (the file path)
	Code    []byte            // the Lua source
	Hash    string            // identifies Code; "" lets the engine hash it (SHA-256)
	Method  string            // function of the returned table that runs as main ("" for a library)
	Modules []string          // require() allowlist
	Imports map[string]string // require(alias) -> library entry id
	// Chunk is Code compiled by Compile (a loader that checked the code
	// has it); nil lets the engine compile Code at the first spawn.
	Chunk *Chunk
}

// A Source must not be changed once handed to the engine: a reloaded entry
// is a new Source.

// Catalog gives the engine the entries it runs. The node implements it over
// its YAML entries. Methods are called from worker goroutines concurrently.
type Catalog interface {
	// Source returns the current source of an entry, or an error wrapping
	// ErrEntry when there is none.
	Source(id string) (*Source, error)
	// Reload re-reads an entry's file from disk and returns the fresh
	// source (process.upgrade(nil)).
	Reload(id string) (*Source, error)
}

// Terminal is the node's terminal: the `io` module reads and writes it from
// processes on a terminal host.
type Terminal struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Args   []string // command-line arguments of the run, io.args()
}

// Config configures an Engine.
type Config struct {
	// Catalog resolves entry ids to sources. Required.
	Catalog Catalog
	// Terminal is the node's terminal; nil makes io calls UNAVAILABLE.
	Terminal *Terminal
	// TerminalHosts are the host ids whose processes may use the terminal.
	TerminalHosts []string
	// Logger receives print() lines and coroutine errors. Default: discard.
	Logger *slog.Logger
	// Env is what env.get and env.set reach (--set env.NAME=v, env.variable
	// entries); nil makes env calls UNAVAILABLE.
	Env lualib.EnvStore
	// Lib configures the pure libraries (clock, local zone).
	Lib lualib.Options
	// Cluster is what system.node, system.cluster and system.raft read;
	// nil on a standalone node (the cluster is this node alone, Raft is
	// not running).
	Cluster proc.Cluster
	// Node is what system.hosts, system.supervisor and system.exit read
	// and do; nil makes them raise an error naming the call.
	Node SystemNode
	// CallStackSize is the deepest Lua call nesting per coroutine; a call
	// past it raises "stack overflow". Frames are allocated 8 at a time and
	// the table of those segments grows with the stack (see deepen), so
	// the limit costs nothing until a coroutine goes deep. Default 20,000
	// (Lua 5.1's LUAI_MAXCALLS).
	CallStackSize int
	// MaxNesting bounds how many pcall, xpcall and coroutine.resume calls
	// may be nested: each one runs its callee on a thread of its own, from
	// a Go call of the interpreter, so nesting is Go recursion. Past it
	// the call raises "stack overflow". Default 200 (Lua 5.1's C-call
	// limit, LUAI_MAXCCALLS).
	MaxNesting int
	// RegistryMaxSize bounds a coroutine's value stack, in slots of 16
	// bytes; it starts at 128 slots and grows as needed. Default 1<<20
	// (16 MiB, which max_memory counts).
	RegistryMaxSize int
	// MaxMemory bounds what one process may hold, in bytes, on hosts
	// HostMaxMemory does not list; 0 = no bound. See memory.go for how it
	// is counted. The node passes its hosts' max_memory here.
	MaxMemory int64
	// HostMaxMemory is MaxMemory per host id; 0 = no bound on that host.
	HostMaxMemory map[string]int64
	// Slice is how long a Step may run Lua code before it takes turns on a
	// lane (see lanes.go). Default 10ms, the scheduler's slice.
	Slice time.Duration
	// Lanes is how many long-running Steps may run Lua code at once; the
	// others wait their turn off their worker. Default GOMAXPROCS.
	Lanes int
	// StepBudget is how many coroutine resumptions one Step may make before
	// it yields the worker to other processes. Default 256.
	StepBudget int
}

// DefaultConfig returns a Config with every default filled in (Catalog is
// still required).
func DefaultConfig() Config {
	return Config{CallStackSize: 20000, MaxNesting: 200, RegistryMaxSize: 1 << 20, StepBudget: 256,
		Slice: 10 * time.Millisecond, Lanes: runtime.GOMAXPROCS(0)}
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	switch {
	case c.Catalog == nil:
		return fmt.Errorf("%w: Catalog is required", ErrConfig)
	case c.CallStackSize < 8 || c.CallStackSize > 1<<19:
		return fmt.Errorf("%w: CallStackSize %d not in 8..524288", ErrConfig, c.CallStackSize)
	case c.MaxNesting < 1:
		return fmt.Errorf("%w: MaxNesting %d < 1", ErrConfig, c.MaxNesting)
	case c.MaxMemory < 0:
		return fmt.Errorf("%w: MaxMemory %d < 0", ErrConfig, c.MaxMemory)
	case c.RegistryMaxSize < 1024:
		return fmt.Errorf("%w: RegistryMaxSize %d < 1024", ErrConfig, c.RegistryMaxSize)
	case c.Slice <= 0 || c.Lanes < 1:
		return fmt.Errorf("%w: Slice %v and Lanes %d must be positive", ErrConfig, c.Slice, c.Lanes)
	case c.StepBudget < 1:
		return fmt.Errorf("%w: StepBudget %d < 1", ErrConfig, c.StepBudget)
	}
	return nil
}

// Engine runs Lua processes for one node. It holds what every process
// shares read-only (library tables, compiled prototypes) and pools of
// reusable states. It is safe for concurrent use.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	opts     glua.Options
	terminal map[string]bool

	protoMu sync.RWMutex
	protos  map[string]compiled // entry id -> latest compiled source

	drivers  sync.Pool                   // *glua.LState used as the parent of resumed threads
	states   sync.Pool                   // clean states (no frames), for process roots and coroutines
	matchers sync.Pool                   // *pattern.Matcher
	walkers  sync.Pool                   // *walker
	samples  sync.Pool                   // *[1]metrics.Sample of Go's allocation counter
	shared   map[unsafe.Pointer]struct{} // what every process reaches: never counted
	lanes    chan struct{}               // a token per lane (lanes.go)
	epoch    time.Time                   // zero of now()
	global   *glua.Global                // template of every process's Global (shared builtin metatables)

	upgradable upgradables // processes that take OUTDATED events (outdated.go)

	lib    *libs
	term   *terminal
	closed chan struct{} // closed at New: the Done channel of interrupted processes
}

// compiled is the cached prototype of one version of an entry.
type compiled struct {
	src   *Source // the Source it was compiled from (Sources are immutable)
	hash  string
	proto *glua.FunctionProto
}

// New returns an Engine for cfg; zero fields take their defaults.
func New(cfg Config) (*Engine, error) {
	def := DefaultConfig()
	if cfg.CallStackSize == 0 {
		cfg.CallStackSize = def.CallStackSize
	}
	if cfg.MaxNesting == 0 {
		cfg.MaxNesting = def.MaxNesting
	}
	if cfg.Slice == 0 {
		cfg.Slice = def.Slice
	}
	if cfg.Lanes == 0 {
		cfg.Lanes = def.Lanes
	}
	if cfg.RegistryMaxSize == 0 {
		cfg.RegistryMaxSize = def.RegistryMaxSize
	}
	if cfg.StepBudget == 0 {
		cfg.StepBudget = def.StepBudget
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkLayout(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		cfg: cfg,
		log: cfg.Logger,
		opts: glua.Options{
			SkipOpenLibs:        true,
			RegistrySize:        128, // below 128 gopher-lua silently uses 5120
			RegistryMaxSize:     cfg.RegistryMaxSize,
			RegistryGrowStep:    128,
			CallStackSize:       initialFrames,
			MinimizeStackMemory: true,
		},
		terminal: make(map[string]bool, len(cfg.TerminalHosts)),
		protos:   make(map[string]compiled),
		closed:   make(chan struct{}),
	}
	close(e.closed)
	for _, h := range cfg.TerminalHosts {
		e.terminal[h] = true
	}
	e.drivers.New = func() any {
		return glua.NewState(glua.Options{SkipOpenLibs: true, RegistrySize: 256, RegistryMaxSize: 1 << 16, RegistryGrowStep: 256, CallStackSize: 8, MinimizeStackMemory: true})
	}
	e.term = newTerminal(cfg.Terminal)
	tmpl := glua.NewState(e.opts)
	e.global = tmpl.G
	lib, err := newLibs(e)
	if err != nil {
		return nil, err
	}
	e.lib = lib
	tmpl.SetMetatable(glua.LString(""), lib.strMeta)
	e.matchers.New = func() any { return new(pattern.Matcher) }
	e.lanes = make(chan struct{}, cfg.Lanes)
	e.epoch = time.Now()
	e.samples.New = newSample
	e.shared = lib.shared()
	e.walkers.New = func() any { return newWalker(e.shared) }
	return e, nil
}

// initialFrames is the call-stack capacity a state is made with (see
// deepen for how it grows).
const initialFrames = 64

// maxMemory returns the memory bound of a process on host.
func (e *Engine) maxMemory(host string) int64 {
	if n, ok := e.cfg.HostMaxMemory[host]; ok {
		return n
	}
	return e.cfg.MaxMemory
}

// Behavior returns a new process running entryID's method with args. It
// only allocates (and compiles on a cache miss); the Lua state is built at
// the first Step, on the worker that runs it.
func (e *Engine) Behavior(entryID string, args []msg.Value) (proc.Behavior, error) {
	src, err := e.cfg.Catalog.Source(entryID)
	if err != nil {
		return nil, err
	}
	proto, err := e.compile(src)
	if err != nil {
		return nil, err
	}
	return newProcess(e, src, proto, args), nil
}

// compile returns the prototype of src: the Chunk it carries, or the
// cached one when this version was seen before, or Code compiled now.
func (e *Engine) compile(src *Source) (*glua.FunctionProto, error) {
	e.protoMu.RLock()
	c, ok := e.protos[src.ID]
	e.protoMu.RUnlock()
	if ok && c.src == src {
		return c.proto, nil // the very Source compiled last time: no hashing
	}
	var proto *glua.FunctionProto
	hash := src.Hash
	switch {
	case src.Chunk != nil:
		proto = src.Chunk.proto
	default:
		if hash == "" {
			sum := sha256.Sum256(src.Code)
			hash = hex.EncodeToString(sum[:])
		}
		if ok && c.hash == hash {
			return c.proto, nil
		}
		name := src.Path
		if name == "" {
			name = src.ID
		}
		ch, err := Compile(src.Code, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCompile, src.ID, err)
		}
		proto = ch.proto
	}
	e.protoMu.Lock()
	// Only the latest version of an entry stays cached; processes running
	// an older one hold their own reference to it.
	e.protos[src.ID] = compiled{src: src, hash: hash, proto: proto}
	e.protoMu.Unlock()
	return proto, nil
}

// newState returns a process's main state: a pooled or new state (minimum
// options) with a Global of its own, whose globals and registry tables are
// empty, the globals sized for one key. NewState pre-sizes those two tables (~7 KiB,
// measured) and they are never needed per process; every Global shares the
// engine's builtin metatables (the locked string metatable), which only
// this package writes (setmetatable accepts tables only).
func (e *Engine) newState() *glua.LState {
	L := e.getState()
	g := new(glua.Global)
	*g = *e.global
	// A table's first string key makes gopher-lua allocate a map sized for
	// 32 keys (~2 KiB) unless the table was created with a hash size: the
	// globals get a few keys at most (cached library proxies), so size them
	// for one. Nothing writes the registry (the libraries find their
	// binding through the state's context, see LualibBinding).
	g.Global = L.CreateTable(0, 1)
	g.Registry = L.CreateTable(0, 0)
	// callR (every Go->Lua call: metamethods, sort comparators) runs the
	// callee without a base frame while G.MainThread is unset, and then
	// does not stop when the callee returns. Threads are only ever resumed
	// here, so set it.
	g.MainThread = L
	g.CurrentThread = L
	L.G = g
	L.Env = g.Global
	return L
}

// getState returns a clean state from the pool, or a new one.
func (e *Engine) getState() *glua.LState {
	if v := e.states.Get(); v != nil {
		L := v.(*glua.LState)
		L.Dead = false
		return L
	}
	L := glua.NewState(e.opts)
	registryOf(L).array = make([]glua.LValue, initialSlots)
	return L
}

// initialSlots is the value-stack size a state starts with. gopher-lua
// makes it at least 128 slots (2 KiB, the largest single part of a parked
// process in a heap profile); a process blocked in receive uses fewer
// than 24, and every call and push grows the stack to what it needs plus
// RegistryGrowStep (more once deepen has run), up to RegistryMaxSize.
// NewState's own 128 slots are garbage at once.
const initialSlots = 24

// thread returns a coroutine thread for process p.
func (e *Engine) thread(p *process) *glua.LState {
	th := e.getState()
	th.G = p.L.G
	th.Env = p.globals
	th.SetContext(p)
	p.charge(threadBytes)
	return th
}

// release returns a state whose code will not run again to the pool,
// resetting its frames if it has some; one that cannot be reset is closed.
func (e *Engine) release(th *glua.LState) {
	if th == nil || th.IsClosed() {
		return
	}
	if started(th) && !reset(th) {
		th.Close()
		return
	}
	th.SetTop(0)
	// A stack grown by a deep call stays with the state otherwise: the
	// next process to get it would hold it parked.
	if reg := registryOf(th); len(reg.array) > initialSlots {
		reg.array = make([]glua.LValue, initialSlots)
		reg.growBy = e.opts.RegistryGrowStep
	}
	th.Parent = nil
	th.G = e.global
	th.Env = nil
	th.RemoveContext()
	e.states.Put(th)
}
