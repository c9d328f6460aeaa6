package node

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/benchmark"
)

// Version is the wippyd version, set at build time with
// -ldflags "-X github.com/wippyd/wippyd/node.Version=...".
var Version = "0.1.0-dev"

// ErrStarted is returned by Start on a node already started.
var ErrStarted = errors.New("node: already started")

// DefaultHost is the host every node has when its app defines none.
const DefaultHost = "app:processes"

// Option adjusts what New builds.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	hosts   []runtime.HostConfig
	catalog runtime.Catalog
}

// WithLogger sets the logger; the default writes cfg.Log's format and level
// to stderr.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHosts sets the process hosts (default: one, DefaultHost).
func WithHosts(h ...runtime.HostConfig) Option { return func(o *options) { o.hosts = h } }

// WithCatalog sets the catalog that resolves entry ids for spawns.
func WithCatalog(c runtime.Catalog) Option { return func(o *options) { o.catalog = c } }

// Node is one wippyd node.
type Node struct {
	cfg     Config
	log     *slog.Logger
	rt      *runtime.Runtime
	mu      sync.Mutex
	started bool
	stopped bool
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
	if len(o.hosts) == 0 {
		o.hosts = []runtime.HostConfig{{ID: DefaultHost}}
	}
	rcfg := runtime.DefaultConfig()
	rcfg.Node = cfg.Node.Name
	rcfg.Workers = cfg.Node.Workers
	rcfg.Hosts = o.hosts
	rcfg.Catalog = o.catalog
	rcfg.Logger = o.logger
	rt, err := runtime.New(rcfg)
	if err != nil {
		return nil, err
	}
	return &Node{cfg: cfg, log: o.logger, rt: rt}, nil
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

// Start starts the node.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return ErrStarted
	}
	n.started = true
	n.rt.Start()
	n.log.Info("node started", "node", n.cfg.Node.Name, "version", Version)
	return nil
}

// Stop stops the node: processes get CANCEL and until ctx is done to end,
// then are terminated. Stop is idempotent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	n.mu.Unlock()
	err := n.rt.Stop(ctx)
	n.log.Info("node stopped", "node", n.cfg.Node.Name)
	return err
}

// BenchResult is one figure of the built-in benchmark suite.
type BenchResult = benchmark.Result

// Bench runs the built-in benchmark suite (quick: small sizes) `rounds`
// times and returns the median of each figure.
func Bench(quick bool, rounds int) ([]BenchResult, error) {
	o := benchmark.Full()
	if quick {
		o = benchmark.Quick()
	}
	return benchmark.RunAll(benchmark.Native, o, rounds)
}
