package node

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
)

// The observer's HTTP side: the page (GET /, assets under /ui/) and the
// JSON endpoints behind it. The guard (admin_guard.go) has already
// checked the token where one is needed; the actions here need one in
// any case.

//go:embed observer_ui
var observerUI embed.FS

// ObsInfo is GET /v1/observer: what the page needs to know first.
type ObsInfo struct {
	Node string `json:"node"`
	// Actions: the node has an admin token, so cancel, terminate and
	// restart are available to a caller that sends it. Without a token
	// the observer is read-only.
	Actions bool `json:"actions"`
}

// routeObserver adds the observer's paths to mux.
func (a *admin) routeObserver(mux *http.ServeMux, hasToken bool) {
	o := a.n.obs
	ui, _ := fs.Sub(observerUI, "observer_ui")
	assets := http.StripPrefix("/ui/", http.FileServerFS(ui))
	page := func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, ui, "index.html")
	}
	mux.HandleFunc("GET /{$}", page)
	mux.Handle("GET /ui/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		assets.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /v1/observer", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, ObsInfo{Node: a.n.cfg.Node.Name, Actions: hasToken})
	})
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, o.cluster(r.Context()))
	})
	view := func(kind string, args func(r *http.Request) map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := obsRequest{Kind: kind}
			if args != nil {
				q.Args = args(r)
			}
			st, body := o.ask(r.Context(), r.PathValue("node"), q)
			writeBody(w, st, body)
		}
	}
	mux.HandleFunc("GET /v1/nodes/{node}", view(obsKindNode, nil))
	mux.HandleFunc("GET /v1/nodes/{node}/processes", view(obsKindProcesses, queryArgs("host", "state", "entry", "name", "page", "per_page")))
	mux.HandleFunc("GET /v1/nodes/{node}/processes/{pid}", view(obsKindProcess, func(r *http.Request) map[string]string {
		return map[string]string{"pid": clip(r.PathValue("pid"))}
	}))
	mux.HandleFunc("GET /v1/nodes/{node}/names", view(obsKindNames, queryArgs("scope", "name", "page", "per_page")))
	mux.HandleFunc("GET /v1/nodes/{node}/groups", view(obsKindGroups, queryArgs("scope", "group", "page", "per_page")))

	action := func(kind, key string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !hasToken {
				writeBody(w, http.StatusForbidden, jsonError("observer: actions need admin.token set on the node; without it the observer is read-only"))
				return
			}
			args := map[string]string{key: clip(r.PathValue(key)), "who": clip(who(r, a.n.cfg.Node.Name))}
			if v := r.URL.Query().Get("reason"); v != "" {
				args["reason"] = clip(v)
			}
			st, body := o.ask(r.Context(), r.PathValue("node"), obsRequest{Kind: kind, Args: args})
			writeBody(w, st, body)
		}
	}
	mux.HandleFunc("POST /v1/nodes/{node}/processes/{pid}/cancel", action(obsKindCancel, "pid"))
	mux.HandleFunc("POST /v1/nodes/{node}/processes/{pid}/terminate", action(obsKindTerminate, "pid"))
	mux.HandleFunc("POST /v1/nodes/{node}/services/{service}/restart", action(obsKindRestart, "service"))
}

// queryArgs passes the named query parameters on as a request's args.
func queryArgs(keys ...string) func(r *http.Request) map[string]string {
	return func(r *http.Request) map[string]string {
		args := map[string]string{}
		for _, k := range keys {
			if v := r.URL.Query().Get(k); v != "" {
				args[k] = clip(v)
			}
		}
		return args
	}
}

// who describes the caller of an action for the log: its address, the
// node whose endpoint it called, and that it sent the admin token (the
// guard let it through only with it).
func who(r *http.Request, node string) string {
	ua := r.UserAgent()
	if len(ua) > 80 {
		ua = ua[:80]
	}
	return "admin token holder at " + r.RemoteAddr + " via " + node + " (" + ua + ")"
}

// clip bounds a value that travels to another node (obsMaxArgLen).
func clip(s string) string {
	if len(s) > obsMaxArgLen {
		return s[:obsMaxArgLen]
	}
	return s
}

// pageHeaders keep the page to itself: its own scripts and styles only,
// never framed (its buttons act on processes).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, jsonError(err.Error())
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
	if !strings.HasSuffix(string(body[max(0, len(body)-1):]), "\n") {
		w.Write([]byte("\n"))
	}
}
