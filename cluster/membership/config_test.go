package membership

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Name = "n"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default config with a name: %v", err)
	}
	cases := map[string]func(*Config){
		"no name":          func(c *Config) { c.Name = "" },
		"long name":        func(c *Config) { c.Name = strings.Repeat("x", 256) },
		"no cluster":       func(c *Config) { c.ClusterName = "" },
		"long cluster":     func(c *Config) { c.ClusterName = strings.Repeat("x", 256) },
		"port":             func(c *Config) { c.BindPort = 65536 },
		"bind host":        func(c *Config) { c.BindAddr = "localhost" },
		"advertise host":   func(c *Config) { c.AdvertiseAddr = "example.com" },
		"empty join":       func(c *Config) { c.JoinAddrs = []string{"10.0.0.1:7946", ""} },
		"profile":          func(c *Config) { c.Profile = "wan" },
		"key size":         func(c *Config) { c.SecretKey = make([]byte, 15) },
		"rejoin":           func(c *Config) { c.RejoinInterval = 0 },
		"reap":             func(c *Config) { c.ReapAfter = -time.Second },
		"queue":            func(c *Config) { c.EventQueue = 0 },
		"proto zero":       func(c *Config) { c.Meta.ProtoMin = 0 },
		"role":             func(c *Config) { c.Meta.RaftRole = 4 },
		"proto descending": func(c *Config) { c.Meta.ProtoMin, c.Meta.ProtoMax = 3, 2 },
	}
	for name, f := range cases {
		c := cfg
		f(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New with %s: %v", name, err)
		}
	}
}

func TestNewCopiesAndDrawsBootID(t *testing.T) {
	cfg := testConfig("n")
	cfg.JoinAddrs = []string{"10.0.0.1:7946"}
	cfg.SecretKey = []byte("0123456789abcdef")
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg)
	cfg.JoinAddrs[0] = "changed"
	cfg.SecretKey[0] = 'X'
	if a.cfg.JoinAddrs[0] != "10.0.0.1:7946" || a.cfg.SecretKey[0] != '0' {
		t.Error("New kept the caller's slices")
	}
	if a.cfg.Meta.BootID == 0 || a.cfg.Meta.BootID == b.cfg.Meta.BootID {
		t.Errorf("boot ids %x and %x", a.cfg.Meta.BootID, b.cfg.Meta.BootID)
	}
	cfg.Meta.BootID = 77
	c, _ := New(cfg)
	if c.Local().Meta.BootID != 77 {
		t.Error("a given boot id was replaced")
	}
}

func TestProfiles(t *testing.T) {
	fast, err := profileConfig(ProfileFast)
	if err != nil {
		t.Fatal(err)
	}
	if fast.ProbeInterval != 200*time.Millisecond || fast.ProbeTimeout != 100*time.Millisecond || fast.SuspicionMult != 2 {
		t.Errorf("fast = %v/%v/%d", fast.ProbeInterval, fast.ProbeTimeout, fast.SuspicionMult)
	}
	lan, _ := profileConfig(ProfileLAN)
	local, _ := profileConfig(ProfileLocal)
	if lan.ProbeTimeout != 500*time.Millisecond || local.ProbeTimeout != 200*time.Millisecond {
		t.Errorf("lan/local probe timeouts %v/%v", lan.ProbeTimeout, local.ProbeTimeout)
	}
	cfg := testConfig("n")
	cfg.ClusterName = "prod"
	cfg.SecretKey = []byte("0123456789abcdef")
	m, _ := New(cfg)
	mc := m.cfg.memberlistConfig(m.d)
	if mc.Label != "prod" || mc.Name != "n" || mc.ProbeInterval != 200*time.Millisecond {
		t.Errorf("memberlist config: label %q name %q interval %v", mc.Label, mc.Name, mc.ProbeInterval)
	}
	// Gossip is keyed with its own key, derived from the secret.
	want, err := hkdf.Key(sha256.New, cfg.SecretKey, nil, "wippyd gossip v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mc.SecretKey, want) || bytes.Contains(mc.SecretKey, cfg.SecretKey) {
		t.Errorf("gossip key %x, want %x derived from the secret", mc.SecretKey, want)
	}
}

