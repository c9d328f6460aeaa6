package node

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wippy.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	host, err := os.Hostname()
	if err != nil {
		host = "wippyd"
	}
	if c.Node.Name != host || c.Node.Workers != 0 || c.Security.StrictMode || len(c.Env) != 0 ||
		c.Log != (LogConfig{Level: "info", Format: "text"}) || c.Admin.Addr != "127.0.0.1:7960" {
		t.Errorf("node/security/log/admin defaults = %+v", c)
	}
	cl := c.Cluster
	m := cl.Membership
	if cl.Enabled || cl.Label != "" || m.BindAddr != "0.0.0.0" || m.BindPort != 7946 || m.AdvertiseAddr != "" ||
		len(m.JoinAddrs) != 0 || m.Profile != "lan" || m.SecretKey != "" {
		t.Errorf("cluster defaults = %+v", cl)
	}
	if cl.Internode != (InternodeConfig{AutoPort: true, MaxFrame: 16 << 20, SendQueueBytes: 64 << 20}) {
		t.Errorf("internode defaults = %+v", cl.Internode)
	}
	if cl.Raft != (RaftConfig{Enabled: true, Role: "server", Eligible: true, Priority: 100, DataDir: "./data/raft",
		BootstrapExpect: 1, MaxVoters: 5, MaxStandbys: 4, ReconcileDebounce: 2 * time.Second,
		ReconcileTimeout: 2 * time.Second, HeartbeatTimeout: 200 * time.Millisecond,
		ElectionTimeout: 200 * time.Millisecond, CommitTimeout: 50 * time.Millisecond,
		SnapshotThreshold: 8192, SnapshotInterval: 2 * time.Minute, SnapshotRetain: 3, TrailingLogs: 10240,
		MaxAppendEntries: 16, LeaderProbeInterval: 3 * time.Second, LeaderProbeGrace: 3,
		ApplyTimeout: 5 * time.Second}) {
		t.Errorf("raft defaults = %+v", cl.Raft)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	// Each call returns its own list and map.
	c.Env["X"] = "1"
	c.Cluster.Membership.JoinAddrs = append(c.Cluster.Membership.JoinAddrs, "a:1")
	if d := DefaultConfig(); len(d.Env) != 0 || len(d.Cluster.Membership.JoinAddrs) != 0 {
		t.Error("DefaultConfig shares state between calls")
	}
}

func TestKeysAndEnvNames(t *testing.T) {
	keys := Keys()
	if len(keys) != len(settings)+1 || keys[len(keys)-1] != "env.*" {
		t.Fatalf("Keys() = %v", keys)
	}
	seen := map[string]string{}
	for _, k := range keys {
		if k != strings.ToLower(k) {
			t.Errorf("key %s is not lower-case", k)
		}
		env := EnvName(k)
		if other, dup := seen[env]; dup {
			t.Errorf("%s and %s share the variable %s", k, other, env)
		}
		seen[env] = k
	}
	if got := EnvName("cluster.membership.bind_addr"); got != "WIPPY_CLUSTER_MEMBERSHIP_BIND_ADDR" {
		t.Errorf("EnvName = %s", got)
	}
	if got := EnvName("env.apiKey"); got != "WIPPY_ENV_apiKey" {
		t.Errorf("EnvName(env.apiKey) = %s", got)
	}
}

