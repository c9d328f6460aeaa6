package node

import (
	"errors"
	"fmt"
	"github.com/wippyd/wippyd/registry/raftreg"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wippyd/wippyd/runtime/entry"
	"github.com/wippyd/wippyd/runtime/sched"
)

var (
	// ErrBadConfig wraps every configuration problem LoadConfig and
	// Validate report.
	ErrBadConfig = errors.New("node: bad config")
	// ErrUnknownKey: a config file key, WIPPY_* variable or --set key that
	// names no setting. It is reported wrapped in ErrBadConfig as well.
	ErrUnknownKey = errors.New("node: unknown config key")
)

// Config is a node's configuration (SPEC section 10). Build it with
// DefaultConfig or LoadConfig and check it with Validate.
type Config struct {
	Node     NodeConfig
	Security SecurityConfig
	// Env holds values for env.get, by name (case kept). Default: empty.
	Env     map[string]string
	Log     LogConfig
	Admin   AdminConfig
	Cluster ClusterConfig

	// ignored are the sections of Wippy's configuration that the file had
	// and wippyd does not use, as "file:line: section" (LoadConfig).
	ignored []string
}

// NodeConfig is the node section.
type NodeConfig struct {
	// Name is the node's unique name, the node part of its PIDs. Default:
	// the hostname. It may not contain '@', '|', '{', '}' or spaces.
	Name string
	// Workers is the scheduler's worker count, at most 1024
	// (sched.MaxWorkers). Default 0 = GOMAXPROCS.
	Workers int
	// Watch reloads the source tree when its files change (hot reload:
	// `wippyd run --watch` sets it; see docs/semantics.md). It needs the
	// tree's directory (WithSourceDir). Default false: the code loaded at
	// start runs until process.upgrade(nil) reads a file again.
	Watch bool
}

// SecurityConfig is the security section.
type SecurityConfig struct {
	// StrictMode denies an action no policy decides. Default false: allow.
	StrictMode bool
}

// LogConfig is the log section. Logs go to stderr.
type LogConfig struct {
	// Level is debug, info, warn or error. Default info.
	Level string
	// Format is text or json (log/slog handlers). Default text.
	Format string
}

// SlogLevel returns Level as a slog.Level (info for an unknown level).
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// AdminConfig is the admin section.
type AdminConfig struct {
	// Addr is the HTTP listen address of /healthz, /readyz, /metrics and
	// /v1/status. Default "127.0.0.1:7960"; "" turns it off; port 0 picks a
	// free port. LoadOptions.OneShot makes the default "". An address
	// other than the loopback needs a token.
	Addr string
	// Token is the bearer token every mutating call must carry
	// (`Authorization: Bearer <token>`), and every /v1 read when Addr is
	// not the loopback; /healthz, /readyz and /metrics stay open. At least
	// 16 printable characters. Default "": mutating calls are taken from
	// the loopback only, same-origin. Prefer TokenFile.
	Token string
	// TokenFile names a file holding the token (surrounding whitespace
	// ignored). Default "". Not both.
	TokenFile string
}

// ClusterConfig is the cluster section.
type ClusterConfig struct {
	// Enabled joins a cluster. Default false: a standalone node.
	Enabled bool
	// Label separates clusters sharing a network: it is memberlist's
	// label and the internode handshake's cluster id, and nodes with
	// another label are refused, so two clusters never merge. At most 255
	// bytes. Default "": no label of one's own (every such node uses the
	// built-in id "wippy"). The key was cluster.name before; cluster.name
	// is now the node's name, as in Wippy.
	Label string
	// Insecure lets a cluster without a secret listen beyond the loopback,
	// for a network where every host is trusted; logged as a warning at
	// every start. Default false: such a node refuses to start.
	Insecure bool
	// FailureDomain is this node's zone or rack, advertised in gossip so
	// that voters are spread over distinct domains first. Default "".
	FailureDomain string
	Membership    MembershipConfig
	Internode     InternodeConfig
	Raft          RaftConfig
}

