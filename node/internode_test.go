package node

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/transport/tcp"
)

// TestAutoPort: with bind_port 0 and auto_port, the internode listener
// takes the first free port of 7950-7959 and, when all are taken, an
// ephemeral one; without auto_port, an ephemeral one at once. Ports of
// the range that other programs on this host hold are skipped either way.
func TestAutoPort(t *testing.T) {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	auto := autoPortNetwork{Network: nw, auto: true}
	var held []net.Listener
	t.Cleanup(func() {
		for _, ln := range held {
			ln.Close()
		}
	})
	seen := map[int]bool{}
	for range InternodePortRange + 1 {
		ln, err := auto.Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
	}
	// Every port of the range is now held (by this test or another
	// program), so the last listener is outside it.
	inRange := func(p int) bool { return p >= DefaultInternodePort && p < DefaultInternodePort+InternodePortRange }
	last := held[len(held)-1].Addr().(*net.TCPAddr).Port
	if inRange(last) {
		t.Errorf("listener %d of %d got %d, inside the range", len(held), InternodePortRange+1, last)
	}
	for p := DefaultInternodePort; p < DefaultInternodePort+InternodePortRange; p++ {
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
			ln.Close()
			t.Errorf("port %d of the range is free, yet a listener went outside it", p)
		}
	}
	// The first listener took the lowest port free at the time: in the range
	// unless another program held all ten.
	if first := held[0].Addr().(*net.TCPAddr).Port; !inRange(first) && len(seen) > 0 {
		t.Logf("the whole range was taken by other programs; first port %d", first)
	}

	plain := autoPortNetwork{Network: nw}
	ln, err := plain.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if p := ln.Addr().(*net.TCPAddr).Port; inRange(p) {
		t.Errorf("auto_port false took %d, from the range", p)
	}
	// A fixed port is listened on as given, and a port in use is an error.
	if _, err := auto.Listen(held[0].Addr().String()); err == nil {
		t.Error("a fixed port in use was listened on")
	}
}

// TestClusterNameIsNodeName: cluster.name is the node's name (Wippy's
// meaning), node.name the same setting; a config giving both with
// different values (an old config, where cluster.name was the label) is
// refused, and so is the old internode.port, naming the key that replaced
// it.
func TestClusterNameIsNodeName(t *testing.T) {
	c, err := LoadConfig(LoadOptions{File: writeConfig(t, "cluster:\n  name: node-2\n  label: prod\n")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Node.Name != "node-2" || c.Cluster.Label != "prod" {
		t.Errorf("node %q label %q", c.Node.Name, c.Cluster.Label)
	}
	if c, err := LoadConfig(LoadOptions{Set: []string{"node.name=n1", "cluster.name=n1"}}); err != nil || c.Node.Name != "n1" {
		t.Errorf("the same name twice: %q, %v", c.Node.Name, err)
	}
	// Across sources the usual precedence holds: --set over the environment.
	c, err = LoadConfig(LoadOptions{Env: []string{"WIPPY_CLUSTER_NAME=n1"}, Set: []string{"node.name=client"}})
	if err != nil || c.Node.Name != "client" {
		t.Errorf("--set node.name over WIPPY_CLUSTER_NAME: %q, %v", c.Node.Name, err)
	}
	old := writeConfig(t, "node:\n  name: n1\ncluster:\n  name: wippy\n  internode:\n    port: 7950\n")
	_, err = LoadConfig(LoadOptions{File: old})
	if !errors.Is(err, ErrBadConfig) {
		t.Fatalf("old config: %v", err)
	}
	for _, want := range []string{
		old + `: cluster.name is "wippy" and node.name "n1"`, "cluster.label now",
		old + ":6: unknown key cluster.internode.port (renamed: it is cluster.internode.bind_port now)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("old config: %v\nwant %q", err, want)
		}
	}
	_, err = LoadConfig(LoadOptions{Env: []string{"WIPPY_CLUSTER_INTERNODE_PORT=1"}, Set: []string{"cluster.internode.port=1"}})
	for _, want := range []string{
		"environment: unknown key WIPPY_CLUSTER_INTERNODE_PORT (renamed: it is WIPPY_CLUSTER_INTERNODE_BIND_PORT now)",
		"--set: unknown key cluster.internode.port (renamed: it is cluster.internode.bind_port now)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("renamed key: %v\nwant %q", err, want)
		}
	}
}

