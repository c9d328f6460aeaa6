package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/node"
)

const minimalApp = "version: \"1.0\"\nnamespace: app\nentries:\n  - {name: processes, kind: process.host}\n"

// testKey is a cluster secret (32 bytes, base64).
const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// TestBadClusterConfigExits2: a cluster config the node cannot run
// stops the binary with exit status 2 and a message naming the file and
// line or the key, before anything listens.
func TestBadClusterConfigExits2(t *testing.T) {
	src := writeApp(t, map[string]string{"app.yaml": minimalApp})
	dir := t.TempDir()
	cases := []struct {
		name, cluster string
		want          []string
	}{
		{"even max_voters", "  raft:\n    max_voters: 4\n",
			[]string{"FILE:6: cluster.raft.max_voters: must be odd"}},
		{"bootstrap_expect above max_voters", "  raft:\n    bootstrap_expect: 5\n    max_voters: 3\n",
			[]string{"FILE:6: cluster.raft.bootstrap_expect: 5 exceeds max_voters (3)"}},
		{"unreadable secret_file", "  membership:\n    secret_file: " + filepath.Join(dir, "missing.key") + "\n",
			[]string{"FILE:6: cluster.membership.secret_file: cannot read"}},
		{"secret_file a directory", "  membership:\n    secret_file: " + dir + "\n",
			[]string{"cluster.membership.secret_file:"}},
		{"malformed key", "  raft:\n    rol: client\n",
			[]string{"FILE:6: unknown key cluster.raft.rol (did you mean cluster.raft.role?)"}},
		{"bad role", "  raft:\n    role: voter\n",
			[]string{"FILE:6: cluster.raft.role: \"voter\" is not one of server, client"}},
		{"bad port", "  internode:\n    bind_port: 70000\n",
			[]string{"FILE:6: cluster.internode.bind_port: port 70000 is outside 0..65535"}},
		{"the old internode.port", "  internode:\n    port: 7950\n",
			[]string{"FILE:6: unknown key cluster.internode.port (renamed: it is cluster.internode.bind_port now)"}},
		{"an old cluster.name", "  name: wippy\nnode:\n  name: n1\n",
			[]string{`FILE: cluster.name is "wippy" and node.name "n1"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "wippy.yaml")
			text := "admin:\n  addr: 127.0.0.1:0\ncluster:\n  enabled: true\n" + c.cluster
			if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, wippydBinary(t), "run", "--src", src, "--config", file,
				"--set", "cluster.membership.bind_addr=127.0.0.1", "--set", "cluster.membership.bind_port=0")
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit %d, want 2:\n%s", code, out)
			}
			for _, w := range c.want {
				if w = strings.ReplaceAll(w, "FILE", file); !strings.Contains(string(out), w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, started := range []string{"listening", "membership started", "node started"} {
				if strings.Contains(string(out), started) {
					t.Errorf("%q logged: something started:\n%s", started, out)
				}
			}
		})
	}
}

// TestDefaultConfigFile: without --config, .wippy.yaml in the working
// directory is read; with no such file, the defaults.
func TestDefaultConfigFile(t *testing.T) {
	src := writeApp(t, map[string]string{"app.yaml": minimalApp})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, node.DefaultConfigFile), []byte("node:\n  workers: -7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(wippydBinary(t), "run", "--src", src)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "node.workers: must be between 0") {
		t.Fatalf(".wippy.yaml not read: exit %d\n%s", code, out)
	}
	// `wippyd status` reads it too: its admin.addr is where it asks.
	if err := os.WriteFile(filepath.Join(dir, node.DefaultConfigFile), []byte("admin:\n  addr: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(wippydBinary(t), "status")
	cmd.Dir = dir
	out, _ = cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "127.0.0.1:1") {
		t.Errorf("status did not ask admin.addr of .wippy.yaml: exit %d\n%s", code, out)
	}
	if got := node.ConfigFile(""); got != "" {
		t.Errorf("ConfigFile in a directory without .wippy.yaml = %q", got)
	}
	if got := node.ConfigFile("x.yaml"); got != "x.yaml" {
		t.Errorf("ConfigFile(x.yaml) = %q", got)
	}
}

// wippyNode is one node of TestWippyConfigFormsCluster: its directory,
// its process and what it logged.
type wippyNode struct {
	name, dir string
	d         *daemon
	admin     string
	internode string
	gossip    string
}

var (
	clusterPortsRE = regexp.MustCompile(`msg="cluster ports" internode=(\S+) membership=(\S+)`)
	adminRE        = regexp.MustCompile(`msg="admin endpoint listening" addr=(\S+)`)
)

// startWippyNode writes cfg as .wippy.yaml in a directory of its own, with
// the cluster key beside it, and starts the binary there without --config.
func startWippyNode(t *testing.T, src, name, cfg string) *wippyNode {
	t.Helper()
	n := &wippyNode{name: name, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(n.dir, "cluster.key"), []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.dir, ".wippy.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	n.d = startDaemonIn(t, n.dir, "run", "--src", src)
	n.d.next(`msg="admin endpoint listening"`)
	n.admin = adminRE.FindStringSubmatch(n.d.log[len(n.d.log)-1])[1]
	n.d.next(`msg="cluster ports"`)
	m := clusterPortsRE.FindStringSubmatch(n.d.log[len(n.d.log)-1])
	if m == nil {
		t.Fatalf("%s: no ports in %q", name, n.d.log[len(n.d.log)-1])
	}
	n.internode, n.gossip = m[1], m[2]
	return n
}

// wippyConfig is a node's cluster section in the shape of the Wippy
// cluster guide's examples: the node's name under cluster.name, a failure
// domain, seeds as one comma-separated string, the key from a file, and
// bootstrap_expect; the internode port left to auto-selection. Only the
// addresses differ (loopback, a free gossip port).
func wippyConfig(name, zone, join, raft string) string {
	return fmt.Sprintf(`admin:
  addr: 127.0.0.1:0
log:
  level: info
cluster:
  enabled: true
  name: %s
  failure_domain: %s
  membership:
    bind_addr: 127.0.0.1
    bind_port: 0
    join_addrs: "%s"
    secret_file: ./cluster.key
  raft:
    data_dir: ./data
%s`, name, zone, join, raft)
}

// TestWippyConfigFormsCluster starts three nodes whose only configuration
// is a Wippy-style .wippy.yaml (bootstrap_expect 3, max_voters 5), the
// later two seeded with the first, and a gossip-only client (raft.role
// client): they form one cluster, the three servers bootstrap together
// with the same voters and agree on one leader, and the client joins
// without entering Raft. Each node's internode port is picked at start
// and reached by the others through what gossip advertises.
func TestWippyConfigFormsCluster(t *testing.T) {
	src := writeApp(t, map[string]string{"app.yaml": minimalApp})
	servers := "    bootstrap_expect: 3\n    max_voters: 5\n"
	n1 := startWippyNode(t, src, "node-1", wippyConfig("node-1", "zone-a", "", servers))
	seed := n1.gossip
	n2 := startWippyNode(t, src, "node-2", wippyConfig("node-2", "zone-b", seed, servers))
	n3 := startWippyNode(t, src, "node-3", wippyConfig("node-3", "zone-c", seed+","+n2.gossip, servers))
	edge := startWippyNode(t, src, "edge-7", wippyConfig("edge-7", "zone-a", seed, "    role: client\n"))
	all := []*wippyNode{n1, n2, n3, edge}
	ports := map[string]bool{}
	for _, n := range all {
		ports[n.internode] = true
	}
	if len(ports) != len(all) {
		t.Errorf("internode addresses not distinct: %v", ports)
	}
	var last string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last seen: %s", last)
			for _, n := range all {
				t.Logf("%s:\n%s", n.name, strings.Join(n.d.log, "\n"))
			}
		}
	})
	await.Within(t, 30*time.Second, "one cluster of four members, one leader", func() bool {
		leaders := map[string]bool{}
		for _, n := range all {
			st, err := fetchStatus(n.admin)
			if err != nil {
				last = n.name + ": " + err.Error()
				return false
			}
			var alive []string
			for _, m := range st.Members {
				if m.State == "alive" {
					alive = append(alive, m.Name)
				}
			}
			slices.Sort(alive)
			if st.Node != n.name || !slices.Equal(alive, []string{"edge-7", "node-1", "node-2", "node-3"}) {
				last = fmt.Sprintf("%s: node %q, alive %v", n.name, st.Node, alive)
				return false
			}
			if n == edge {
				continue
			}
			if st.Raft == nil || st.Raft.Leader == "" {
				last = n.name + ": no leader"
				return false
			}
			leaders[st.Raft.Leader] = true
		}
		last = fmt.Sprintf("leaders %v", leaders)
		return len(leaders) == 1
	})
	for _, n := range all {
		n.d.signal(os.Interrupt)
	}
	for _, n := range all {
		if code := n.d.exit(30 * time.Second); code != 0 {
			t.Errorf("%s exit %d", n.name, code)
		}
	}
	// Whichever servers bootstrapped (those that saw the others still
	// without state), they bootstrapped the same three voters; the others
	// received that configuration from the leader.
	boots := 0
	for _, n := range all {
		for _, l := range n.d.log {
			if !strings.Contains(l, `msg="bootstrapped raft"`) {
				continue
			}
			boots++
			if n == edge || !strings.Contains(l, `servers="[node-1 node-2 node-3]"`) {
				t.Errorf("%s: %s", n.name, l)
			}
		}
	}
	if boots == 0 {
		t.Error("no node bootstrapped")
	}
}

func fetchStatus(addr string) (*node.Status, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/v1/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var st node.Status
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}