// TestEveryKeySettable sets every key through each source and checks the
// field changed, so no key in the table is dead.
func TestEveryKeySettable(t *testing.T) {
	dir := t.TempDir()
	keyFile, tokenFile := filepath.Join(dir, "cluster.key"), filepath.Join(dir, "admin.token")
	os.WriteFile(keyFile, []byte("MDEyMzQ1Njc4OWFiY2RlZg==\n"), 0o600)
	os.WriteFile(tokenFile, []byte("0123456789abcdef0123\n"), 0o600)
	values := map[string]string{
		"node.name": "n1", "node.workers": "3", "node.watch": "true", "security.strict_mode": "true",
		"log.level": "debug", "log.format": "json", "admin.addr": "127.0.0.2:0",
		"admin.token": "0123456789abcdef", "admin.token_file": tokenFile,
		"cluster.enabled": "true", "cluster.name": "prod", "cluster.label": "prod", "cluster.insecure": "true",
		"cluster.membership.bind_addr": "127.0.0.1", "cluster.membership.bind_port": "0",
		"cluster.membership.secret_file":    keyFile,
		"cluster.membership.advertise_addr": "10.0.0.1", "cluster.membership.join_addrs": "a:1,b:2",
		"cluster.membership.profile": "fast", "cluster.membership.secret_key": "MDEyMzQ1Njc4OWFiY2RlZg==",
		"cluster.membership.gossip_interval": "1s", "cluster.membership.push_pull_interval": "10s",
		"cluster.membership.dead_node_reclaim_time": "30s", "cluster.membership.probe_interval": "2s",
		"cluster.membership.probe_timeout": "1s", "cluster.membership.tcp_timeout": "5s",
		"cluster.membership.suspicion_mult": "5", "cluster.internode.bind_addr": "127.0.0.1",
		"cluster.internode.bind_port": "7999", "cluster.internode.auto_port": "false",
		"cluster.internode.advertise_addr": "relay.example", "cluster.internode.advertise_port": "17950",
		"cluster.internode.max_frame":        "1MiB",
		"cluster.internode.send_queue_bytes": "128MiB", "cluster.internode.one_way": "true", "cluster.raft.enabled": "false",
		"cluster.raft.data_dir": "/tmp/r", "cluster.raft.bootstrap_expect": "3",
		"cluster.raft.max_voters": "3", "cluster.raft.apply_timeout": "250ms",
		"cluster.failure_domain": "zone-a", "cluster.raft.role": "client", "cluster.raft.eligible": "false",
		"cluster.raft.priority": "7", "cluster.raft.max_standbys": "2", "cluster.raft.reconcile_debounce": "5s",
		"cluster.raft.reconcile_timeout": "3s", "cluster.raft.heartbeat_timeout": "100ms",
		"cluster.raft.election_timeout": "2s", "cluster.raft.commit_timeout": "100ms",
		"cluster.raft.snapshot_threshold": "100", "cluster.raft.snapshot_interval": "1m",
		"cluster.raft.snapshot_retain": "5", "cluster.raft.trailing_logs": "50",
		"cluster.raft.max_append_entries": "64", "cluster.raft.leader_probe_interval": "1s",
		"cluster.raft.leader_probe_grace": "5",
		"env.*":                           "",
	}
	def := DefaultConfig()
	for _, key := range Keys() {
		v, ok := values[key]
		if !ok {
			t.Errorf("no test value for %s", key)
			continue
		}
		if key == "env.*" {
			continue
		}
		s, _ := lookup(key)
		for _, src := range []string{"file", "env", "set"} {
			var opts LoadOptions
			switch src {
			case "file":
				parts := strings.Split(key, ".")
				var b strings.Builder
				for i, p := range parts {
					b.WriteString(strings.Repeat("  ", i) + p + ":")
					if i < len(parts)-1 {
						b.WriteString("\n")
					}
				}
				b.WriteString(" \"" + v + "\"\n")
				opts.File = writeConfig(t, b.String())
			case "env":
				opts.Env = []string{EnvName(key) + "=" + v}
			case "set":
				opts.Set = []string{key + "=" + v}
			}
			switch key {
			case "cluster.enabled":
				// A cluster on every interface needs a secret or this.
				opts.Set = append(opts.Set, "cluster.insecure=true")
			case "cluster.internode.advertise_port":
				opts.Set = append(opts.Set, "cluster.internode.advertise_addr=relay.example")
			}
			c, err := LoadConfig(opts)
			if err != nil {
				t.Errorf("%s via %s: %v", key, src, err)
				continue
			}
			if equalField(s, &c, &def) {
				t.Errorf("%s via %s=%q left the default", key, src, v)
			}
		}
	}
}

