package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/cluster/groups"
	"github.com/wippyd/wippyd/registry/raftreg"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/security"
)

// Version is the wippyd version, set at build time with
// -ldflags "-X github.com/wippyd/wippyd/node.Version=...".
var Version = "0.1.0-dev"

// serviceStartLimit bounds how long Start waits for services with
// auto_start: each is running, failed, or restarting in the background by
// then (a service's own start_timeout applies within it).
const serviceStartLimit = 5 * time.Minute

var (
	// ErrStarted is returned by Start on a node already started.
	ErrStarted = errors.New("node: already started")
	// ErrStopped: the node stopped (or began to) before the call was done:
	// Start cut short by Stop, Exec whose program never reported its end.
	ErrStopped = errors.New("node: stopped")
	// ErrStandalone: a cluster call on a node without cluster.enabled.
	ErrStandalone = errors.New("node: not in a cluster")
	// ErrRaftStoreDamaged: Start found the Raft store (under
	// cluster.raft.data_dir/<node>: the WAL, or a raft.db to migrate)
	// damaged: an operator must restore or remove it. ErrRaftStateLost: the store is gone or empty on a node that has
	// been part of a cluster, which will not rejoin without it.
	ErrRaftStoreDamaged = raftreg.ErrStoreDamaged
	ErrRaftStateLost    = raftreg.ErrStateLost
)

// DefaultHost is the host every node has when its app defines none.
const DefaultHost = "app:processes"

// Option adjusts what New builds.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	hosts    []runtime.HostConfig
	catalog  runtime.Catalog
	app      *entry.Registry
	terminal *lua.Terminal
	client   bool
	osEnv    func(string) (string, bool)
	srcDir   string
}

// WithApp runs an app: its hosts become the node's hosts and its Lua
// entries can be spawned.
func WithApp(reg *entry.Registry) Option { return func(o *options) { o.app = reg } }

// AsClient makes a clustered node a client (`run -x` nodes are): outside
// the Raft configuration, not counted for bootstrap_expect, resolving
// CONSISTENT and STRONG names from a copy of the table a member feeds it
// and sending its writes to the leader.
func AsClient() Option { return func(o *options) { o.client = true } }

// WithTerminal wires the terminal (stdin, stdout, stderr, arguments) that
// processes on terminal hosts reach through the io module.
func WithTerminal(t *lua.Terminal) Option { return func(o *options) { o.terminal = t } }

// WithOSEnv sets how env.variable entries read the OS environment (default
// os.LookupEnv).
func WithOSEnv(f func(string) (string, bool)) Option { return func(o *options) { o.osEnv = f } }

// WithLogger sets the logger; the default writes cfg.Log's format and level
// to stderr.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHosts sets the process hosts (default: one, DefaultHost).
func WithHosts(h ...runtime.HostConfig) Option { return func(o *options) { o.hosts = h } }

// WithSourceDir says which directory the app was loaded from: the tree
// node.watch watches and reloads.
func WithSourceDir(dir string) Option { return func(o *options) { o.srcDir = dir } }

// WithCatalog sets the catalog of Go-native entries (see runtime/native).
func WithCatalog(c runtime.Catalog) Option { return func(o *options) { o.catalog = c } }

