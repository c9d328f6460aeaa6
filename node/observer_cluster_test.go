package node

import (
	"net/url"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/pid"
)

// observerCluster starts three loopback nodes with Raft, the first with
// its admin endpoint (and the admin token), and waits until they are one
// cluster with a leader.
func observerCluster(t *testing.T) [3]*Node {
	t.Helper()
	raft := func(admin bool) func(*Config) {
		return func(c *Config) {
			c.Cluster.Raft.Enabled = true
			c.Cluster.FailureDomain = "zone-" + c.Node.Name
			if admin {
				c.Admin.Addr = "127.0.0.1:0"
				c.Admin.Token = adminTestToken
			}
		}
	}
	var ns [3]*Node
	ns[0] = clusterNodeWith(t, "n1", raft(true))
	ns[1] = clusterNodeWith(t, "n2", raft(false), ns[0].MembershipAddr())
	ns[2] = clusterNodeWith(t, "n3", raft(false), ns[0].MembershipAddr())
	await.Until(t, "three ready nodes with a Raft leader, connected", func() bool {
		for _, n := range ns {
			if !n.Ready() || len(n.Nodes()) != 2 {
				return false
			}
		}
		return true
	})
	return ns
}

// The admin endpoint of one node answers for the others over the mesh:
// the cluster view, another node's processes and process page, and an
// action on another node's process.
func TestObserverAcrossNodes(t *testing.T) {
	ns := observerCluster(t)
	n1, n2 := ns[0], ns[1]
	target := spawnNamed(t, n2, "app:remote", "far-worker")
	await.Until(t, "the cluster view lists three nodes with figures and one leader", func() bool {
		cl := obsJSON[ObsCluster](t, n1, "/v1/cluster")
		leaders := 0
		for _, c := range cl.Nodes {
			if c.Brief == nil || c.State != "alive" {
				return false
			}
			if c.Leader {
				leaders++
			}
		}
		return len(cl.Nodes) == 3 && leaders == 1 && cl.Leader != ""
	})
	for _, c := range obsJSON[ObsCluster](t, n1, "/v1/cluster").Nodes {
		if c.Brief.FailureDomain != "zone-"+c.Name || c.Brief.RaftRole == "" {
			t.Fatalf("node %s: %+v", c.Name, c.Brief)
		}
	}
	pg := obsJSON[ObsProcessPage](t, n1, "/v1/nodes/n2/processes?name=far-")
	if pg.Node != "n2" || pg.Total != 1 || pg.Processes[0].PID != target.String() {
		t.Fatalf("n2's processes through n1: %+v", pg)
	}
	tp := url.PathEscape(target.String())
	d := obsJSON[ObsProcessDetail](t, n1, "/v1/nodes/n2/processes/"+tp)
	if d.Node != "n2" || d.Entry != "app:remote" {
		t.Fatalf("detail %+v", d)
	}
	// A PID of n2 asked of n3 is refused by n3.
	if code, body := obsCall(t, n1, "GET", "/v1/nodes/n3/processes/"+tp, ""); code != 400 || !strings.Contains(body, "process of node") {
		t.Fatalf("n2's PID on n3 = %d %s", code, body)
	}
	unknown := url.PathEscape(pid.PID{Node: "n2", Host: DefaultHost, Seq: 1 << 40}.String())
	if code, _ := obsCall(t, n1, "GET", "/v1/nodes/n2/processes/"+unknown, ""); code != 404 {
		t.Fatalf("unknown PID on n2 = %d", code)
	}
	if code, _ := obsCall(t, n1, "POST", "/v1/nodes/n2/processes/"+tp+"/terminate", ""); code != 401 {
		t.Fatalf("terminate without the token = %d", code)
	}
	if _, ok := n2.Runtime().Process(target); !ok {
		t.Fatal("refused terminate ended the process")
	}
	if code, body := obsCall(t, n1, "POST", "/v1/nodes/n2/processes/"+tp+"/terminate", adminTestToken); code != 202 {
		t.Fatalf("terminate on n2 through n1 = %d %s", code, body)
	}
	await.Until(t, "the process on n2 gone", func() bool { _, ok := n2.Runtime().Process(target); return !ok })
	names := obsJSON[ObsNames](t, n1, "/v1/nodes/n3/names")
	if _, ok := names.Scopes["consistent"]; names.Node != "n3" || !ok {
		t.Fatalf("n3's names %+v", names)
	}

	// n3 crashes: the cluster view shows it dead, without its figures,
	// and still answers for the others; its views are 4xx/5xx, not hangs.
	ns[2].Isolate()
	await.Until(t, "n3 dead in the cluster view, n1 and n2 answering", func() bool {
		cl := obsJSON[ObsCluster](t, n1, "/v1/cluster")
		for _, c := range cl.Nodes {
			switch {
			case c.Name == "n3" && (c.State != "dead" || c.Brief != nil || c.Error == ""):
				return false
			case c.Name != "n3" && c.Brief == nil:
				return false
			}
		}
		return len(cl.Nodes) == 3
	})
	if code, body := obsCall(t, n1, "GET", "/v1/nodes/n3/processes", ""); code < 400 {
		t.Fatalf("a dead node's processes = %d %s", code, body)
	}
}