// MembershipConfig configures discovery and failure detection (memberlist).
type MembershipConfig struct {
	// BindAddr is the IP address memberlist listens on. Default "0.0.0.0".
	BindAddr string
	// BindPort is memberlist's UDP and TCP port. Default 7946; 0 picks one.
	BindPort int
	// AdvertiseAddr is the address other nodes reach this one at, without
	// a port. Default "": memberlist picks one from BindAddr.
	AdvertiseAddr string
	// JoinAddrs are host:port of any members to join through (this node's
	// own address among them is ignored). Default none.
	JoinAddrs []string
	// Profile picks memberlist timings: lan (default), local or fast
	// (probe interval 200ms, probe timeout 100ms, suspicion multiplier 2:
	// a crash detected in under 3s, more false suspicion under load). The
	// timing keys below, when set, override the profile's value.
	Profile string
	// GossipInterval is the gossip dissemination period; PushPullInterval
	// the full state sync period; ProbeInterval the failure-detection
	// probe cycle; ProbeTimeout the ack wait per probe; TCPTimeout the TCP
	// fallback probe's and push/pull's timeout; SuspicionMult the
	// suspicion timeout multiplier. 0: the profile's (lan: 200ms, 30s,
	// 1s, 500ms, 10s, 4). Longer probes suspect less on slow links and
	// detect a crash later.
	GossipInterval   time.Duration
	PushPullInterval time.Duration
	ProbeInterval    time.Duration
	ProbeTimeout     time.Duration
	TCPTimeout       time.Duration
	SuspicionMult    int
	// DeadNodeReclaimTime is how long a dead node's name stays bound to
	// its address before another address may take it. Default 0: at once
	// (a restarted node often comes back on a new address; names are
	// unique by configuration). Wippy's default is 30s.
	DeadNodeReclaimTime time.Duration
	// SecretKey is the cluster secret, base64 of 16, 24 or 32 bytes (make
	// one with `head -c 32 /dev/urandom | base64`). Keys derived from it
	// encrypt and authenticate gossip and every internode connection.
	// Default "": neither. It shows in the process list or environment it
	// is given in: prefer SecretFile.
	SecretKey string
	// SecretFile names a file holding the secret in SecretKey's form
	// (surrounding whitespace ignored). Read at start; it should be
	// readable by the node's user only. Default "". Not both.
	SecretFile string
}

// InternodeConfig configures the TCP transport between nodes.
type InternodeConfig struct {
	// BindAddr is the IP address the internode transport listens on.
	// Default "": Membership.BindAddr (Wippy: 0.0.0.0).
	BindAddr string
	// Port is the TCP port for process traffic, Raft and registry
	// forwarding (the key cluster.internode.bind_port). Default 0: with
	// AutoPort, the first free port of 7950-7959, else an ephemeral one. The port in use is advertised in
	// gossip, so peers always reach it.
	Port int
	// AutoPort, with Port 0, tries 7950-7959 before an ephemeral port.
	// False: Port 0 takes an ephemeral port at once. Default true.
	AutoPort bool
	// AdvertiseAddr is an address (IP or DNS name, no port) peers may dial
	// to reach the internode port, for NAT; it is sent in the transport
	// handshake. Default "": Membership.AdvertiseAddr if set, else the
	// address the connection comes from.
	AdvertiseAddr string
	// AdvertisePort is the port that goes with AdvertiseAddr. Default 0:
	// the bound port. Needs AdvertiseAddr.
	AdvertisePort int
	// MaxFrame is the largest frame accepted; a peer sending a larger one
	// is disconnected. Default 16MiB.
	MaxFrame Size
	// SendQueueBytes bounds, per peer, the frames not yet sent or not yet
	// acknowledged, kept across reconnects. Past it the session is
	// abandoned and its messages counted as dropped. Default 64MiB.
	SendQueueBytes Size
	// OneWay sends to each peer only on the connection this node dialed,
	// as nodes did before one connection carried both directions (see
	// transport.Config.OneWay). Default false.
	OneWay bool
}