// TestWippySectionsIgnored: the sections of a Wippy .wippy.yaml that
// wippyd has no use for load, each with one warning naming its line; a
// key inside a wippyd section is still checked.
func TestWippySectionsIgnored(t *testing.T) {
	file := writeConfig(t, "version: \"1.0\"\nlogger:\n  encoding: json\nprofiler: {enabled: true}\n"+
		"security:\n  strict_mode: true\ncluster:\n  enabled: false\n  name: n1\n")
	c, err := LoadConfig(LoadOptions{File: file})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		file + ":1: version: a section of Wippy's configuration that wippyd does not use; ignored",
		file + ":2: logger: a section of Wippy's configuration that wippyd does not use; ignored",
		file + ":4: profiler: a section of Wippy's configuration that wippyd does not use; ignored",
	}
	if got := c.ignored; !slices.Equal(got, want) || !c.Security.StrictMode || c.Node.Name != "n1" {
		t.Errorf("warnings %q, strict %v, name %q", got, c.Security.StrictMode, c.Node.Name)
	}
	if _, err := LoadConfig(LoadOptions{File: writeConfig(t, "loggr: {}\n")}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("a misspelt section: %v", err)
	}
}

// TestInternodeAddresses: where the transport listens and what its
// handshake advertises, from the internode and membership keys.
func TestInternodeAddresses(t *testing.T) {
	m := MembershipConfig{BindAddr: "10.0.0.5", AdvertiseAddr: "203.0.113.9"}
	cases := []struct {
		in        InternodeConfig
		m         MembershipConfig
		bind, adv string
	}{
		{InternodeConfig{}, MembershipConfig{BindAddr: "0.0.0.0"}, "0.0.0.0", ""},
		{InternodeConfig{BindAddr: "127.0.0.1"}, m, "127.0.0.1", ""}, // auto port: not known yet
		{InternodeConfig{Port: 7999}, m, "10.0.0.5", "203.0.113.9:7999"},
		{InternodeConfig{Port: 7999, AdvertiseAddr: "relay.example"}, m, "10.0.0.5", "relay.example:7999"},
		{InternodeConfig{AdvertiseAddr: "relay.example", AdvertisePort: 443}, m, "10.0.0.5", "relay.example:443"},
		{InternodeConfig{Port: 7999}, MembershipConfig{BindAddr: "10.0.0.5"}, "10.0.0.5", ""},
	}
	for i, c := range cases {
		if got := c.in.bindAddr(c.m); got != c.bind {
			t.Errorf("%d: bind %q, want %q", i, got, c.bind)
		}
		if got := c.in.advertise(c.m); got != c.adv {
			t.Errorf("%d: advertise %q, want %q", i, got, c.adv)
		}
	}
	if (ClusterConfig{}).label() != DefaultClusterLabel || (ClusterConfig{Label: "prod"}).label() != "prod" {
		t.Error("label")
	}
}

// TestValidationNamesFileLine: a value from the config file that fails
// validation is reported at its line; one a later source overrode is
// reported by key alone.
func TestValidationNamesFileLine(t *testing.T) {
	file := writeConfig(t, "cluster:\n  raft:\n    max_voters: 4\n    bootstrap_expect: 9\n")
	_, err := LoadConfig(LoadOptions{File: file, Set: []string{"cluster.raft.bootstrap_expect=-1"}})
	for _, want := range []string{
		"\n" + file + ":3: cluster.raft.max_voters: must be odd",
		"\ncluster.raft.bootstrap_expect: must be 0 (join only)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant %q", err, want)
		}
	}
}

// wippyClusterKeys are the keys of the Cluster tables of Wippy's
// configuration reference (Top-level, Membership, Internode, Raft).
var wippyClusterKeys = []string{
	"enabled", "name", "failure_domain",
	"membership.bind_addr", "membership.bind_port", "membership.advertise_addr", "membership.join_addrs",
	"membership.secret_key", "membership.secret_file", "membership.gossip_interval",
	"membership.push_pull_interval", "membership.dead_node_reclaim_time", "membership.probe_interval",
	"membership.probe_timeout", "membership.tcp_timeout", "membership.suspicion_mult",
	"internode.bind_addr", "internode.bind_port", "internode.auto_port", "internode.advertise_addr",
	"internode.advertise_port",
	"raft.data_dir", "raft.enabled", "raft.role", "raft.eligible", "raft.priority", "raft.bootstrap_expect",
	"raft.max_voters", "raft.max_standbys", "raft.reconcile_debounce", "raft.reconcile_timeout",
	"raft.heartbeat_timeout", "raft.election_timeout", "raft.commit_timeout", "raft.snapshot_threshold",
	"raft.snapshot_interval", "raft.snapshot_retain", "raft.trailing_logs", "raft.max_append_entries",
	"raft.leader_probe_interval", "raft.leader_probe_grace",
}

// TestWippyClusterKeys: every key of Wippy's Cluster tables is a key here,
// settable from a file.
func TestWippyClusterKeys(t *testing.T) {
	for _, k := range wippyClusterKeys {
		if _, ok := lookup("cluster." + k); !ok {
			t.Errorf("cluster.%s is not a key", k)
		}
	}
}