func equalField(s setting, a, b *Config) bool {
	switch pa := s.field(a).(type) {
	case *[]string:
		return slices.Equal(*pa, *s.field(b).(*[]string))
	case *string:
		return *pa == *s.field(b).(*string)
	case *int:
		return *pa == *s.field(b).(*int)
	case *uint64:
		return *pa == *s.field(b).(*uint64)
	case *bool:
		return *pa == *s.field(b).(*bool)
	case *time.Duration:
		return *pa == *s.field(b).(*time.Duration)
	case *Size:
		return *pa == *s.field(b).(*Size)
	}
	panic("unknown field type")
}

func TestPrecedence(t *testing.T) {
	file := writeConfig(t, "node:\n  name: from-file\n  workers: 2\nlog:\n  level: warn\nenv:\n  A: file\n  B: file\n")
	cases := []struct {
		name      string
		opts      LoadOptions
		node      string
		workers   int
		level     string
		envA      string
		envB      string
		adminAddr string
	}{
		{name: "defaults", opts: LoadOptions{}, node: DefaultConfig().Node.Name, level: "info", adminAddr: DefaultAdminAddr},
		{name: "file", opts: LoadOptions{File: file}, node: "from-file", workers: 2, level: "warn", envA: "file", envB: "file", adminAddr: DefaultAdminAddr},
		{
			name: "env over file",
			opts: LoadOptions{File: file, Env: []string{"WIPPY_NODE_NAME=from-env", "WIPPY_ENV_A=env", "PATH=/bin"}},
			node: "from-env", workers: 2, level: "warn", envA: "env", envB: "file", adminAddr: DefaultAdminAddr,
		},
		{
			name: "set over env over file",
			opts: LoadOptions{File: file, Env: []string{"WIPPY_NODE_NAME=from-env", "WIPPY_LOG_LEVEL=error"},
				Set: []string{"node.name=from-set", "env.B=set", "node.name=last-set-wins"}},
			node: "last-set-wins", workers: 2, level: "error", envA: "file", envB: "set", adminAddr: DefaultAdminAddr,
		},
		{name: "one-shot default", opts: LoadOptions{OneShot: true}, node: DefaultConfig().Node.Name, level: "warn"},
		{
			name: "one-shot with admin and level set",
			opts: LoadOptions{OneShot: true, Set: []string{"admin.addr=127.0.0.1:0", "log.level=info"}},
			node: DefaultConfig().Node.Name, level: "info", adminAddr: "127.0.0.1:0",
		},
		{
			name: "one-shot level from the environment",
			opts: LoadOptions{OneShot: true, Env: []string{"WIPPY_LOG_LEVEL=debug"}},
			node: DefaultConfig().Node.Name, level: "debug",
		},
		{
			name: "admin off by the file",
			opts: LoadOptions{File: writeConfig(t, "admin:\n  addr: \"\"\n")},
			node: DefaultConfig().Node.Name, level: "info",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Node.Name != tc.node || c.Node.Workers != tc.workers || c.Log.Level != tc.level ||
				c.Env["A"] != tc.envA || c.Env["B"] != tc.envB || c.Admin.Addr != tc.adminAddr {
				t.Errorf("got node=%q workers=%d level=%q env=%v admin=%q", c.Node.Name, c.Node.Workers, c.Log.Level, c.Env, c.Admin.Addr)
			}
		})
	}
}

