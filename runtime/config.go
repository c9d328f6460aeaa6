package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/sched"
	"github.com/wippyd/wippyd/runtime/security"
)

// ErrConfig wraps every configuration problem.
var ErrConfig = errors.New("runtime: invalid config")

// HostConfig is one process host.
type HostConfig struct {
	// ID is the host's entry id, e.g. "app:processes".
	ID string
	// MaxProcesses bounds live processes on the host; 0 = no limit. A full
	// host refuses spawns with a retryable UNAVAILABLE.
	MaxProcesses int
	// MaxMailbox bounds each process's mailbox; 0 = no limit. A full mailbox
	// refuses local sends with a retryable UNAVAILABLE.
	MaxMailbox int
	// CancelTimeout terminates a cancelled process that has not ended after
	// this long; 0 = never.
	CancelTimeout time.Duration
	// Workers > 0 gives the host a worker pool of its own, so its processes
	// never compete with other hosts' for workers; 0 shares the node pool.
	Workers int
	// LocalQueueSize is the per-worker run queue of the host's own pool
	// (0 = 256); it has no effect on a host sharing the node pool.
	LocalQueueSize int
	// QueueSize bounds processes spawned on the host that have not run yet;
	// 0 = no bound. A full queue refuses spawns with a retryable UNAVAILABLE.
	QueueSize int
	// Policies are the host's security policies (its `security: {policies,
	// groups}`, resolved with security.Resolve): they apply to every action of
	// the host's processes and to every action aimed at one of them (SPEC
	// section 8). nil = none. Shared read-only.
	Policies []*security.Policy
}

// Catalog creates behaviours for entry ids (Lua entries, Go-native ones).
type Catalog interface {
	// Behavior returns a new behaviour for entry started with args, or an
	// error (NOT_FOUND for an unknown entry).
	Behavior(entry string, args []msg.Value) (proc.Behavior, error)
}

// Config configures a Runtime.
type Config struct {
	// Node is this node's name; it is the node part of every local PID.
	Node string
	// Workers is the number of scheduler workers; 0 = GOMAXPROCS.
	Workers int
	// LocalQueueSize is each worker's run-queue capacity; 0 = 256.
	LocalQueueSize int
	// Slice is how long a process may hold a worker before the rest of that
	// worker's queue moves to a new worker goroutine; 0 = 10ms.
	Slice time.Duration
	// Budget is the most deliveries a process handles in one turn before it
	// goes to the back of the queue; 0 = 128. Larger: faster draining of a
	// busy mailbox; smaller: fairer.
	Budget int
	// Hosts are the process hosts. At least one; the first is the default.
	Hosts []HostConfig
	// Catalog resolves entry ids for Spawn; nil allows only spawning a
	// Behavior directly.
	Catalog Catalog
	// Router carries traffic to other nodes; nil = standalone.
	Router Router
	// Names is the cluster-wide name service; nil = standalone.
	Names NameService
	// Groups is the node's process groups (pg scopes); nil = none.
	Groups GroupService
	// Locks is the cluster-wide lock table (system.lock); nil = none.
	Locks LockService
	// SeqStart is the first PID sequence number; 0 draws it from the boot
	// time (milliseconds << 20), so a restarted node never reuses a PID.
	SeqStart uint64
	// Logger receives runtime logs; nil discards them.
	Logger *slog.Logger
	// StopGrace is how long a process of a host without cancel_timeout
	// has to end after the CANCEL of Stop before it is terminated; 0 =
	// DefaultStopGrace (1s). A process that waits on its inbox and ignores
	// CANCEL (the usual worker) holds the stop this long; one that must
	// clean up for longer runs on a host with a cancel_timeout.
	StopGrace time.Duration

	// StrictMode denies an action that no policy decides (SPEC section 8,
	// security.strict_mode). Default false: undecided is allowed. On, every
	// process needs an allow for everything it does, so only for a tree
	// whose policies were written for it.
	StrictMode bool
	// Policies is the node's policy table by id (every security.policy
	// entry, compiled with security.Compile). Policy ids that travel with
	// traffic from other nodes, and SpawnRequest.ScopeIDs, are resolved
	// against it; an id it lacks denies (a deny must never go missing).
	// nil = no policies known by id. Shared read-only.
	Policies map[string]*security.Policy
	// DenyLogInterval is the least time between two log lines about denied
	// traffic from other nodes for one (sender host, target host) pair;
	// 0 = one minute. Denials are counted regardless.
	DenyLogInterval time.Duration
}

// MaxTotalWorkers bounds the workers of the node pool and of every host's
// own pool together (each pool is at most sched.MaxWorkers): an app with
// many hosts of their own pools must not start a goroutine army.
const MaxTotalWorkers = 4 * sched.MaxWorkers

// totalWorkers counts the workers of every pool c makes.
func (c Config) totalWorkers() int {
	n := c.Workers
	if n == 0 {
		n = min(goruntime.GOMAXPROCS(0), sched.MaxWorkers)
	}
	for _, h := range c.Hosts {
		n += max(h.Workers, 0)
	}
	return n
}

// DefaultConfig returns a config with one host, "app:processes".
func DefaultConfig() Config {
	return Config{Node: "local", Budget: 128, Hosts: []HostConfig{{ID: "app:processes"}}}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if c.Node == "" {
		errs = append(errs, errors.New("node name is empty"))
	}
	if c.Workers < 0 || c.LocalQueueSize < 0 || c.Slice < 0 || c.Budget < 0 || c.DenyLogInterval < 0 || c.StopGrace < 0 {
		errs = append(errs, errors.New("workers, queue size, slice, budget and stop grace must not be negative"))
	}
	if len(c.Hosts) == 0 {
		errs = append(errs, errors.New("no hosts"))
	}
	if n := c.totalWorkers(); n > MaxTotalWorkers {
		errs = append(errs, fmt.Errorf("%d workers in the node pool and the hosts' own pools together, at most %d", n, MaxTotalWorkers))
	}
	seen := map[string]bool{}
	for _, h := range c.Hosts {
		switch {
		case h.ID == "":
			errs = append(errs, errors.New("host with an empty id"))
		case seen[h.ID]:
			errs = append(errs, fmt.Errorf("host %s defined twice", h.ID))
		case h.MaxProcesses < 0 || h.MaxMailbox < 0 || h.CancelTimeout < 0 || h.Workers < 0 || h.LocalQueueSize < 0 || h.QueueSize < 0:
			errs = append(errs, fmt.Errorf("host %s: negative limit", h.ID))
		case slices.Contains(h.Policies, nil):
			errs = append(errs, fmt.Errorf("host %s: nil policy", h.ID))
		}
		seen[h.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(c.Policies)) {
		if p := c.Policies[id]; p == nil || p.ID() != id {
			errs = append(errs, fmt.Errorf("policy table: entry %s does not hold the policy of that id", id))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}
