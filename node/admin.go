package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the JSON of GET /v1/status.
type Status struct {
	Node      string          `json:"node"`
	Version   string          `json:"version"`
	Started   time.Time       `json:"started"`
	UptimeS   float64         `json:"uptime_s"`
	Ready     bool            `json:"ready"`
	Hosts     []HostStatus    `json:"hosts"`
	Services  []ServiceStatus `json:"services"`
	Members   []MemberStatus  `json:"members"`
	Raft      *RaftStatus     `json:"raft,omitempty"`
	Processes int             `json:"processes"`
	Messages  MessageStatus   `json:"messages"`
	Scheduler SchedStatus     `json:"scheduler"`
	// Names counts names by scope: local, and on a clustered node
	// eventual, consistent and strong.
	Names map[string]int `json:"names"`
	// Eventual lists the EVENTUAL names this node resolves (clustered
	// nodes only).
	Eventual *NameList `json:"eventual,omitempty"`
}

// NameList is the names of one plane as this node resolves them, sorted
// by name; past MaxStatusNames it only counts them.
type NameList struct {
	Names        []NameStatus `json:"names"`
	NamesOmitted int          `json:"names_omitted,omitempty"`
}

// HostStatus is one host's processes.
type HostStatus struct {
	ID        string         `json:"id"`
	Processes int            `json:"processes"`
	ByState   map[string]int `json:"by_state"`
	Spawns    uint64         `json:"spawns"`
}

// ServiceStatus is one process.service.
type ServiceStatus struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	PID       string `json:"pid,omitempty"`
	Attempts  int    `json:"attempts"`
	Restarts  uint64 `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
}

// MemberStatus is one cluster member.
type MemberStatus struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"`
}

// RaftStatus is the cluster registry's Raft state.
type RaftStatus struct {
	State       string `json:"state"`
	Leader      string `json:"leader"`
	CommitIndex uint64 `json:"commit_index"`
	// Names are the CONSISTENT and STRONG names in this node's replica
	// with their owners, sorted by name: what this node believes, which a
	// node cut off from the quorum may not share with the others. When
	// the replica holds more than MaxStatusNames, Names is empty and
	// NamesOmitted counts them (names.consistent and names.strong have the
	// counts either way).
	Names        []NameStatus `json:"names"`
	NamesOmitted int          `json:"names_omitted,omitempty"`
}

// NameStatus is one name and the PID that holds it.
type NameStatus struct {
	Name string `json:"name"`
	PID  string `json:"pid"`
	// Scope is "consistent" or "strong" (Raft names; "eventual" names are
	// in their own list). Pending marks a STRONG reservation not yet
	// acknowledged by every live node.
	Scope   string `json:"scope,omitempty"`
	Pending bool   `json:"pending,omitempty"`
}

// MaxStatusNames bounds the names /v1/status lists per plane.
const MaxStatusNames = 100

// MessageStatus are message counters.
type MessageStatus struct {
	SentLocal      uint64            `json:"sent_local"`
	SentRemote     uint64            `json:"sent_remote"`
	ReceivedLocal  uint64            `json:"received_local"`
	ReceivedRemote uint64            `json:"received_remote"`
	Dropped        map[string]uint64 `json:"dropped"`
	Exits          map[string]uint64 `json:"exits"`
}

// SchedStatus are scheduler figures.
type SchedStatus struct {
	RunQueue int    `json:"runqueue"`
	Steals   uint64 `json:"steals"`
	HandOffs uint64 `json:"handoffs"`
}