// Node is one wippyd node.
type Node struct {
	cfg         Config
	log         *slog.Logger
	rt          *runtime.Runtime
	app         *entry.Registry
	lua         *lua.Engine
	luaCat      *luaCatalog     // the app's Lua entries; nil without an app
	srcDir      string          // where the app was loaded from ("" when not from a directory)
	watch       *watcher        // hot reload; nil when off
	terminals   map[string]bool // terminal host ids
	policies    map[string]*security.Policy
	startedAt   time.Time
	ready       atomic.Bool
	readyHooks  []func() bool   // extra readiness conditions (cluster, raft)
	statusHooks []func(*Status) // subsystems fill in their part of /v1/status
	extras      []metricSource  // subsystems' metrics
	services    *services       // nil without services
	cluster     *clusterParts   // nil on a standalone node
	groups      *groups.Groups  // process groups (pg scopes)
	pgScopes    []string        // the pg scope ids, in app order
	obs         *observer       // the admin endpoint's observer views
	admin       *admin

	// Stop cancels startCtx, so that a Start waiting for slow services
	// returns at once and the stop begins.
	startCtx    context.Context
	cancelStart context.CancelFunc

	mu       sync.Mutex // held by Start throughout
	started  bool
	stopOnce sync.Once
	stopDone chan struct{}
	exit     chan int // system.exit's code, for ExitRequested
	stopErr  error
}

// New validates cfg and builds a node; nothing runs until Start.
func New(cfg Config, opts ...Option) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = NewLogger(cfg.Log)
	}
	nd := &Node{cfg: cfg, log: o.logger, app: o.app, srcDir: o.srcDir, stopDone: make(chan struct{}), exit: make(chan int, 1)}
	nd.startCtx, nd.cancelStart = context.WithCancel(context.Background())
	catalog := o.catalog
	var terminals []string
	if o.app != nil {
		hosts, terms := hostsOf(o.app)
		if len(o.hosts) == 0 {
			o.hosts = hosts
		}
		for _, h := range o.hosts {
			if h.ID == ImplicitTerminal {
				terminals = append(terminals, h.ID)
			}
		}
		for _, t := range terms {
			terminals = append(terminals, t.ID)
		}
		nd.terminals = map[string]bool{}
		for _, id := range terminals {
			nd.terminals[id] = true
		}
		if o.osEnv == nil {
			o.osEnv = os.LookupEnv
		}
		lcat := newLuaCatalog(o.app)
		lcfg := lua.DefaultConfig()
		lcfg.Catalog = lcat
		lcfg.Terminal = o.terminal
		lcfg.TerminalHosts = terminals
		lcfg.Logger = o.logger
		lcfg.Env = newEnvStore(cfg.Env, o.app, o.osEnv)
		lcfg.MaxMemory, lcfg.HostMaxMemory = maxMemory(o.app)
		lcfg.Node = systemNode{nd}
		if cfg.Cluster.Enabled {
			lcfg.Cluster = clusterView{nd}
		}
		eng, err := lua.New(lcfg)
		if err != nil {
			return nil, err
		}
		nd.lua, nd.luaCat = eng, lcat
		catalog = &appCatalog{lua: lcat, eng: eng, native: o.catalog}
	}
	if len(o.hosts) == 0 {
		o.hosts = []runtime.HostConfig{{ID: DefaultHost}}
	}
	rcfg := runtime.DefaultConfig()
	if cfg.Cluster.Enabled {
		parts, err := newClusterParts(nd, cfg, o.client)
		if err != nil {
			return nil, fmt.Errorf("node: cluster: %w", err)
		}
		nd.cluster = parts
		rcfg.Router = parts.cl
		parts.ns = &nameService{raft: parts.names, eventual: parts.ev}
		rcfg.Names = parts.ns
		if parts.names != nil {
			rcfg.Locks = parts.names
			nd.readyHooks = append(nd.readyHooks, parts.leaderKnown)
		}

		nd.readyHooks = append(nd.readyHooks, parts.joined)
		nd.statusHooks = append(nd.statusHooks, parts.status)
		nd.extras = append(nd.extras, parts)
	}
	grp, err := newGroups(nd, o.app, nd.cluster)
	if err != nil {
		return nil, fmt.Errorf("node: process groups: %w", err)
	}
	nd.groups = grp
	nd.pgScopes = pgScopeIDs(o.app)
	rcfg.Groups = grp
	nd.extras = append(nd.extras, groupMetrics{grp})
	rcfg.StrictMode = cfg.Security.StrictMode
	if o.app != nil {
		table := policyTable(o.app)
		if err := applyHostPolicies(o.app, o.hosts, table); err != nil {
			return nil, fmt.Errorf("node: policies: %w", err)
		}
		rcfg.Policies = table
		nd.policies = table
	}
	rcfg.Node = cfg.Node.Name
	rcfg.Workers = cfg.Node.Workers
	rcfg.Hosts = o.hosts
	rcfg.Catalog = catalog
	rcfg.Logger = o.logger
	rt, err := runtime.New(rcfg)
	if err != nil {
		return nil, err
	}
	nd.rt = rt
	grp.Bind(rt)
	if nd.cluster != nil && nd.cluster.names != nil {
		nd.cluster.names.SetConflictCheck(nd.cluster.ns.conflict(rt.LocalName))
	}
	if nd.obs, err = newObserver(nd); err != nil {
		return nil, fmt.Errorf("node: observer: %w", err)
	}
	if o.app != nil {
		if nd.services, err = newServices(nd, o.app, catalog); err != nil {
			return nil, err
		}
		if nd.services != nil {
			nd.statusHooks = append(nd.statusHooks, nd.services.status)
			nd.extras = append(nd.extras, nd.services)
		}
	}
	return nd, nil
}