// RaftConfig configures the cluster-wide name registry, a bounded Raft
// group (Wippy's cluster guide): up to MaxVoters voters, up to
// MaxStandbys standbys (non-voters kept replicated, promoted when a voter
// goes), and every other node a client outside the Raft configuration.
type RaftConfig struct {
	// Enabled runs the Raft registry on this node. Default true (in a
	// cluster). False: the node runs no Raft and keeps no copy of the
	// name table (CONSISTENT and STRONG names fail on it); gossip lists it
	// as a client. Role "client" is the usual way to keep a node out of
	// Raft.
	Enabled bool
	// Role is "server" (a Raft node: voter, standby or, beyond both caps,
	// client, as the leader places it) or "client" (never in the Raft
	// configuration: it resolves names from a copy a member feeds it and
	// forwards every write). Default "server".
	Role string
	// Eligible: this node may be chosen as a voter (and counts for
	// BootstrapExpect). False keeps a server a standby or client. Advertised
	// in gossip. Default true.
	Eligible bool
	// Priority orders the voter-eligible nodes when voter slots are filled:
	// lower is preferred, ties broken by node name. Advertised in gossip.
	// Default 100.
	Priority int
	// DataDir holds the Raft log and stable store. Default "./data/raft".
	DataDir string
	// InMemory keeps the Raft log, stable store and snapshots in memory
	// instead of DataDir: nothing is written, and a node that restarts
	// rejoins with no state. For nodes embedded in tests (LoopbackConfig);
	// not a config key. DataDir must then be "". Default false.
	InMemory bool
	// BootstrapExpect is how the cluster forms: 0 never bootstraps (only
	// joins a cluster that exists), 1 bootstraps this node alone at once,
	// N waits until N voter-eligible members are stably visible in gossip
	// and bootstraps them together. Set the same N on every initial node.
	// Default 1 (Wippy's): a node started alone forms a cluster of its own
	// at once, so several initial nodes must say how many they are. At
	// most MaxVoters.
	BootstrapExpect int
	// MaxVoters bounds the voters; it must be odd so that a majority is
	// well defined. More voters survive more failures but make every write
	// wait for more disks. Default 5.
	MaxVoters int
	// MaxStandbys bounds the standbys: non-voters kept replicated and warm
	// for promotion. Nodes beyond MaxVoters+MaxStandbys are clients.
	// Default 4.
	MaxStandbys int
	// ReconcileDebounce coalesces membership changes before the leader's
	// voter reconciler runs. Longer rides out flapping links; shorter
	// replaces a lost voter sooner. Default 2s.
	ReconcileDebounce time.Duration
	// ReconcileTimeout bounds one reconcile pass. Default 2s.
	ReconcileTimeout time.Duration
	// HeartbeatTimeout is how long a follower waits for the leader before
	// starting an election; ElectionTimeout is a candidate's (at least
	// HeartbeatTimeout). Failover takes about twice HeartbeatTimeout;
	// shorter means more needless elections on a loaded host. Defaults
	// 200ms and 200ms (Wippy: 3s and 3s; wippyd's were measured for
	// failover under 1s).
	HeartbeatTimeout time.Duration
	ElectionTimeout  time.Duration
	// CommitTimeout is the idle leader's heartbeat cadence. Default 50ms
	// (Wippy: 500ms).
	CommitTimeout time.Duration
	// SnapshotThreshold is the log entries since the last snapshot that
	// make a new one; SnapshotInterval how often that is checked;
	// SnapshotRetain how many snapshots are kept; TrailingLogs the entries
	// kept after a snapshot so that a briefly absent follower catches up
	// from the log. Defaults 8192, 2m, 3, 10240.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	SnapshotRetain    int
	TrailingLogs      uint64
	// MaxAppendEntries bounds the entries of one AppendEntries RPC.
	// Default 16.
	MaxAppendEntries int
	// LeaderProbeInterval is how often a node checks that it can reach the
	// leader; LeaderProbeGrace how many failed checks in a row declare the
	// leader unreachable. Defaults 3s and 3.
	LeaderProbeInterval time.Duration
	LeaderProbeGrace    int
	// ApplyTimeout bounds a register or unregister: past it the call
	// fails with UNAVAILABLE. Default 5s.
	ApplyTimeout time.Duration
}

// Raft roles (cluster.raft.role).
const (
	RoleServer = "server"
	RoleClient = "client"
)

// Client reports whether this node stays outside the Raft configuration
// (role client, or Raft disabled) and so needs no DataDir.
func (r RaftConfig) Client() bool { return r.Role == RoleClient || !r.Enabled }

// Size is a byte count. Its text form is a number of bytes with an
// optional KiB, MiB or GiB suffix, e.g. "16MiB".
type Size int64

// Size units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

