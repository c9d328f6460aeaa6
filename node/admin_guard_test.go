package node

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const adminTestToken = "s3cret-admin-token-0123"

// call makes one request with the given headers ("Host" sets the Host).
func call(t *testing.T, n *Node, method, path string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+n.AdminAddr()+path, nil)
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// A web page open in a browser on the node's host cannot make it restart
// a service: the cross-site request, and a request through a domain the
// attacker points at 127.0.0.1 (DNS rebinding), are refused. A local
// command line client (no Origin) still works without a token, on the
// loopback. 404 is the answer a request that gets through has here (the
// service does not exist).
func TestAdminRefusesCrossOriginRequests(t *testing.T) {
	n := startAdminNode(t)
	restart := "/v1/services/app:svc/restart"
	for _, tc := range []struct {
		name    string
		headers map[string]string
		code    int
	}{
		{"local client", nil, 404},
		{"same origin", map[string]string{"Origin": "http://" + n.AdminAddr()}, 404},
		{"another origin", map[string]string{"Origin": "http://evil.example"}, 403},
		{"origin null", map[string]string{"Origin": "null"}, 403},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"dns rebinding", map[string]string{"Host": "evil.example:7960", "Origin": "http://evil.example:7960"}, 403},
		{"localhost", map[string]string{"Host": "localhost"}, 404},
	} {
		if code := call(t, n, "POST", restart, tc.headers); code != tc.code {
			t.Errorf("%s: POST restart = %d, want %d", tc.name, code, tc.code)
		}
	}
	// Reads are not mutating: a page may not read them (no CORS), and the
	// Host check does not apply to the probes; /v1 reads through a domain
	// an attacker points at 127.0.0.1 are refused.
	if code := call(t, n, "GET", "/healthz", map[string]string{"Origin": "http://evil.example"}); code != 200 {
		t.Errorf("GET /healthz from another origin = %d", code)
	}
	for _, path := range []string{"/v1/status", "/v1/cluster", "/v1/nodes/adm/processes"} {
		if code := call(t, n, "GET", path, map[string]string{"Host": "evil.example:7960"}); code != 403 {
			t.Errorf("GET %s by a rebound domain = %d, want 403", path, code)
		}
		if code := call(t, n, "GET", path, map[string]string{"Host": "localhost:7960"}); code != 200 {
			t.Errorf("GET %s on localhost = %d, want 200", path, code)
		}
	}
}

// With admin.token, every mutating call needs it; reads on the loopback
// and the probes do not.
func TestAdminTokenRequired(t *testing.T) {
	n := startAdminNodeWith(t, func(c *Config) { c.Admin.Token = adminTestToken })
	restart := "/v1/services/app:svc/restart"
	for _, tc := range []struct {
		name, method, path, auth string
		code                     int
	}{
		{"no token", "POST", restart, "", 401},
		{"wrong token", "POST", restart, "Bearer " + adminTestToken + "x", 401},
		{"prefix of the token", "POST", restart, "Bearer " + adminTestToken[:8], 401},
		{"basic auth", "POST", restart, "Basic " + adminTestToken, 401},
		{"token", "POST", restart, "Bearer " + adminTestToken, 404},
		{"lower-case scheme", "POST", restart, "bearer " + adminTestToken, 404},
		{"status on the loopback", "GET", "/v1/status", "", 200},
		{"healthz", "GET", "/healthz", "", 200},
		{"metrics", "GET", "/metrics", "", 200},
	} {
		h := map[string]string{}
		if tc.auth != "" {
			h["Authorization"] = tc.auth
		}
		if code := call(t, n, tc.method, tc.path, h); code != tc.code {
			t.Errorf("%s: %s %s = %d, want %d", tc.name, tc.method, tc.path, code, tc.code)
		}
	}
	// The token does not make a cross-origin request acceptable.
	h := map[string]string{"Authorization": "Bearer " + adminTestToken, "Origin": "http://evil.example"}
	if code := call(t, n, "POST", restart, h); code != 403 {
		t.Errorf("cross-origin with the token = %d, want 403", code)
	}
}

// An endpoint beyond the loopback wants the token for /v1 reads too, not
// for the probes. (Checked on the handler: tests listen on the loopback
// only.)
func TestAdminReadsGatedBeyondLoopback(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	g, err := newGuard(AdminConfig{Addr: "0.0.0.0:7960", Token: adminTestToken}, ok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, auth string
		code       int
	}{
		{"/v1/status", "", 401}, {"/v1/status", "Bearer nope-nope-nope-nope", 401},
		{"/v1/status", "Bearer " + adminTestToken, 200},
		{"/healthz", "", 200}, {"/readyz", "", 200}, {"/metrics", "", 200},
	} {
		req := httptest.NewRequest("GET", "http://10.0.0.1:7960"+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		g.ServeHTTP(w, req)
		if w.Code != tc.code {
			t.Errorf("GET %s (%q) = %d, want %d", tc.path, tc.auth, w.Code, tc.code)
		}
	}
}

// Idle keep-alive connections cannot pile up: past adminMaxConns the
// oldest idle ones are closed, and the endpoint keeps answering.
func TestAdminConnectionCap(t *testing.T) {
	n := startAdminNode(t)
	const clients = 3 * adminMaxConns
	conns := make([]net.Conn, 0, clients)
	for i := range clients {
		c, err := net.Dial("tcp", n.AdminAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", n.AdminAddr())
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conns = append(conns, c)
	}
	if got := n.admin.ln.open(); got > adminMaxConns {
		t.Fatalf("%d connections held, cap %d", got, adminMaxConns)
	}
	closed := 0
	for _, c := range conns {
		// A closed one answers EOF at once; an open one times out. (A
		// deadline already passed would hide an EOF: one per read.)
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); err != nil && !(ok && ne.Timeout()) {
			closed++ // EOF, or a reset
		}
	}
	if closed < clients-adminMaxConns {
		t.Fatalf("%d of %d idle connections closed, want at least %d", closed, clients, clients-adminMaxConns)
	}
	if code, _ := get(t, n, "GET", "/healthz"); code != 200 {
		t.Fatalf("healthz after the flood: %d", code)
	}
	srv := n.admin.srv
	if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.WriteTimeout == 0 || srv.IdleTimeout == 0 {
		t.Fatalf("admin server timeouts unset: %+v", srv)
	}
	if strings.Contains(n.AdminAddr(), "0.0.0.0") {
		t.Fatal("admin test endpoint is not on the loopback")
	}
}