// Status returns the node's status.
func (n *Node) Status() Status {
	s := n.rt.Counters()
	st := Status{
		Node: n.cfg.Node.Name, Version: Version, Started: n.startedAt,
		UptimeS: time.Since(n.startedAt).Seconds(), Ready: n.Ready(),
		Processes: s.Processes, Names: n.nameCounts(),
		Messages: MessageStatus{SentLocal: s.SentLocal, SentRemote: s.SentRemote, ReceivedLocal: s.ReceivedLocal,
			ReceivedRemote: s.ReceivedRemote, Dropped: s.Dropped, Exits: s.Exits},
		Scheduler: SchedStatus{RunQueue: s.RunQueue, Steals: s.Steals, HandOffs: s.HandOffs},
		Services:  []ServiceStatus{}, Members: []MemberStatus{},
	}
	byState := n.rt.StateCounts()
	for _, id := range n.hostIDs() {
		h := HostStatus{ID: id, ByState: map[string]int{}, Spawns: s.SpawnsByHost[id], Processes: s.ProcessesByHost[id]}
		for state, c := range byState[id] {
			h.ByState[state.String()] = c
		}
		st.Hosts = append(st.Hosts, h)
	}
	for _, f := range n.statusHooks {
		f(&st)
	}
	return st
}

// Ready reports whether the node is ready: started, its services started,
// and (in a cluster) joined with a known Raft leader. Joined means one
// other member seen, not a session to every node: WaitNodes waits until
// sends to given nodes arrive.
func (n *Node) Ready() bool {
	if !n.ready.Load() {
		return false
	}
	for _, f := range n.readyHooks {
		if !f() {
			return false
		}
	}
	return true
}

// admin is the node's HTTP endpoint.
type admin struct {
	n   *Node
	srv *http.Server
	ln  *connLimit
	reg *prometheus.Registry
	// hasToken: admin.token is set, so the observer's actions are on.
	hasToken bool
}

// startAdmin listens on cfg.Addr and serves until stop.
func (n *Node) startAdmin(cfg AdminConfig) (*admin, error) {
	a := &admin{n: n, reg: newRegistry(n)}
	token, err := cfg.BearerToken()
	if err != nil {
		return nil, err
	}
	a.hasToken = token != ""
	h, err := newGuard(cfg, a.handler())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}
	a.ln = newConnLimit(ln, adminMaxConns)
	a.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		ConnState:         a.ln.track,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	go a.srv.Serve(a.ln)
	n.log.Info("admin endpoint listening", "addr", ln.Addr().String(), "observer", "http://"+ln.Addr().String()+"/")
	return a, nil
}

func (a *admin) stop(ctx context.Context) error {
	return a.srv.Shutdown(ctx)
}

// handler routes the admin paths. A known path answers GET (the service
// restart and the observer's actions answer POST); any other method is
// 405; other paths 404. Nothing here exposes message payloads.
func (a *admin) handler() http.Handler {
	metrics := promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
	get := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			h(w, r)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", get(func(w http.ResponseWriter, r *http.Request) {
		if err := a.n.Live(); err != nil {
			http.Error(w, "not live: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	mux.HandleFunc("/readyz", get(func(w http.ResponseWriter, r *http.Request) {
		if err := a.n.Live(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if !a.n.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	}))
	mux.HandleFunc("/metrics", get(metrics.ServeHTTP))
	mux.HandleFunc("/v1/status", get(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(a.n.Status())
	}))
	mux.HandleFunc("/v1/services/", func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/services/"), "/restart")
		if !ok || id == "" || strings.Contains(id, "/") {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err := a.n.RestartService(id); err != nil {
			code := http.StatusConflict
			if errors.Is(err, ErrUnknownService) {
				code = http.StatusNotFound
			}
			http.Error(w, err.Error(), code)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte("restarting " + id + "\n"))
	})
	if a.n.obs != nil {
		a.routeObserver(mux, a.hasToken)
	}
	return mux
}

// ErrUnknownService is returned for a restart of a service the node does not have.
var ErrUnknownService = errors.New("node: unknown service")

// RestartService restarts a failed (or stopped, or exited) service.
func (n *Node) RestartService(id string) error {
	if n.services == nil {
		return fmt.Errorf("%w: %s", ErrUnknownService, id)
	}
	return n.services.restart(id)
}