// NewLogger returns the structured logger cfg describes, on stderr.
func NewLogger(cfg LogConfig) *slog.Logger {
	ho := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, ho))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, ho))
}

// Runtime returns the node's process runtime.
func (n *Node) Runtime() *runtime.Runtime { return n.rt }

// Config returns the node's configuration.
func (n *Node) Config() Config { return n.cfg }

// Logger returns the node's logger.
func (n *Node) Logger() *slog.Logger { return n.log }

// Start starts the node: the runtime, the admin endpoint, the cluster,
// then the services with auto_start (Start returns once each is running,
// has failed or keeps restarting). A Stop during Start cuts it short:
// Start then returns an error wrapping ErrStopped and the stop goes on.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return ErrStarted
	}
	if n.startCtx.Err() != nil {
		return fmt.Errorf("%w before start", ErrStopped)
	}
	n.started = true
	n.startedAt = time.Now()
	for _, w := range n.cfg.Warnings() {
		n.log.Warn("unsafe configuration", "problem", w)
	}
	for _, w := range n.cfg.ignored {
		n.log.Warn("configuration not in effect", "problem", w)
	}
	n.rt.Start()
	n.groups.Start()
	n.obs.start()
	n.startWatch()
	// The admin endpoint serves from start-up, before the cluster forms.
	if n.cfg.Admin.Addr != "" {
		a, err := n.startAdmin(n.cfg.Admin)
		if err != nil {
			return fmt.Errorf("node: admin endpoint: %w", err)
		}
		n.admin = a
	}
	if n.cluster != nil && n.startCtx.Err() == nil {
		if err := n.cluster.start(n.cfg, n.rt); err != nil {
			return fmt.Errorf("node: cluster: %w", err)
		}
	}
	if n.services != nil && n.startCtx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.startCtx, serviceStartLimit)
		err := n.services.start(ctx)
		cancel()
		if err != nil && n.startCtx.Err() == nil {
			return fmt.Errorf("node: services: %w", err)
		}
	}
	if n.startCtx.Err() != nil {
		return fmt.Errorf("%w during start", ErrStopped)
	}
	n.ready.Store(true)
	n.log.Info("node started", "node", n.cfg.Node.Name, "version", Version)
	return nil
}

