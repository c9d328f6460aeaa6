package node

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/internal/await"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// obsCall makes one request and returns the status and body.
func obsCall(t *testing.T, n *Node, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.AdminAddr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func obsJSON[T any](t *testing.T, n *Node, path string) T {
	t.Helper()
	code, body := obsCall(t, n, "GET", path, "")
	if code != 200 {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	return v
}

func spawnNamed(t *testing.T, n *Node, entry, name string) pid.PID {
	t.Helper()
	p, err := n.Runtime().Spawn(proc.SpawnRequest{Entry: entry, Name: name, Behavior: native.New(native.MessageFunc(func(*native.Ctx, native.Message) error { return nil }))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The page and its assets are served, and the views answer with what the
// node holds.
func TestObserverViews(t *testing.T) {
	n := startAdminNodeWith(t, func(c *Config) { c.Admin.Token = adminTestToken })
	a := spawnNamed(t, n, "app:alpha", "alpha")
	for _, name := range []string{"beta-0", "beta-1", ""} {
		spawnNamed(t, n, "app:beta", name)
	}
	code, body := obsCall(t, n, "GET", "/", "")
	if code != 200 || !strings.Contains(body, "wippyd observer") || !strings.Contains(body, "/ui/app.js") {
		t.Fatalf("GET / = %d %.200s", code, body)
	}
	if code, body := obsCall(t, n, "GET", "/ui/app.js", ""); code != 200 || !strings.Contains(body, "function route()") {
		t.Fatalf("GET /ui/app.js = %d", code)
	}
	if info := obsJSON[ObsInfo](t, n, "/v1/observer"); info.Node != "adm" || !info.Actions {
		t.Fatalf("info %+v", info)
	}
	cl := obsJSON[ObsCluster](t, n, "/v1/cluster")
	if len(cl.Nodes) != 1 || cl.Nodes[0].Brief == nil || cl.Nodes[0].Brief.Processes != 4 {
		t.Fatalf("cluster %+v", cl)
	}
	nv := obsJSON[ObsNodeView](t, n, "/v1/nodes/adm")
	if nv.Node != "adm" || nv.Processes != 4 || len(nv.Entries) != 2 || len(nv.Hosts) != 1 {
		t.Fatalf("node view %+v", nv)
	}
	pg := obsJSON[ObsProcessPage](t, n, "/v1/nodes/adm/processes?entry=beta&per_page=2&page=2")
	if pg.Total != 3 || pg.Pages != 2 || len(pg.Processes) != 1 || pg.Processes[0].Entry != "app:beta" {
		t.Fatalf("page %+v", pg)
	}
	pg = obsJSON[ObsProcessPage](t, n, "/v1/nodes/adm/processes?name=alph")
	if pg.Total != 1 || pg.Processes[0].PID != a.String() {
		t.Fatalf("by name %+v", pg)
	}
	d := obsJSON[ObsProcessDetail](t, n, "/v1/nodes/adm/processes/"+url.PathEscape(a.String()))
	if d.PID != a.String() || len(d.Names) != 1 || d.Names[0] != "alpha" || d.Entry != "app:alpha" {
		t.Fatalf("detail %+v", d)
	}
	names := obsJSON[ObsNames](t, n, "/v1/nodes/adm/names?name=alph")
	if l := names.Scopes["local"]; len(names.Scopes) != 1 || l.Total != 1 || l.Names[0].Name != "alpha" || l.Names[0].PID != a.String() {
		t.Fatalf("names %+v", names)
	}
	names = obsJSON[ObsNames](t, n, "/v1/nodes/adm/names?scope=local&per_page=2&page=2")
	if l := names.Scopes["local"]; l.Total != 3 || l.Pages != 2 || len(l.Names) != 1 || l.Names[0].Name != "beta-1" {
		t.Fatalf("names, page 2 of 2 a page: %+v", names)
	}
	if g := obsJSON[ObsGroups](t, n, "/v1/nodes/adm/groups"); g.Node != "adm" {
		t.Fatalf("groups %+v", g)
	}
}

// Bad input is answered 4xx with a message, and changes nothing.
func TestObserverBadInput(t *testing.T) {
	n := startAdminNodeWith(t, func(c *Config) { c.Admin.Token = adminTestToken })
	a := spawnNamed(t, n, "app:alpha", "alpha")
	ap := url.PathEscape(a.String())
	unknown := url.PathEscape(pid.PID{Node: "adm", Host: DefaultHost, Seq: 1 << 40}.String())
	other := url.PathEscape(pid.PID{Node: "elsewhere", Host: DefaultHost, Seq: 1}.String())
	for _, tc := range []struct {
		name, method, path, token string
		code                      int
		msg                       string
	}{
		{"unknown pid", "GET", "/v1/nodes/adm/processes/" + unknown, "", 404, "no live process"},
		{"not a pid", "GET", "/v1/nodes/adm/processes/bogus", "", 400, "not a PID"},
		{"pid of another node", "GET", "/v1/nodes/adm/processes/" + other, "", 400, "process of node"},
		{"unknown node", "GET", "/v1/nodes/zz/processes", "", 404, "no node"},
		{"page 0", "GET", "/v1/nodes/adm/processes?page=0", "", 400, "page must be"},
		{"page -1", "GET", "/v1/nodes/adm/processes?page=-1", "", 400, "page must be"},
		{"page text", "GET", "/v1/nodes/adm/processes?page=two", "", 400, "page must be"},
		{"per_page too big", "GET", "/v1/nodes/adm/processes?per_page=100000", "", 400, "per_page must be"},
		{"bad state", "GET", "/v1/nodes/adm/processes?state=sleepy", "", 400, "state must be"},
		{"unknown host", "GET", "/v1/nodes/adm/processes?host=nope", "", 404, "no host"},
		{"names page 0", "GET", "/v1/nodes/adm/names?page=0", "", 400, "page must be"},
		{"groups per_page 0", "GET", "/v1/nodes/adm/groups?per_page=0", "", 400, "per_page must be"},
		{"unknown pg scope", "GET", "/v1/nodes/adm/groups?scope=app:nope", "", 404, "no pg scope"},
		{"unknown name scope", "GET", "/v1/nodes/adm/names?scope=global", "", 400, "scope must be"},
		{"a cluster scope standalone", "GET", "/v1/nodes/adm/names?scope=eventual", "", 404, "no eventual names"},
		{"cancel without token", "POST", "/v1/nodes/adm/processes/" + ap + "/cancel", "", 401, "unauthorized"},
		{"cancel with a wrong token", "POST", "/v1/nodes/adm/processes/" + ap + "/cancel", adminTestToken + "x", 401, "unauthorized"},
		{"terminate without token", "POST", "/v1/nodes/adm/processes/" + ap + "/terminate", "", 401, "unauthorized"},
		{"cancel unknown pid", "POST", "/v1/nodes/adm/processes/" + unknown + "/cancel", adminTestToken, 404, "no live process"},
		{"restart unknown service", "POST", "/v1/nodes/adm/services/app:nope/restart", adminTestToken, 404, "no service"},
		{"GET an action", "GET", "/v1/nodes/adm/processes/" + ap + "/cancel", "", 405, ""},
		{"POST a view", "POST", "/v1/nodes/adm/processes", adminTestToken, 405, ""},
	} {
		code, body := obsCall(t, n, tc.method, tc.path, tc.token)
		if code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %s %s = %d %q, want %d with %q", tc.name, tc.method, tc.path, code, strings.TrimSpace(body), tc.code, tc.msg)
		}
	}
	if _, ok := n.Runtime().Process(a); !ok {
		t.Fatal("the process ended after refused calls")
	}
	// With the token it goes.
	if code, body := obsCall(t, n, "POST", "/v1/nodes/adm/processes/"+ap+"/cancel", adminTestToken); code != 202 {
		t.Fatalf("cancel = %d %s", code, body)
	}
	await.Until(t, "process gone", func() bool { _, ok := n.Runtime().Process(a); return !ok })
}

// Without admin.token the observer is read-only: actions are refused even
// from the loopback.
func TestObserverReadOnlyWithoutToken(t *testing.T) {
	n := startAdminNode(t)
	a := spawnNamed(t, n, "app:alpha", "alpha")
	code, body := obsCall(t, n, "POST", "/v1/nodes/adm/processes/"+url.PathEscape(a.String())+"/terminate", "")
	if code != 403 || !strings.Contains(body, "read-only") {
		t.Fatalf("terminate without a token on the node = %d %s", code, body)
	}
	if info := obsJSON[ObsInfo](t, n, "/v1/observer"); info.Actions {
		t.Fatalf("info %+v", info)
	}
	if _, ok := n.Runtime().Process(a); !ok {
		t.Fatal("the process ended")
	}
}