// String formats s with the largest unit that divides it.
func (s Size) String() string {
	for _, u := range []struct {
		size Size
		name string
	}{{GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s != 0 && s%u.size == 0 {
			return strconv.FormatInt(int64(s/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// ParseSize reads a Size: bytes, or a number with KiB, MiB or GiB.
func ParseSize(text string) (Size, error) {
	n, err := entry.ParseSize(text)
	return Size(n), err
}

// Defaults.
const (
	DefaultAdminAddr       = "127.0.0.1:7960"
	DefaultClusterLabel    = "wippy" // the id nodes without a cluster.label share
	DefaultBindAddr        = "0.0.0.0"
	DefaultBindPort        = 7946
	DefaultProfile         = "lan"
	DefaultInternodePort   = 7950 // the first port AutoPort tries
	InternodePortRange     = 10   // AutoPort tries DefaultInternodePort and the 9 after it
	DefaultMaxFrame        = 16 * MiB
	DefaultSendQueueBytes  = 64 * MiB
	DefaultRaftDataDir     = "./data/raft"
	DefaultBootstrapExpect = 1
	DefaultMaxVoters       = 5
	DefaultMaxStandbys     = 4
	DefaultPriority        = 100
	DefaultApplyTimeout    = 5 * time.Second
)

// DefaultConfig returns the defaults of SPEC section 10. The node name is
// the hostname ("wippyd" when the hostname cannot be read).
func DefaultConfig() Config {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "wippyd"
	}
	return Config{
		Node:  NodeConfig{Name: name},
		Env:   map[string]string{},
		Log:   LogConfig{Level: "info", Format: "text"},
		Admin: AdminConfig{Addr: DefaultAdminAddr},
		Cluster: ClusterConfig{
			Membership: MembershipConfig{BindAddr: DefaultBindAddr, BindPort: DefaultBindPort,
				JoinAddrs: []string{}, Profile: DefaultProfile},
			Internode: InternodeConfig{AutoPort: true, MaxFrame: DefaultMaxFrame,
				SendQueueBytes: DefaultSendQueueBytes},
			Raft: defaultRaft(),
		},
	}
}

func defaultRaft() RaftConfig {
	return RaftConfig{Enabled: true, Role: RoleServer, Eligible: true, Priority: DefaultPriority,
		DataDir: DefaultRaftDataDir, BootstrapExpect: DefaultBootstrapExpect,
		MaxVoters: DefaultMaxVoters, MaxStandbys: DefaultMaxStandbys,
		ReconcileDebounce: 2 * time.Second, ReconcileTimeout: 2 * time.Second,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		CommitTimeout: 50 * time.Millisecond, SnapshotThreshold: 8192, SnapshotInterval: 2 * time.Minute,
		SnapshotRetain: 3, TrailingLogs: 10240, MaxAppendEntries: 16,
		LeaderProbeInterval: 3 * time.Second, LeaderProbeGrace: 3, ApplyTimeout: DefaultApplyTimeout}
}

// LoopbackConfig returns the configuration of a node embedded in a Go
// program or a test, named name: nothing listens beyond the loopback and
// nothing is written to disk. Its cluster section is ready for a cluster
// of nodes in one process or on one machine (127.0.0.1, ephemeral ports,
// the fast membership profile, Raft in memory expecting three voters), but
// off: set Cluster.Enabled and, on all nodes but the first, JoinAddrs
// (another node's MembershipAddr) to form one. No admin endpoint (set
// Admin.Addr, e.g. "127.0.0.1:0"), and logs at warn: warnings and errors
// only. Everything else is DefaultConfig's.
func LoopbackConfig(name string) Config {
	c := DefaultConfig()
	c.Node.Name = name
	c.Log.Level = "warn"
	c.Admin.Addr = ""
	m := &c.Cluster.Membership
	m.BindAddr, m.BindPort, m.Profile = "127.0.0.1", 0, "fast"
	c.Cluster.Internode.AutoPort = false
	c.Cluster.Raft.DataDir, c.Cluster.Raft.InMemory = "", true
	c.Cluster.Raft.BootstrapExpect = 3
	return c
}

// Validate checks every setting, the cluster ones too when the cluster is
// off, and returns all problems joined, wrapped in ErrBadConfig.
func (c Config) Validate() error {
	if errs := c.problems(); len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrBadConfig, errors.Join(errs...))
	}
	return nil
}

func (c Config) problems() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Node.Name == "" {
		bad("node.name", "must not be empty")
	} else if strings.ContainsAny(c.Node.Name, "@|{} \t\r\n") {
		bad("node.name", "%q may not contain '@', '|', '{', '}' or spaces", c.Node.Name)
	}
	if c.Node.Workers < 0 || c.Node.Workers > sched.MaxWorkers {
		bad("node.workers", "must be between 0 (one per CPU) and %d, got %d", sched.MaxWorkers, c.Node.Workers)
	}
	for name := range c.Env {
		if err := checkEnvName(name); err != nil {
			bad("env."+printable(name), "%v", err)
		}
	}
	if err := checkEnum(c.Log.Level, logLevels); err != nil {
		bad("log.level", "%v", err)
	}
	if err := checkEnum(c.Log.Format, logFormats); err != nil {
		bad("log.format", "%v", err)
	}
	if c.Admin.Addr != "" {
		if err := checkHostPort(c.Admin.Addr, true); err != nil {
			bad("admin.addr", "%v", err)
		}
	}
	c.adminTokenProblems(bad)
	cl := c.Cluster
	if len(cl.Label) > 255 {
		bad("cluster.label", "must be at most 255 bytes, got %d", len(cl.Label))
	}
	m := cl.Membership
	if net.ParseIP(m.BindAddr) == nil {
		bad("cluster.membership.bind_addr", "%q is not an IP address", m.BindAddr)
	}
	if err := checkPort(m.BindPort); err != nil {
		bad("cluster.membership.bind_port", "%v", err)
	}
	if m.AdvertiseAddr != "" {
		if err := checkAdvertise(m.AdvertiseAddr); err != nil {
			bad("cluster.membership.advertise_addr", "%v", err)
		}
	}
	for i, a := range m.JoinAddrs {
		if err := checkHostPort(a, false); err != nil {
			bad(fmt.Sprintf("cluster.membership.join_addrs[%d]", i), "%v", err)
		}
	}
	if err := checkEnum(m.Profile, profiles); err != nil {
		bad("cluster.membership.profile", "%v", err)
	}
	c.clusterKeyProblems(bad)
	c.membershipTimingProblems(bad)
	in := cl.Internode
	if in.BindAddr != "" && net.ParseIP(in.BindAddr) == nil {
		bad("cluster.internode.bind_addr", "%q is not an IP address", in.BindAddr)
	}
	if err := checkPort(in.Port); err != nil {
		bad("cluster.internode.bind_port", "%v", err)
	}
	if in.AdvertiseAddr != "" {
		if err := checkAdvertise(in.AdvertiseAddr); err != nil {
			bad("cluster.internode.advertise_addr", "%v", err)
		}
	}
	if err := checkPort(in.AdvertisePort); err != nil {
		bad("cluster.internode.advertise_port", "%v", err)
	} else if in.AdvertisePort != 0 && in.AdvertiseAddr == "" {
		bad("cluster.internode.advertise_port", "needs cluster.internode.advertise_addr")
	}
	if in.MaxFrame < 1*KiB {
		bad("cluster.internode.max_frame", "must be at least 1KiB, got %s", in.MaxFrame)
	}
	if in.SendQueueBytes < in.MaxFrame {
		bad("cluster.internode.send_queue_bytes", "must be at least max_frame (%s), got %s", in.MaxFrame, in.SendQueueBytes)
	}
	r := cl.Raft
	if !r.Client() && r.DataDir == "" && !r.InMemory {
		bad("cluster.raft.data_dir", "must not be empty when raft is enabled")
	}
	if r.InMemory && r.DataDir != "" {
		bad("cluster.raft.data_dir", "%q is set, but the Raft state is kept in memory (RaftConfig.InMemory): clear one", r.DataDir)
	}
	c.raftProblems(bad)
	return errs
}

func (c Config) membershipTimingProblems(bad func(key, format string, args ...any)) {
	m := c.Cluster.Membership
	const p = "cluster.membership."
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"gossip_interval", m.GossipInterval}, {"push_pull_interval", m.PushPullInterval},
		{"probe_interval", m.ProbeInterval}, {"probe_timeout", m.ProbeTimeout}, {"tcp_timeout", m.TCPTimeout},
		{"dead_node_reclaim_time", m.DeadNodeReclaimTime}} {
		if d.v < 0 {
			bad(p+d.key, "must not be negative (0: the profile's), got %s", d.v)
		}
	}
	if m.SuspicionMult < 0 {
		bad(p+"suspicion_mult", "must not be negative (0: the profile's), got %d", m.SuspicionMult)
	}
	if m.ProbeInterval > 0 && m.ProbeTimeout > m.ProbeInterval {
		bad(p+"probe_timeout", "%s exceeds probe_interval (%s)", m.ProbeTimeout, m.ProbeInterval)
	}
}