// TestTimingOverrides: a timing set in Config replaces the profile's; one
// left 0 keeps it.
func TestTimingOverrides(t *testing.T) {
	cfg := testConfig("n")
	cfg.Profile = ProfileLAN
	cfg.ProbeInterval, cfg.ProbeTimeout, cfg.SuspicionMult = 2*time.Second, 700*time.Millisecond, 5
	cfg.GossipInterval, cfg.PushPullInterval, cfg.TCPTimeout = 300*time.Millisecond, 7*time.Second, 3*time.Second
	cfg.DeadNodeReclaimTime = 30 * time.Second
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mc := m.cfg.memberlistConfig(m.d)
	if mc.ProbeInterval != 2*time.Second || mc.ProbeTimeout != 700*time.Millisecond || mc.SuspicionMult != 5 ||
		mc.GossipInterval != 300*time.Millisecond || mc.PushPullInterval != 7*time.Second ||
		mc.TCPTimeout != 3*time.Second || mc.DeadNodeReclaimTime != 30*time.Second {
		t.Errorf("overrides not applied: %+v", mc)
	}
	m2, _ := New(testConfig("n"))
	mc = m2.cfg.memberlistConfig(m2.d)
	lan, _ := profileConfig(m2.cfg.Profile)
	if mc.ProbeInterval != lan.ProbeInterval || mc.SuspicionMult != lan.SuspicionMult || mc.DeadNodeReclaimTime != time.Millisecond {
		t.Errorf("zero overrides changed the profile: %v %d %v", mc.ProbeInterval, mc.SuspicionMult, mc.DeadNodeReclaimTime)
	}
	bad := testConfig("n")
	bad.ProbeTimeout = -1
	if err := bad.Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative timing: %v", err)
	}
}

func TestLogBridge(t *testing.T) {
	var buf bytes.Buffer
	l := newLogBridge(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), nil)
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: %s)", "n2")
	got := buf.String()
	if !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, `msg="Refuting a suspect message (from: n2)"`) ||
		!strings.Contains(got, "memberlist_level=WARN") {
		t.Errorf("bridged line = %q", got)
	}
	buf.Reset()
	quiet := newLogBridge(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), nil)
	quiet.Printf("[ERR] memberlist: something")
	if buf.Len() != 0 {
		t.Errorf("debug line logged at info: %q", buf.String())
	}
}

// TestLogBridgeFailedProbe: the failed-probe line reaches probeFailed
// whatever the log level, with names that contain spaces or the phrase
// itself; near misses do not. That memberlist still writes this line is
// checked by TestSuspectBeforeFailed, with real memberlist.
func TestLogBridgeFailedProbe(t *testing.T) {
	var got []string
	l := newLogBridge(slog.New(slog.DiscardHandler), func(name string) { got = append(got, name) })
	for _, line := range []string{
		"[INFO] memberlist: Suspect n3 has failed, no acks received",
		"[INFO] memberlist: Suspect node with spaces has failed, no acks received\r",
		"[INFO] memberlist: Suspect Suspect x has failed, no acks received has failed, no acks received",
		"memberlist: Suspect bare has failed, no acks received",
		"[INFO] memberlist: Suspect  has failed, no acks received",
		"[INFO] memberlist: Suspect n3 has failed, no acks received (extra)",
		"[INFO] memberlist: Marking n3 as failed, suspect timeout reached (0 peer confirmations)",
		"[WARN] memberlist: Refuting a suspect message (from: n3)",
		"[INFO] memberlist: suspect n3 has failed, no acks received",
		"",
	} {
		l.Print(line)
	}
	want := []string{"n3", "node with spaces", "Suspect x has failed, no acks received", "bare"}
	if !slices.Equal(got, want) {
		t.Errorf("failed probes = %q, want %q", got, want)
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