func TestSyntax(t *testing.T) {
	cases := []struct {
		name  string
		opts  LoadOptions
		check func(c Config) bool
	}{
		{"size bytes", LoadOptions{Set: []string{"cluster.internode.max_frame=4096"}},
			func(c Config) bool { return c.Cluster.Internode.MaxFrame == 4096 }},
		{"size KiB", LoadOptions{Set: []string{"cluster.internode.max_frame=64KiB"}},
			func(c Config) bool { return c.Cluster.Internode.MaxFrame == 64<<10 }},
		{"size MiB with space", LoadOptions{Set: []string{"cluster.internode.max_frame=2 MiB"}},
			func(c Config) bool { return c.Cluster.Internode.MaxFrame == 2<<20 }},
		{"size GiB", LoadOptions{Set: []string{"cluster.internode.send_queue_bytes=1GiB"}},
			func(c Config) bool { return c.Cluster.Internode.SendQueueBytes == 1<<30 }},
		{"size B suffix", LoadOptions{Set: []string{"cluster.internode.max_frame=2048B"}},
			func(c Config) bool { return c.Cluster.Internode.MaxFrame == 2048 }},
		{"size as YAML int", LoadOptions{File: writeConfig(t, "cluster:\n  internode:\n    max_frame: 1048576\n")},
			func(c Config) bool { return c.Cluster.Internode.MaxFrame == 1<<20 }},
		{"duration", LoadOptions{Set: []string{"cluster.raft.apply_timeout=1m30s"}},
			func(c Config) bool { return c.Cluster.Raft.ApplyTimeout == 90*time.Second }},
		{"list comma", LoadOptions{Set: []string{"cluster.membership.join_addrs=a:1, b:2,,c"}},
			func(c Config) bool { return slices.Equal(c.Cluster.Membership.JoinAddrs, []string{"a:1", "b:2", "c"}) }},
		{"list empty", LoadOptions{Set: []string{"cluster.membership.join_addrs=a:1", "cluster.membership.join_addrs="}},
			func(c Config) bool { return len(c.Cluster.Membership.JoinAddrs) == 0 }},
		{"list env", LoadOptions{Env: []string{"WIPPY_CLUSTER_MEMBERSHIP_JOIN_ADDRS=n1:7946,n2:7946"}},
			func(c Config) bool {
				return slices.Equal(c.Cluster.Membership.JoinAddrs, []string{"n1:7946", "n2:7946"})
			}},
		{"list YAML", LoadOptions{File: writeConfig(t, "cluster:\n  membership:\n    join_addrs: [n1:7946, \"n2:7946\"]\n")},
			func(c Config) bool {
				return slices.Equal(c.Cluster.Membership.JoinAddrs, []string{"n1:7946", "n2:7946"})
			}},
		{"list YAML comma string", LoadOptions{File: writeConfig(t, "cluster:\n  membership:\n    join_addrs: n1:7946,n2:7946\n")},
			func(c Config) bool {
				return slices.Equal(c.Cluster.Membership.JoinAddrs, []string{"n1:7946", "n2:7946"})
			}},
		{"bool forms", LoadOptions{Env: []string{"WIPPY_CLUSTER_ENABLED=1", "WIPPY_SECURITY_STRICT_MODE=TRUE", "WIPPY_CLUSTER_MEMBERSHIP_BIND_ADDR=127.0.0.1"}},
			func(c Config) bool { return c.Cluster.Enabled && c.Security.StrictMode }},
		{"env name case", LoadOptions{Env: []string{"WIPPY_ENV_apiKey=e"}, Set: []string{"env.Db_Url=s", "env.X=a=b"}},
			func(c Config) bool {
				return c.Env["apiKey"] == "e" && c.Env["Db_Url"] == "s" && c.Env["X"] == "a=b" && len(c.Env) == 3
			}},
		{"env YAML values", LoadOptions{File: writeConfig(t, "env:\n  PORT: 8080\n  Mixed_Case: yes\n  EMPTY:\n")},
			func(c Config) bool {
				return c.Env["PORT"] == "8080" && c.Env["Mixed_Case"] == "yes" && c.Env["EMPTY"] == ""
			}},
		{"anchors and merge keys", LoadOptions{File: writeConfig(t, "x: &base\n  level: debug\n  format: json\n")},
			nil},
		{"merge key", LoadOptions{File: writeConfig(t, "node: {name: &n anchored}\nlog:\n  <<: {level: debug, format: json}\n  format: text\ncluster:\n  name: *n\n")},
			func(c Config) bool {
				return c.Log.Level == "debug" && c.Log.Format == "text" && c.Node.Name == "anchored"
			}},
		{"empty file", LoadOptions{File: writeConfig(t, "# nothing\n")},
			func(c Config) bool { return c.Log.Level == "info" }},
		{"null section", LoadOptions{File: writeConfig(t, "cluster:\n")},
			func(c Config) bool { return c.Cluster.Label == "" && c.Cluster.Internode.AutoPort }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(tc.opts)
			if tc.check == nil { // must fail: an unknown top-level key
				if !errors.Is(err, ErrUnknownKey) {
					t.Errorf("err = %v, want ErrUnknownKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	cases := []struct {
		name    string
		opts    LoadOptions
		unknown bool     // errors.Is ErrUnknownKey
		want    []string // lines of the message after the first
	}{
		{
			name:    "unknown file keys",
			opts:    LoadOptions{File: writeConfig(t, "nodes:\n  name: x\ncluster:\n  membership:\n    bindaddr: 1.2.3.4\n    seeds: []\n")},
			unknown: true,
			want: []string{
				"FILE:1: unknown key nodes (did you mean node?)",
				"FILE:5: unknown key cluster.membership.bindaddr (did you mean cluster.membership.bind_addr?)",
				"FILE:6: unknown key cluster.membership.seeds",
			},
		},
		{
			name:    "unknown key with a newline stays on one line",
			opts:    LoadOptions{File: writeConfig(t, "\"bad\\nkey\": 1\n")},
			unknown: true,
			want:    []string{`FILE:1: unknown key "bad\nkey"`},
		},
		{
			name:    "unknown env var",
			opts:    LoadOptions{Env: []string{"WIPPY_CLUSTER_MEMBERSHIP_BINDADDR=1.2.3.4", "WIPPY_HOME=/x", "HOME=/root"}},
			unknown: true,
			want: []string{
				"environment: unknown key WIPPY_CLUSTER_MEMBERSHIP_BINDADDR (did you mean WIPPY_CLUSTER_MEMBERSHIP_BIND_ADDR?)",
				"environment: unknown key WIPPY_HOME",
			},
		},
		{
			name:    "unknown --set keys",
			opts:    LoadOptions{Set: []string{"cluster.raft.max_voter=3", "Node.Name=x", "env=1", "workers"}},
			unknown: true,
			want: []string{
				"--set: unknown key cluster.raft.max_voter (did you mean cluster.raft.max_voters?)",
				"--set: unknown key Node.Name (did you mean node.name?)",
				"--set: unknown key env",
				"--set \"workers\": want key=value",
			},
		},
		{
			name: "bad values",
			opts: LoadOptions{
				File: writeConfig(t, "node:\n  workers: many\nlog:\n  level: loud\ncluster:\n  raft:\n    apply_timeout: 5\n  internode: [1]\n  membership:\n    bind_port: [1]\n"),
				Env:  []string{"WIPPY_CLUSTER_INTERNODE_MAX_FRAME=16MB", "WIPPY_ENV_=x"},
				Set:  []string{"cluster.enabled=maybe", "cluster.membership.profile=wan", "env.A=B=C"},
			},
			want: []string{
				"FILE:2: node.workers: want an integer, got \"many\"",
				"FILE:4: log.level: \"loud\" is not one of debug, info, warn, error",
				"FILE:7: cluster.raft.apply_timeout: bad duration \"5\" (Go syntax: 150ms, 5s, 1m30s)",
				"FILE:8: cluster.internode: want a mapping",
				"FILE:10: cluster.membership.bind_port: want a single value, got a list",
				"environment WIPPY_CLUSTER_INTERNODE_MAX_FRAME: cluster.internode.max_frame: bad size \"16MB\" (want bytes, or a number with KiB, MiB or GiB)",
				"environment WIPPY_ENV_: bad variable name \"\"",
				"--set cluster.enabled: want true or false, got \"maybe\"",
				"--set cluster.membership.profile: \"wan\" is not one of lan, local, fast",
			},
		},
		{
			name: "validation after loading",
			opts: LoadOptions{Set: []string{
				"node.name=a@b", "node.workers=-1", "admin.addr=localhost", "cluster.label=" + strings.Repeat("x", 256),
				"cluster.membership.bind_addr=any", "cluster.membership.bind_port=70000",
				"cluster.membership.advertise_addr=10.0.0.1:7946", "cluster.membership.join_addrs=ok:1,bad:0,x y",
				"cluster.membership.secret_key=c2hvcnQ=", "cluster.internode.bind_port=-1",
				"cluster.internode.bind_addr=eth0", "cluster.internode.advertise_port=7950",
				"cluster.membership.probe_interval=1s", "cluster.membership.probe_timeout=2s",
				"cluster.membership.suspicion_mult=-1",
				"cluster.internode.max_frame=10", "cluster.internode.send_queue_bytes=1KiB",
				"cluster.raft.data_dir=", "cluster.raft.bootstrap_expect=-1", "cluster.raft.max_voters=4",
				"cluster.raft.max_standbys=-1", "cluster.raft.priority=-2", "cluster.raft.reconcile_debounce=0s",
				"cluster.raft.heartbeat_timeout=1s", "cluster.raft.snapshot_retain=0", "cluster.raft.leader_probe_grace=0",
				"cluster.raft.apply_timeout=0s",
			}},
			want: []string{
				"node.name: \"a@b\" may not contain '@', '|', '{', '}' or spaces",
				"node.workers: must be between 0 (one per CPU) and 1024, got -1",
				"admin.addr: \"localhost\" is not host:port",
				"cluster.label: must be at most 255 bytes, got 256",
				"cluster.membership.bind_addr: \"any\" is not an IP address",
				"cluster.membership.bind_port: port 70000 is outside 0..65535",
				"cluster.membership.advertise_addr: \"10.0.0.1:7946\" must not have a port (the port is bind_port)",
				"cluster.membership.join_addrs[1]: \"bad:0\" has a bad port",
				"cluster.membership.join_addrs[2]: \"x y\" is not host:port",
				"cluster.membership.secret_key: decodes to 5 bytes, want 16, 24 or 32",
				"cluster.membership.suspicion_mult: must not be negative (0: the profile's), got -1",
				"cluster.membership.probe_timeout: 2s exceeds probe_interval (1s)",
				"cluster.internode.bind_addr: \"eth0\" is not an IP address",
				"cluster.internode.bind_port: port -1 is outside 0..65535",
				"cluster.internode.advertise_port: needs cluster.internode.advertise_addr",
				"cluster.internode.max_frame: must be at least 1KiB, got 10",
				"cluster.raft.data_dir: must not be empty when raft is enabled",
				"cluster.raft.bootstrap_expect: must be 0 (join only), 1 (alone) or the initial voter count, got -1",
				"cluster.raft.max_voters: must be odd and at least 1 (a majority of an even count is no safer), got 4",
				"cluster.raft.max_standbys: must not be negative, got -1",
				"cluster.raft.priority: must not be negative, got -2",
				"cluster.raft.reconcile_debounce: must be positive, got 0s",
				"cluster.raft.apply_timeout: must be positive, got 0s",
				"cluster.raft.election_timeout: must be at least heartbeat_timeout (1s), got 200ms",
				"cluster.raft.snapshot_retain: must be at least 1, got 0",
				"cluster.raft.leader_probe_grace: must be at least 1, got 0",
			},
		},
		{
			name: "bootstrap above voters, queue below frame, secret not base64",
			opts: LoadOptions{Set: []string{"cluster.raft.bootstrap_expect=7", "cluster.internode.send_queue_bytes=1MiB",
				"cluster.membership.secret_key=not base64!"}},
			want: []string{
				"cluster.membership.secret_key: not valid base64 (make one with: head -c 32 /dev/urandom | base64)",
				"cluster.internode.send_queue_bytes: must be at least max_frame (16MiB), got 1MiB",
				"cluster.raft.bootstrap_expect: 7 exceeds max_voters (5)",
			},
		},
		{
			name: "bad file",
			opts: LoadOptions{File: writeConfig(t, "node: [\n")},
			want: []string{"FILE: bad YAML: line 1: did not find expected node content"},
		},
		{
			name: "file not a mapping",
			opts: LoadOptions{File: writeConfig(t, "- a\n")},
			want: []string{"FILE:1: the file: want a mapping"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(tc.opts)
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v, want ErrBadConfig", err)
			}
			if errors.Is(err, ErrUnknownKey) != tc.unknown {
				t.Errorf("errors.Is(ErrUnknownKey) = %v, want %v", !tc.unknown, tc.unknown)
			}
			lines := strings.Split(err.Error(), "\n")
			if lines[0] != "node: bad config:" {
				t.Errorf("first line %q", lines[0])
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.ReplaceAll(w, "FILE", tc.opts.File)
			}
			if got := lines[1:]; !slices.Equal(got, want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(LoadOptions{File: filepath.Join(t.TempDir(), "nope.yaml")})
	if !errors.Is(err, ErrBadConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrBadConfig wrapping ErrNotExist", err)
	}
}

func TestSecretNotEchoed(t *testing.T) {
	_, err := LoadConfig(LoadOptions{Set: []string{"cluster.membership.secret_key=c3VwZXJzZWNyZXQ="}})
	if err == nil || strings.Contains(err.Error(), "c3VwZXJzZWNyZXQ=") || strings.Contains(err.Error(), "supersecret") {
		t.Errorf("err = %v, want a problem that does not show the key", err)
	}
	c, err := LoadConfig(LoadOptions{Set: []string{"cluster.membership.secret_key=MDEyMzQ1Njc4OWFiY2RlZg=="}})
	if err != nil {
		t.Fatal(err)
	}
	if key, err := c.Cluster.Membership.Key(); err != nil || string(key) != "0123456789abcdef" {
		t.Errorf("Key() = %q, %v", key, err)
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		text string
		bad  bool
	}{
		{in: "0", want: 0, text: "0"}, {in: "1536", want: 1536, text: "1536"}, {in: "3KiB", want: 3 << 10, text: "3KiB"},
		{in: "16MiB", want: 16 << 20, text: "16MiB"}, {in: "2GiB", want: 2 << 30, text: "2GiB"},
		{in: "1024MiB", want: 1 << 30, text: "1GiB"}, {in: "-1", bad: true}, {in: "1.5MiB", bad: true},
		{in: "16MB", bad: true}, {in: "", bad: true}, {in: "9999999999GiB", bad: true}, {in: "KiB", bad: true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v", tc.in, got, err)
			continue
		}
		if !tc.bad && got.String() != tc.text {
			t.Errorf("Size(%d).String() = %q, want %q", got, got.String(), tc.text)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		if got := (LogConfig{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%s) = %s", level, got)
		}
	}
}

// TestDocsListEveryKey keeps docs/configuration.md in step with Keys().
func TestDocsListEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if k == "env.*" {
			k = "env.NAME"
		}
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("docs/configuration.md does not list `%s`", k)
		}
		if !strings.Contains(string(doc), EnvName(k)) && k != "env.NAME" {
			t.Errorf("docs/configuration.md does not give %s", EnvName(k))
		}
	}
}

// FuzzConfigFile feeds arbitrary bytes to the config file reader: it must
// not panic, every problem must be one line naming the file, and a file
// without problems must leave a config that validates or reports why.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("node: {name: n1, workers: 2}\nenv: {A: b}\ncluster:\n  enabled: true\n  membership: {join_addrs: [a:1], profile: fast}\n"))
	f.Add([]byte("log: &l {level: debug}\nadmin: {<<: *l}\n"))
	f.Add([]byte("cluster:\n  internode: {max_frame: 1MiB, send_queue_bytes: 2GiB}\n  raft: {apply_timeout: 1s}\n"))
	f.Add([]byte("x: &a [*a]\nnode: *a\n"))
	f.Add([]byte("version: \"1.0\"\nlogger: {encoding: json}\ncluster:\n  enabled: true\n  name: node-1\n  failure_domain: a\n" +
		"  membership: {join_addrs: \"node-2:7946,node-3:7946\", secret_file: /k, probe_interval: 2s}\n" +
		"  internode: {bind_port: 0, auto_port: true}\n  raft: {role: client, bootstrap_expect: 3, max_voters: 5, snapshot_threshold: 10}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := DefaultConfig()
		for _, err := range loadFile(&c, "f.yaml", data, map[string]origin{}) {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("malformed problem %q", msg)
			}
		}
		_ = c.Validate()
	})
}