func (c Config) raftProblems(bad func(key, format string, args ...any)) {
	r := c.Cluster.Raft
	const p = "cluster.raft."
	if err := checkEnum(r.Role, raftRoles); err != nil {
		bad(p+"role", "%v", err)
	}
	if r.BootstrapExpect < 0 {
		bad(p+"bootstrap_expect", "must be 0 (join only), 1 (alone) or the initial voter count, got %d", r.BootstrapExpect)
	}
	if r.MaxVoters < 1 || r.MaxVoters%2 == 0 {
		bad(p+"max_voters", "must be odd and at least 1 (a majority of an even count is no safer), got %d", r.MaxVoters)
	} else if r.BootstrapExpect > r.MaxVoters {
		bad(p+"bootstrap_expect", "%d exceeds max_voters (%d)", r.BootstrapExpect, r.MaxVoters)
	}
	if r.MaxStandbys < 0 {
		bad(p+"max_standbys", "must not be negative, got %d", r.MaxStandbys)
	}
	if r.Priority < 0 {
		bad(p+"priority", "must not be negative, got %d", r.Priority)
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(p+key, "must be positive, got %s", d)
		}
	}
	positive("reconcile_debounce", r.ReconcileDebounce)
	positive("reconcile_timeout", r.ReconcileTimeout)
	positive("commit_timeout", r.CommitTimeout)
	positive("snapshot_interval", r.SnapshotInterval)
	positive("leader_probe_interval", r.LeaderProbeInterval)
	positive("apply_timeout", r.ApplyTimeout)
	if r.HeartbeatTimeout < 10*time.Millisecond {
		bad(p+"heartbeat_timeout", "must be at least 10ms, got %s", r.HeartbeatTimeout)
	} else if r.ElectionTimeout < r.HeartbeatTimeout {
		bad(p+"election_timeout", "must be at least heartbeat_timeout (%s), got %s", r.HeartbeatTimeout, r.ElectionTimeout)
	}
	if r.SnapshotThreshold == 0 {
		bad(p+"snapshot_threshold", "must be at least 1")
	}
	if r.SnapshotRetain < 1 {
		bad(p+"snapshot_retain", "must be at least 1, got %d", r.SnapshotRetain)
	}
	if r.MaxAppendEntries < 1 || r.MaxAppendEntries > raftreg.MaxAppendEntriesLimit {
		bad(p+"max_append_entries", "must be 1 to %d, got %d", raftreg.MaxAppendEntriesLimit, r.MaxAppendEntries)
	}
	if r.LeaderProbeGrace < 1 {
		bad(p+"leader_probe_grace", "must be at least 1, got %d", r.LeaderProbeGrace)
	}
}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	profiles   = []string{"lan", "local", "fast"}
	raftRoles  = []string{RoleServer, RoleClient}
)

func checkEnum(v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

func checkPort(p int) error {
	if p < 0 || p > 65535 {
		return fmt.Errorf("port %d is outside 0..65535", p)
	}
	return nil
}

// checkHostPort checks host:port; with needPort false a bare host is
// allowed too. Port 0 is allowed only when needPort (a listen address).
func checkHostPort(addr string, needPort bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !needPort && addr != "" && !strings.ContainsAny(addr, " \t/") && strings.Count(addr, ":") == 0 {
			return nil
		}
		return fmt.Errorf("%q is not host:port", addr)
	}
	if !needPort && host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (!needPort && n == 0) {
		return fmt.Errorf("%q has a bad port", addr)
	}
	return nil
}

func checkAdvertise(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return fmt.Errorf("%q must not have a port (the port is bind_port)", addr)
	}
	if strings.ContainsAny(addr, " \t/") {
		return fmt.Errorf("%q is not an address", addr)
	}
	return nil
}

func checkEnvName(name string) error {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return fmt.Errorf("bad variable name %q", name)
	}
	return nil
}
