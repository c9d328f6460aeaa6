package examples_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The examples that need a cluster (workqueue across nodes, locks) run
// against nodes started here with `wippyd run` on the loopback, the
// example's program joining them as a client (`wippyd run -x`), as their
// READMEs show.

// bgNode is a node running in the background until the test ends.
type bgNode struct {
	name   string
	stderr *lockedBuffer
	member string // membership host:port, from its log
	admin  string // admin host:port, from its log
	done   chan struct{}
}

// clusterFlags are the --set flags of a node of this test's cluster:
// every port picked by the node and read from its log.
func clusterFlags(t *testing.T, name, join string) []string {
	args := []string{
		"--set", "node.name=" + name,
		"--set", "cluster.enabled=true",
		"--set", "cluster.membership.bind_addr=127.0.0.1",
		"--set", "cluster.membership.bind_port=0",
		"--set", "cluster.internode.auto_port=false",
		"--set", "cluster.membership.profile=fast",
		"--set", "cluster.raft.data_dir=" + filepath.Join(t.TempDir(), name),
	}
	if join != "" {
		args = append(args, "--set", "cluster.membership.join_addrs="+join)
	}
	return args
}

var (
	memberRE = regexp.MustCompile(`msg="cluster ports" .*membership=(\S+)`)
	adminRE  = regexp.MustCompile(`msg="admin endpoint listening" addr=(\S+)`)
)

// startNode runs `wippyd run --src dir` as node name, joining join
// (none: the first node), and waits until it has started.
func startNode(t *testing.T, dir, name, join string, extra ...string) *bgNode {
	t.Helper()
	n := &bgNode{name: name, stderr: &lockedBuffer{}, done: make(chan struct{})}
	args := append([]string{"run", "--src", dir, "--set", "admin.addr=127.0.0.1:0"}, clusterFlags(t, name, join)...)
	cmd := exec.Command(wippyd, append(args, extra...)...)
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-n.done
	})
	deadline := time.After(runTimeout)
	for {
		logged := n.stderr.String()
		m, a := memberRE.FindStringSubmatch(logged), adminRE.FindStringSubmatch(logged)
		if strings.Contains(logged, `msg="node started"`) && m != nil && a != nil {
			n.member, n.admin = m[1], a[1]
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("%s exited:\n%s", name, logged)
		case <-deadline:
			t.Fatalf("%s did not start within %v:\n%s", name, runTimeout, logged)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitCluster waits until every node is ready (joined, and with Raft a
// leader known) and sees all the others alive.
func waitCluster(t *testing.T, nodes ...*bgNode) {
	t.Helper()
	var names []string
	for _, n := range nodes {
		names = append(names, n.name)
	}
	slices.Sort(names)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	for _, n := range nodes {
		for {
			st, err := status(ctx, n.admin)
			if err == nil && st.Ready && slices.Equal(st.alive(), names) {
				break
			}
			select {
			case <-n.done:
				t.Fatalf("%s exited:\n%s", n.name, n.stderr.String())
			case <-ctx.Done():
				t.Fatalf("%s: no cluster of %v within %v: %+v %v\n%s", n.name, names, runTimeout, st, err, n.stderr.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

type nodeStatus struct {
	Ready   bool `json:"ready"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"members"`
}

func (s nodeStatus) alive() []string {
	var out []string
	for _, m := range s.Members {
		if m.State == "alive" {
			out = append(out, m.Name)
		}
	}
	slices.Sort(out)
	return out
}

func status(ctx context.Context, addr string) (nodeStatus, error) {
	var st nodeStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// runClient runs `wippyd run --src dir ... -x args...` as node "client"
// joining first, logging errors only (a client that leaves logs its
// connections ending), and returns its transcript.
func runClient(t *testing.T, dir string, first *bgNode, args ...string) string {
	t.Helper()
	all := append([]string{"run", "--src", dir, "--set", "admin.addr=", "--set", "log.level=error"}, clusterFlags(t, "client", first.member)...)
	return runWippyd(t, "", nil, append(all, args...)...)
}

// TestWorkqueueAcrossNodes: workers on two nodes and on the client itself
// (every node of the app runs one) take the client's jobs round-robin and
// answer its broadcast.
func TestWorkqueueAcrossNodes(t *testing.T) {
	noRaft := []string{"--set", "cluster.raft.enabled=false"}
	n1 := startNode(t, "workqueue", "n1", "", noRaft...)
	n2 := startNode(t, "workqueue", "n2", n1.member, noRaft...)
	waitCluster(t, n1, n2)
	got := runClient(t, "workqueue", n1, append(noRaft, "-x", "queue:submit", "3", "6")...)
	checkGolden(t, filepath.Join("workqueue", "testdata", "golden-cluster.txt"), got)
}

// TestLocksAcrossNodes: system.lock's outcomes and contenders on two
// nodes with Raft, run by a client.
func TestLocksAcrossNodes(t *testing.T) {
	n1 := startNode(t, "locks", "n1", "", "--set", "cluster.raft.bootstrap_expect=1")
	n2 := startNode(t, "locks", "n2", n1.member, "--set", "cluster.raft.bootstrap_expect=0")
	waitCluster(t, n1, n2)
	got := runClient(t, "locks", n1, "-x", "locks:main")
	checkGolden(t, filepath.Join("locks", "testdata", "golden.txt"), got)
}
