package membership

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile names a set of memberlist timings.
type Profile string

const (
	// ProfileLAN is memberlist's DefaultLANConfig: probe every 1s, probe
	// timeout 500ms, suspicion multiplier 4. Conservative; a crash is
	// detected in a few seconds (see the package doc for measurements).
	ProfileLAN Profile = "lan"
	// ProfileLocal is memberlist's DefaultLocalConfig, meant for loopback:
	// probe timeout 200ms, suspicion multiplier 3, faster gossip.
	ProfileLocal Profile = "local"
	// ProfileFast is ProfileLAN with probe interval 200ms, probe timeout
	// 100ms and suspicion multiplier 2: a crash is detected in under 3s,
	// at the cost of more probe traffic and more false suspicion under
	// load.
	ProfileFast Profile = "fast"
)

// Config configures a Membership. Start from DefaultConfig and set Name,
// the Meta fields and JoinAddrs; New validates a copy.
type Config struct {
	// Name is this node's name, unique in the cluster. Required, 1..255
	// bytes.
	Name string
	// ClusterName is used as memberlist's label: it prefixes (and, with a
	// SecretKey, authenticates) every packet and stream, and nodes with
	// another label are refused, so two clusters on one network never
	// merge. 1..255 bytes. Default "wippy".
	ClusterName string

	// BindAddr is the IP address memberlist listens on (UDP and TCP).
	// Default "0.0.0.0". Ignored when Transport is set.
	BindAddr string
	// BindPort is memberlist's UDP and TCP port; 0 picks a free one,
	// reported by Local().Addr after Start. Default 7946. Ignored when
	// Transport is set.
	BindPort int
	// AdvertiseAddr is the IP address other nodes reach this one at; its
	// port is the bound port. Default "": memberlist picks BindAddr, or a
	// private address of this host when BindAddr is unspecified.
	AdvertiseAddr string
	// JoinAddrs are host:port of any members to join through, tried at
	// Start and then every RejoinInterval. This node's own address among
	// them is skipped (a literal IP only; a host name that resolves to this
	// node makes memberlist contact itself, which is harmless). A missing
	// port means the bound port. Default none.
	JoinAddrs []string
	// Profile picks the memberlist timings. Default ProfileLAN.
	Profile Profile
	// Timings that override the profile's when non-zero: the gossip
	// period, the full state sync period, the probe cycle, the ack wait
	// per probe, the TCP timeout (fallback probe, push/pull) and the
	// suspicion multiplier. Default 0: the profile's.
	GossipInterval   time.Duration
	PushPullInterval time.Duration
	ProbeInterval    time.Duration
	ProbeTimeout     time.Duration
	TCPTimeout       time.Duration
	SuspicionMult    int
	// DeadNodeReclaimTime is how long a dead node's name stays tied to its
	// address before a new address may take it. Default 0: at once (see
	// memberlistConfig).
	DeadNodeReclaimTime time.Duration
	// SecretKey is the cluster secret, 16, 24 or 32 bytes. Gossip is
	// encrypted and authenticated with AES-256-GCM (memberlist's keyring)
	// under a key derived from it (HKDF-SHA256, label "wippyd gossip v1"),
	// not the secret itself, so the gossip key and the transport's keys
	// are never one key; nodes without the same secret cannot join.
	// Empty: gossip in clear. Default empty.
	SecretKey []byte

	// Meta is advertised to every node. BootID 0 draws a random non-zero
	// value in New. ProtoMin..ProtoMax must be a non-empty range (defaults
	// 1..1).
	Meta Meta

	// RejoinInterval is how often the node retries the dead members it
	// still remembers and JoinAddrs, so a healed partition merges without
	// an operator. Shorter merges sooner at the cost of a TCP push/pull per
	// address per tick. Default 10s.
	RejoinInterval time.Duration
	// ReapAfter is how long a dead or left member stays in the table (and,
	// when dead, keeps being retried) before it is dropped with
	// EventReaped. Default 24h.
	ReapAfter time.Duration
	// EventQueue bounds the events waiting for subscribers. When it is
	// full, events are dropped, counted in Stats and in the next delivered
	// Event.Missed: memberlist's callbacks are never blocked. Default 1024.
	EventQueue int

	// Logger receives this package's logs, and memberlist's own log lines
	// at debug level (attribute "memberlist_level" keeps memberlist's
	// level). memberlist's failed-probe line is read for suspicion
	// whatever the level (see the package doc). Default: discard.
	Logger *slog.Logger
	// Transport replaces memberlist's UDP/TCP transport (tests wrap
	// memberlist.NetTransport to cut the network). Its FinalAdvertiseAddr
	// decides the advertised address; with AdvertiseAddr set, BindPort must
	// be the transport's port. Nil: memberlist's NetTransport on
	// BindAddr:BindPort. Shutdown shuts it down.
	Transport memberlist.Transport

	// tune, for tests in this package, adjusts the memberlist config last.
	tune func(*memberlist.Config)
}

// DefaultConfig returns a Config with every default filled in and Name
// empty.
func DefaultConfig() Config {
	return Config{
		ClusterName:    "wippy",
		BindAddr:       "0.0.0.0",
		BindPort:       7946,
		Profile:        ProfileLAN,
		Meta:           Meta{ProtoMin: 1, ProtoMax: 1},
		RejoinInterval: 10 * time.Second,
		ReapAfter:      24 * time.Hour,
		EventQueue:     1024,
	}
}