// Stop stops the node: services in reverse dependency order (each gets
// CANCEL and its stop_timeout), the cluster leave, then the runtime:
// every other process gets CANCEL and its host's cancel_timeout (1s on a
// host without one) to end, then is terminated; processes still running
// when ctx ends are terminated at once. A Stop while Start runs cuts the
// start short and begins once Start has returned. Stop gives up on
// processes that do not end when terminated (a Go-native callback that
// never returns) after a few seconds and reports them. Every call waits
// for the one stop to complete and returns its result.
func (n *Node) Stop(ctx context.Context) error {
	n.cancelStart()
	n.stopOnce.Do(func() {
		defer close(n.stopDone)
		n.mu.Lock() // wait for a Start in progress
		n.mu.Unlock()
		n.ready.Store(false)
		if n.watch != nil {
			n.watch.stop()
		}
		var err error
		if n.services != nil {
			err = n.services.stop(ctx)
		}
		if n.cluster != nil {
			n.cluster.leave() // peers see a leave, not a crash
		}
		if rerr := n.rt.Stop(ctx); rerr != nil && err == nil {
			err = rerr
		}
		n.groups.Stop()
		n.obs.stop(n.started)
		if n.cluster != nil {
			n.cluster.stop()
		}
		if n.admin != nil {
			if aerr := n.admin.stop(ctx); aerr != nil && err == nil {
				err = aerr
			}
		}
		if n.lua != nil {
			if ferr := n.lua.Flush(); ferr != nil && err == nil {
				err = ferr
			}
		}
		n.stopErr = err
		n.log.Info("node stopped", "node", n.cfg.Node.Name)
	})
	<-n.stopDone
	return n.stopErr
}

// AdminAddr returns the address the admin endpoint listens on ("" when off).
func (n *Node) AdminAddr() string {
	if n.admin == nil {
		return ""
	}
	return n.admin.ln.Addr().String()
}

// MembershipAddr returns the address this node's memberlist listens on
// ("" on a standalone node), for others' join_addrs.
func (n *Node) MembershipAddr() string {
	if n.cluster == nil || n.cluster.ml == nil {
		return ""
	}
	return n.cluster.ml.Local().Addr.String()
}

// Nodes returns the other nodes this node routes to now, sorted: an
// internode session with each is up and a send reaches it (Erlang's
// nodes()). Nil on a standalone node.
func (n *Node) Nodes() []string {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.cl.Nodes()
}

// WaitNodes waits until a send from this node reaches each named node:
// memberlist has seen it and the internode session to it is up (each is
// in Nodes). It returns nil then, an error wrapping ctx's when ctx ends
// first (naming the nodes still out of reach), ErrStopped when the node
// stops, and ErrStandalone on a node without a cluster.
//
// Start returns before the cluster has formed, and Ready means only that
// this node has seen a member (and, with Raft, knows a leader): wait with
// WaitNodes before a first send to another node. A send to a PID of a
// node that is known but not connected (not yet, or no longer) is dropped
// and counted (Status().Messages.Dropped["nodedown"]) and the sender gets
// no error, as in Erlang; a PID of a node never seen is a NOT_FOUND
// error. Links and monitors of such a PID fire at once with noconnection.
func (n *Node) WaitNodes(ctx context.Context, names ...string) error {
	if n.cluster == nil {
		return ErrStandalone
	}
	cl := n.cluster.cl
	for {
		changed := cl.Changed() // before the check: no change is missed
		var missing []string
		for _, name := range names {
			if name != n.cfg.Node.Name && !cl.PeerUp(name) {
				missing = append(missing, name)
			}
		}
		switch {
		case len(missing) == 0:
			return nil
		case cl.Stopped():
			return fmt.Errorf("%w: waiting for %v", ErrStopped, missing)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("node: waiting for %v: %w", missing, ctx.Err())
		}
	}
}

// Isolate cuts the node off its cluster the way a crash or a network
// partition does: memberlist and the internode transport shut at once,
// with no leave broadcast, so peers learn of it only by failed probes
// (their monitors of its processes fire with noconnection, a Raft leader
// among them is replaced by election). The node's processes keep running
// alone; Stop still stops them. It cannot be undone, and does nothing on
// a standalone node. It is a failure drill for tests and measurements.
func (n *Node) Isolate() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cluster != nil {
		n.cluster.isolate()
	}
}
