package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/node"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/proc"
)

func TestPrintStatus(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, node.Status{
		Node: "n1", Version: "v", Ready: true, UptimeS: 61, Processes: 3,
		Messages: node.MessageStatus{SentLocal: 5, Dropped: map[string]uint64{"noproc": 2, "unread": 0}},
		Hosts:    []node.HostStatus{{ID: "app:processes", Processes: 3, ByState: map[string]int{"idle": 2, "ready": 1, "running": 0}}},
		Services: []node.ServiceStatus{{ID: "app:svc", State: "failed", Restarts: 4, LastError: "boom"}},
		Raft: &node.RaftStatus{State: "leader", Leader: "n1", CommitIndex: 9,
			Names: []node.NameStatus{{Name: "coordinator", PID: "{n2@app:processes|0x00007}", Scope: "consistent"},
				{Name: "lock", PID: "{n1@app:processes|0x00009}", Scope: "strong", Pending: true}}},
		Names:    map[string]int{"local": 2, "eventual": 1, "consistent": 1, "strong": 1},
		Eventual: &node.NameList{Names: []node.NameStatus{{Name: "cache", PID: "{n3@app:processes|0x00001}", Scope: "eventual"}}},
	})
	out := b.String()
	for _, want := range []string{"node n1 (wippyd v), ready, up 1m1s", "dropped: noproc=2\n", "idle=2 ready=1\n",
		"app:svc", "failed", "boom", "raft: leader, leader n1, commit index 9",
		"names: local=2 eventual=1 consistent=1 strong=1\n",
		"RAFT NAME    SCOPE             OWNER\ncoordinator  consistent        {n2@app:processes|0x00007}\nlock         strong (pending)  {n1@app:processes|0x00009}\n",
		"EVENTUAL NAME  SCOPE     OWNER\ncache          eventual  {n3@app:processes|0x00001}\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "unread") || strings.Contains(out, "running=") || strings.Contains(out, "listed up to") {
		t.Errorf("zero counts printed:\n%s", out)
	}
}

func TestPrintStatusNamesOmitted(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, node.Status{Node: "n1", Raft: &node.RaftStatus{State: "follower", NamesOmitted: 250}})
	out := b.String()
	if want := "250 consistent and strong names (listed up to 100)\n"; !strings.Contains(out, want) {
		t.Errorf("status output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "RAFT NAME") {
		t.Errorf("empty name table printed:\n%s", out)
	}
}

// status sends the admin token from --token-file, or from the node's
// configuration (here WIPPY_ADMIN_TOKEN_FILE).
func TestStatusSendsToken(t *testing.T) {
	const token = "status-token-0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(node.Status{Node: "n9", Ready: true})
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		environ []string
		code    int
	}{
		{"no token", []string{"--addr", addr}, nil, 1},
		{"--token-file", []string{"--addr", addr, "--token-file", file}, nil, 0},
		{"environment", []string{"--addr", addr}, []string{"WIPPY_ADMIN_TOKEN_FILE=" + file}, 0},
		{"missing file", []string{"--addr", addr, "--token-file", file + ".nope"}, nil, 2},
	} {
		var out, errOut bytes.Buffer
		code := statusCmd(tc.args, &out, &errOut, tc.environ)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, errOut.String())
		}
		if code == 0 && !strings.Contains(out.String(), "node n9") {
			t.Errorf("%s: output %q", tc.name, out.String())
		}
		if strings.Contains(errOut.String(), token) {
			t.Errorf("%s: the token is printed: %s", tc.name, errOut.String())
		}
	}
}

func TestStatusDialAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:7960": "127.0.0.1:7960", "0.0.0.0:7961": "127.0.0.1:7961", ":7962": "127.0.0.1:7962",
		"[::]:7963": "127.0.0.1:7963", "10.0.0.5:7964": "10.0.0.5:7964", "": node.DefaultAdminAddr,
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusShowsEveryScope: a clustered node holding one name in each of
// the four scopes counts them all in /v1/status, `wippyd status` prints
// them, and /metrics exports wippy_registry_names for each scope.
func TestStatusShowsEveryScope(t *testing.T) {
	cfg := node.LoopbackConfig("n1")
	cfg.Cluster.Enabled = true
	cfg.Cluster.Raft.BootstrapExpect = 1
	cfg.Admin.Addr = "127.0.0.1:0"
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n.Stop(ctx)
	})
	await.Within(t, 30*time.Second, "the node ready with a Raft leader", n.Ready)
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Runtime().Register("l", p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range []proc.Scope{proc.ScopeEventual, proc.ScopeConsistent, proc.ScopeStrong} {
		if err := n.NameService().Register(ctx, s, "n-"+s.String(), p); err != nil {
			t.Fatalf("register in %v: %v", s, err)
		}
	}
	want := map[string]int{"local": 1, "eventual": 1, "consistent": 1, "strong": 1}
	if got := n.Status().Names; !maps.Equal(got, want) {
		t.Errorf("status names %v, want %v", got, want)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"status", "--addr", n.AdminAddr()}, &out, &errb); code != 0 {
		t.Fatalf("wippyd status: %d %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "names: local=1 eventual=1 consistent=1 strong=1\n") {
		t.Errorf("wippyd status:\n%s", out.String())
	}
	resp, err := http.Get("http://" + n.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for s := range want {
		if series := `wippy_registry_names{scope="` + s + `"} 1`; !strings.Contains(string(body), series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	for _, series := range []string{`wippy_eventual_refused_total{reason="full"} 0`, `wippy_eventual_refused_total{reason="remote"} 0`} {
		if !strings.Contains(string(body), series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}