// Validate reports the first invalid field, wrapped in ErrInvalidConfig.
// A zero Meta.BootID is valid (New draws one).
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Name == "" || len(c.Name) > 255:
		return bad("name must be 1..255 bytes, got %d", len(c.Name))
	case c.ClusterName == "" || len(c.ClusterName) > memberlist.LabelMaxSize:
		return bad("cluster name must be 1..%d bytes, got %d", memberlist.LabelMaxSize, len(c.ClusterName))
	case c.BindPort < 0 || c.BindPort > 65535:
		return bad("bind port %d out of range", c.BindPort)
	case len(c.SecretKey) != 0 && len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32:
		return bad("secret key must be 16, 24 or 32 bytes, got %d", len(c.SecretKey))
	case c.RejoinInterval <= 0:
		return bad("rejoin interval must be positive, got %v", c.RejoinInterval)
	case c.ReapAfter <= 0:
		return bad("reap-after must be positive, got %v", c.ReapAfter)
	case c.EventQueue <= 0:
		return bad("event queue must be positive, got %d", c.EventQueue)
	case c.GossipInterval < 0 || c.PushPullInterval < 0 || c.ProbeInterval < 0 || c.ProbeTimeout < 0 ||
		c.TCPTimeout < 0 || c.SuspicionMult < 0 || c.DeadNodeReclaimTime < 0:
		return bad("negative timing")
	case c.Meta.RaftRole > RoleNonVoter:
		return bad("unknown raft role %v", c.Meta.RaftRole)
	case len(c.Meta.FailureDomain) > MaxFailureDomain:
		return bad("failure domain of %d bytes, at most %d", len(c.Meta.FailureDomain), MaxFailureDomain)
	}
	if c.Transport == nil {
		if _, err := netip.ParseAddr(c.BindAddr); err != nil {
			return bad("bind address %q is not an IP address", c.BindAddr)
		}
	}
	if c.AdvertiseAddr != "" {
		if _, err := netip.ParseAddr(c.AdvertiseAddr); err != nil {
			return bad("advertise address %q is not an IP address", c.AdvertiseAddr)
		}
	}
	for i, a := range c.JoinAddrs {
		if a == "" {
			return bad("join address %d is empty", i)
		}
	}
	if _, err := profileConfig(c.Profile); err != nil {
		return bad("%v", err)
	}
	m := c.Meta
	if m.BootID == 0 {
		m.BootID = 1 // drawn by New
	}
	if err := m.check(); err != nil {
		return bad("meta: %v", err)
	}
	return nil
}

// profileConfig returns the memberlist timings of a profile.
func profileConfig(p Profile) (*memberlist.Config, error) {
	switch p {
	case ProfileLAN:
		return memberlist.DefaultLANConfig(), nil
	case ProfileLocal:
		return memberlist.DefaultLocalConfig(), nil
	case ProfileFast:
		mc := memberlist.DefaultLANConfig()
		mc.ProbeInterval = 200 * time.Millisecond
		mc.ProbeTimeout = 100 * time.Millisecond
		mc.SuspicionMult = 2
		return mc, nil
	}
	return nil, fmt.Errorf("unknown profile %q (want lan, local or fast)", p)
}

// gossipKey derives memberlist's key from the cluster secret.
func gossipKey(secret []byte) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, "wippyd gossip v1", 32)
	if err != nil {
		panic(err) // only for a key length SHA-256 cannot give
	}
	return k
}

// memberlistConfig builds memberlist's config from c (validated, BootID
// drawn) and the delegates.
func (c *Config) memberlistConfig(d *delegate) *memberlist.Config {
	mc, _ := profileConfig(c.Profile)
	mc.Name = c.Name
	mc.Label = c.ClusterName
	mc.BindAddr, mc.BindPort = c.BindAddr, c.BindPort
	mc.AdvertiseAddr, mc.AdvertisePort = c.AdvertiseAddr, c.BindPort
	mc.Transport = c.Transport
	if len(c.SecretKey) > 0 {
		mc.SecretKey = gossipKey(c.SecretKey)
	}
	// All nodes run this code: speak memberlist's newest protocol (nacks
	// from indirect probes make suspicion more accurate).
	mc.ProtocolVersion = memberlist.ProtocolVersionMax
	// The user messages of this package (message.go), version 1.
	mc.DelegateProtocolVersion, mc.DelegateProtocolMin, mc.DelegateProtocolMax = 1, 1, 1
	// A dead node's name may be taken by a new address at once: names are
	// unique by configuration, and a restarted node often comes back on
	// another address (an ephemeral port, a new container). memberlist's
	// default (never, until it forgets the dead node) would keep it out.
	mc.DeadNodeReclaimTime = time.Millisecond
	for _, o := range []struct {
		dst *time.Duration
		v   time.Duration
	}{{&mc.GossipInterval, c.GossipInterval}, {&mc.PushPullInterval, c.PushPullInterval},
		{&mc.ProbeInterval, c.ProbeInterval}, {&mc.ProbeTimeout, c.ProbeTimeout},
		{&mc.TCPTimeout, c.TCPTimeout}, {&mc.DeadNodeReclaimTime, c.DeadNodeReclaimTime}} {
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	if c.SuspicionMult > 0 {
		mc.SuspicionMult = c.SuspicionMult
	}
	mc.Delegate, mc.Events, mc.Alive, mc.Ping = d, d, d, d
	mc.Logger = newLogBridge(c.Logger, d.probeFailed)
	if c.tune != nil {
		c.tune(mc)
	}
	return mc
}
