package node

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func startAdminNode(t *testing.T) *Node {
	t.Helper()
	return startAdminNodeWith(t, func(*Config) {})
}

func startAdminNodeWith(t *testing.T, edit func(*Config)) *Node {
	t.Helper()
	cfg := LoopbackConfig("adm")
	cfg.Node.Workers = 2
	cfg.Admin.Addr = "127.0.0.1:0"
	edit(&cfg)
	return startTestNode(t, cfg)
}

func get(t *testing.T, n *Node, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.AdminAddr()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue finds one sample line "name{labels} value" in a scrape.
func metricValue(t *testing.T, scrape, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(scrape))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, series)), 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("series %s not in scrape", series)
	return 0
}

// The counters are real: N messages move sent and received by exactly N.
func TestMetricsMoveWithMessages(t *testing.T) {
	n := startAdminNode(t)
	const N = 500
	got := make(chan struct{})
	count := 0
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		count++
		if count == N {
			close(got)
		}
		return nil
	}))})
	if err != nil {
		t.Fatal(err)
	}
	_, before := get(t, n, "GET", "/metrics")
	sent0 := metricValue(t, before, `wippy_messages_sent_total{scope="local"}`)
	recv0 := metricValue(t, before, `wippy_messages_received_total{scope="local"}`)
	for i := 0; i < N; i++ {
		n.Runtime().Send(pid.PID{}, p, "m", msg.String("secret-payload-xyz"))
	}
	<-got
	code, after := get(t, n, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	if d := metricValue(t, after, `wippy_messages_sent_total{scope="local"}`) - sent0; d != N {
		t.Fatalf("sent moved by %v, want %d", d, N)
	}
	if d := metricValue(t, after, `wippy_messages_received_total{scope="local"}`) - recv0; d != N {
		t.Fatalf("received moved by %v, want %d", d, N)
	}
	for _, name := range []string{"wippy_processes{", "wippy_spawns_total{", "wippy_exits_total{", "wippy_messages_dropped_total{",
		"wippy_mailbox_depth_max ", "wippy_scheduler_steals_total ", "wippy_runqueue_length ", "wippy_scheduler_handoffs_total ",
		"wippy_registry_names{", "go_goroutines "} {
		if !strings.Contains(after, name) {
			t.Errorf("scrape lacks %s", name)
		}
	}
	_, status := get(t, n, "GET", "/v1/status")
	for _, body := range []string{after, status} {
		if strings.Contains(body, "secret-payload-xyz") {
			t.Fatal("admin endpoint exposed a message payload")
		}
	}
}

func TestAdminPathsAndMethods(t *testing.T) {
	n := startAdminNode(t)
	cases := []struct {
		method, path string
		code         int
	}{
		{"GET", "/healthz", 200}, {"GET", "/readyz", 200}, {"GET", "/metrics", 200}, {"GET", "/v1/status", 200},
		{"POST", "/healthz", 405}, {"PUT", "/readyz", 405}, {"DELETE", "/metrics", 405}, {"POST", "/v1/status", 405},
		{"GET", "/v1/services/app:svc/restart", 405}, {"POST", "/v1/services/app:svc/restart", 404},
		{"GET", "/nope", 404},
	}
	for _, c := range cases {
		if code, body := get(t, n, c.method, c.path); code != c.code {
			t.Errorf("%s %s = %d (%s), want %d", c.method, c.path, code, body, c.code)
		}
	}
	_, body := get(t, n, "GET", "/v1/status")
	var st Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status is not JSON: %v\n%s", err, body)
	}
	if st.Node != "adm" || !st.Ready || len(st.Hosts) == 0 || st.Hosts[0].ID != DefaultHost {
		t.Fatalf("status %+v", st)
	}
}

func TestAdminDefaultsToLoopback(t *testing.T) {
	if a := DefaultConfig().Admin.Addr; !strings.HasPrefix(a, "127.0.0.1:") {
		t.Fatalf("default admin address %q is not loopback", a)
	}
}

// /v1/status lists the CONSISTENT names of the node's replica with their
// owners, sorted, and only counts them past MaxStatusNames.
func TestStatusListsConsistentNames(t *testing.T) {
	n := clusterNodeWith(t, "solo", func(c *Config) {
		c.Admin.Addr = "127.0.0.1:0"
		c.Cluster.Raft.Enabled = true
		c.Cluster.Raft.BootstrapExpect = 1
	})
	await.Until(t, "a ready node leading its own Raft", n.Ready)
	idle := native.MessageFunc(func(*native.Ctx, native.Message) error { return nil })
	spawn := func() pid.PID {
		t.Helper()
		p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(idle)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	register := func(name string, p pid.PID) {
		t.Helper()
		if err := n.cluster.names.Register(ctx, name, p); err != nil {
			t.Fatalf("register %s: %v", name, err)
		}
	}
	status := func() (Status, string) {
		t.Helper()
		code, body := get(t, n, "GET", "/v1/status")
		var st Status
		if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.Raft == nil {
			t.Fatalf("status %d %v:\n%s", code, err, body)
		}
		return st, body
	}

	if st, body := status(); len(st.Raft.Names) != 0 || !strings.Contains(body, `"names": []`) {
		t.Fatalf("an empty replica lists %v:\n%s", st.Raft.Names, body)
	}
	// Register returns once this node (the leader, one of one) applied
	// the entry, and the status shows it at once: the count and the list
	// of names, read one after the other, agree.
	settled := func(count int) Status {
		t.Helper()
		st, _ := status()
		if st.Names["consistent"] != count || len(st.Raft.Names)+st.Raft.NamesOmitted != count {
			t.Fatalf("status right after the registers: count %d, %d listed, %d omitted; want %d",
				st.Names["consistent"], len(st.Raft.Names), st.Raft.NamesOmitted, count)
		}
		return st
	}
	p1, p2 := spawn(), spawn()
	register("zeta", p1)
	register("alpha", p2)
	register("mid", p1)
	st := settled(3)
	want := []NameStatus{{"alpha", p2.String(), "consistent", false}, {"mid", p1.String(), "consistent", false}, {"zeta", p1.String(), "consistent", false}}
	if fmt.Sprint(st.Raft.Names) != fmt.Sprint(want) || st.Raft.NamesOmitted != 0 {
		t.Fatalf("names %v (omitted %d, count %d), want %v", st.Raft.Names, st.Raft.NamesOmitted, st.Names["consistent"], want)
	}

	for i := len(want); i <= MaxStatusNames; i++ {
		register(fmt.Sprintf("bulk-%03d", i), p1)
	}
	st = settled(MaxStatusNames + 1)
	if len(st.Raft.Names) != 0 || st.Raft.NamesOmitted != MaxStatusNames+1 {
		t.Fatalf("past the bound: %d listed, %d omitted, count %d", len(st.Raft.Names), st.Raft.NamesOmitted, st.Names["consistent"])
	}
}
