package node

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The admin endpoint's defences: who may call what, and how much of the
// node's resources connections may hold.

// Admin HTTP server limits. A request has ReadHeaderTimeout to send its
// headers and adminReadTimeout for all of it; an answer (a metrics scrape
// included) adminWriteTimeout; a keep-alive connection stays open
// adminIdleTimeout between requests. At most adminMaxConns connections
// are open: past it a new connection evicts the longest-idle one.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 10 * time.Second
	adminWriteTimeout      = 30 * time.Second
	adminIdleTimeout       = 60 * time.Second
	adminMaxHeaderBytes    = 16 << 10
	adminMaxConns          = 64
)

// guard checks every admin request before its handler:
//   - a mutating call (any method but GET and HEAD) needs the token when
//     one is set, and must not come from another origin: a browser's
//     cross-site request carries an Origin or Sec-Fetch-Site that gives it
//     away. Without a token (the endpoint is then on the loopback) the
//     Host must be a loopback name or address too, so that a page whose
//     domain an attacker points at 127.0.0.1 (DNS rebinding) is refused;
//   - a /v1 read needs the token when the endpoint listens beyond the
//     loopback; on the loopback it needs a loopback Host instead, so that
//     a page of a domain an attacker points at 127.0.0.1 cannot read the
//     node's processes, names and status through the visitor's browser;
//   - /healthz, /readyz and /metrics are open to GET, for probes and
//     scrapers.
type guard struct {
	token      []byte // nil: no token set
	readsGated bool   // /v1 reads need the token
	next       http.Handler
}

func newGuard(cfg AdminConfig, next http.Handler) (*guard, error) {
	token, err := cfg.BearerToken()
	if err != nil {
		return nil, err
	}
	g := &guard{next: next}
	if token != "" {
		g.token = []byte(token)
	}
	if host, _, err := net.SplitHostPort(cfg.Addr); err == nil && !isLoopback(host) {
		g.readsGated = true
	}
	return g, nil
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mutating := r.Method != http.MethodGet && r.Method != http.MethodHead
	if mutating {
		if reason := crossOrigin(r, g.token == nil); reason != "" {
			http.Error(w, "forbidden: "+reason, http.StatusForbidden)
			return
		}
	}
	if !mutating && !g.readsGated && strings.HasPrefix(r.URL.Path, "/v1/") && !isLoopbackHost(r.Host) {
		http.Error(w, "forbidden: Host "+r.Host+" is not the loopback", http.StatusForbidden)
		return
	}
	if (mutating && g.token != nil) || (g.readsGated && strings.HasPrefix(r.URL.Path, "/v1/")) {
		if !g.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wippyd"`)
			http.Error(w, "unauthorized: this call needs Authorization: Bearer <admin.token>", http.StatusUnauthorized)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// authorized compares the request's bearer token with the node's in
// constant time.
func (g *guard) authorized(r *http.Request) bool {
	if g.token == nil {
		return false
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), g.token) == 1
}

// crossOrigin says why a mutating request looks like it comes from a web
// page of another origin, or "" when it does not. loopbackHost also
// requires the Host header to name the loopback.
func crossOrigin(r *http.Request, loopbackHost bool) string {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request (Sec-Fetch-Site: " + site + ")"
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return "request from another origin"
		}
	}
	if loopbackHost && !isLoopbackHost(r.Host) {
		return "Host " + r.Host + " is not the loopback"
	}
	return ""
}

// isLoopbackHost: a Host header (host or host:port) names the loopback.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return isLoopback(strings.Trim(host, "[]"))
}

// connLimit is a listener that keeps at most max connections of an
// http.Server open (its ConnState must be hooked to track): at the cap, a
// new connection evicts the one idle the longest (between keep-alive
// requests, or connected and silent), and is itself closed when every
// open connection is busy with a request.
type connLimit struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[net.Conn]*connEntry
}

type connEntry struct {
	busy  bool
	since time.Time
}

func newConnLimit(ln net.Listener, max int) *connLimit {
	return &connLimit{Listener: ln, max: max, conns: map[net.Conn]*connEntry{}}
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.conns) >= l.max && !l.evictLocked() {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[c] = &connEntry{since: time.Now()}
		l.mu.Unlock()
		return c, nil
	}
}

// evictLocked closes the connection idle the longest; false when none is
// idle.
func (l *connLimit) evictLocked() bool {
	var oldest net.Conn
	var at time.Time
	for c, e := range l.conns {
		if !e.busy && (oldest == nil || e.since.Before(at)) {
			oldest, at = c, e.since
		}
	}
	if oldest == nil {
		return false
	}
	delete(l.conns, oldest)
	oldest.Close()
	return true
}

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.conns[c]
	if e == nil {
		return
	}
	switch st {
	case http.StateActive:
		e.busy = true
	case http.StateIdle:
		e.busy, e.since = false, time.Now()
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

// open returns the number of connections held.
func (l *connLimit) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
