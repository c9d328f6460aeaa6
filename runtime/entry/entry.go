package entry

import (
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/security"
)

// Entry kinds wippyd implements. Every other kind with a dot-separated
// Wippy shape is skipped with a warning.
const (
	KindProcessLua   = "process.lua"
	KindLibraryLua   = "library.lua"
	KindProcessHost  = "process.host"
	KindTerminalHost = "terminal.host"
	KindService      = "process.service"
	KindPolicy       = "security.policy"
	KindPolicyExpr   = "security.policy.expr"
	KindEnvVariable  = "env.variable"
	KindPGScope      = "pg.scope"
)

// Kinds lists the implemented kinds in a fixed order.
func Kinds() []string {
	return []string{KindProcessLua, KindLibraryLua, KindProcessHost, KindTerminalHost,
		KindService, KindPolicy, KindPolicyExpr, KindEnvVariable, KindPGScope}
}

// Entry is one loaded entry. Exactly one of the kind-specific pointers is
// set, according to Kind. Entries belong to their Registry and must not be
// modified.
type Entry struct {
	ID        string // namespace:name
	Namespace string
	Name      string
	Kind      string
	File      string // YAML file it was read from, as shown in problems
	Line      int    // line of the entry in File
	// Meta is the entry's free-form meta mapping (nil Value when absent).
	Meta msg.Value

	Lua     *Lua             // process.lua, library.lua
	Host    *Host            // process.host, terminal.host
	Service *Service         // process.service
	Policy  *security.Policy // security.policy and security.policy.expr, compiled
	Env     *EnvVariable     // env.variable
	PG      *PGScope         // pg.scope
}

// Lua is a process.lua or library.lua entry.
type Lua struct {
	Source Source
	// Method is the function of the returned table the runtime calls:
	// "main" by default for process.lua, "" for library.lua.
	Method string
	// Modules is the allowlist of names require() may load.
	Modules []string
	// Imports maps a require() alias to the full id of a library.lua entry.
	Imports map[string]string
}

// Source is the code of a Lua entry as read at load (or by Reload).
type Source struct {
	URI  string // as written, e.g. "file://workers/main.lua"
	Path string // absolute path on disk; for LoadFS, the path inside the fs
	// Name is the path shown in problems and used as the chunk name.
	Name string
	Code []byte
	Hash string // lower-case hex sha256 of Code
	// Compiled is what the CompileLua given to Load made of Code (for a
	// node, the Lua engine's compiled chunk, run without compiling again);
	// nil when loaded without one.
	Compiled any

	fsPath string // where Reload reads it again
}

// Host is a process.host or terminal.host entry.
type Host struct {
	Terminal  bool // terminal.host
	AutoStart bool // lifecycle.auto_start
	// Workers is the host's own worker count; 0 = share the node pool.
	Workers int
	// LocalQueueSize is the per-worker ring; 0 = runtime default (256).
	LocalQueueSize int
	// QueueSize bounds spawns not yet run; 0 = no bound.
	QueueSize int
	// MaxProcesses bounds live processes; 0 = no limit.
	MaxProcesses int
	// MaxMailbox bounds each mailbox; 0 = no limit.
	MaxMailbox int
	// MaxMemory bounds what one Lua process may hold, in bytes; 0 = no
	// bound. Default DefaultMaxMemory.
	MaxMemory int64
	// CancelTimeout terminates a cancelled process after this long; 0 = never.
	CancelTimeout time.Duration
	// HideLogs (terminal.host only) keeps runtime logs off the terminal.
	HideLogs bool
	Security Security
}

// Security lists policies (full entry ids) and policy groups.
type Security struct {
	Policies []string
	Groups   []string
}

// PGScope is a pg.scope entry: one namespace of process groups
// (docs/cluster.md).
type PGScope struct {
	// AntiEntropy is anti_entropy_interval: how often the node checks
	// that another node's copy of its members is current; 0 = never.
	// The node uses the shortest of its scopes'. Default 30s.
	AntiEntropy time.Duration
	// MaxGroups bounds the scope's distinct groups; 0 = no bound.
	MaxGroups int
	// MaxMembersPerGroup bounds a group's members, multi-joins counted;
	// 0 = no bound.
	MaxMembersPerGroup int
}

// DefaultAntiEntropy is a pg.scope's anti_entropy_interval by default.
const DefaultAntiEntropy = 30 * time.Second

// Service is a process.service entry.
type Service struct {
	Process string      // full id of a process.lua entry
	Host    string      // full id of a process.host or terminal.host entry
	Input   []msg.Value // arguments to the process's method
	// AutoStart starts the service with the node.
	AutoStart bool
	// Requires are full ids of services started before this one and
	// stopped after it.
	Requires        []string
	StartTimeout    time.Duration
	StopTimeout     time.Duration
	StableThreshold time.Duration
	Restart         Restart
	// Actor is the identity the service runs as; nil = none. Its meta
	// values are plain Go values (see security.Actor).
	Actor    *security.Actor
	Security Security
}

// Restart is a service's restart policy.
type Restart struct {
	// MaxAttempts is the number of restarts after the first run; 0 = unlimited.
	MaxAttempts   int
	InitialDelay  time.Duration
	MaxDelay      time.Duration
	BackoffFactor float64
	// Jitter is the relative spread of each delay, 0.1 = +-10 %.
	Jitter float64
}

// DefaultMaxMemory is a host's max_memory when its entry gives none: far
// more than a Lua process normally holds (a parked one holds ~7 KiB), small
// enough that one runaway process cannot take a node of a few GiB down.
const DefaultMaxMemory = 128 << 20

// Service defaults (SPEC section 3).
const (
	DefaultStartTimeout    = 10 * time.Second
	DefaultStopTimeout     = 10 * time.Second
	DefaultStableThreshold = 5 * time.Second
	DefaultInitialDelay    = time.Second
	DefaultMaxDelay        = 90 * time.Second
	DefaultBackoffFactor   = 2.0
	DefaultJitter          = 0.1
)

// EnvVariable is an env.variable entry.
type EnvVariable struct {
	// Variable is the OS environment variable read; "" = none.
	Variable string
	// Default is the value when Variable is not given or not set.
	Default    string
	HasDefault bool
}
