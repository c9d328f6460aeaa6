package node

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wippyd/wippyd/cluster/membership"
	"github.com/wippyd/wippyd/internal/await"
)

// memberSeries scrapes n's metrics (as /metrics does) and returns the
// wippy_cluster_members series by state; a missing series is -1. It may
// run off the test goroutine, so it reports problems in its result.
func memberSeries(n *Node) map[string]float64 {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newCollector(n)); err != nil {
		return map[string]float64{"register: " + err.Error(): -1}
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := map[string]float64{}
	for _, state := range []string{"alive", "suspect", "dead", "left"} {
		out[state] = -1
		prefix := `wippy_cluster_members{state="` + state + `"} `
		for line := range strings.Lines(rec.Body.String()) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					out[state] = f
				}
			}
		}
	}
	return out
}

// A member whose probe by this node failed is exported as suspect, shown
// as "suspect" in the status, and still counts for readiness; once it is
// declared dead it moves to the dead series. With two nodes, a's own
// probe is the only way b can become suspect, so a sees suspect first.
func TestMembersSuspectThenDead(t *testing.T) {
	a := clusterNode(t, "a")
	b := clusterNode(t, "b", a.MembershipAddr())
	await.Until(t, "both see two members", func() bool {
		return len(a.Status().Members) == 2 && len(b.Status().Members) == 2
	})
	want := map[string]float64{"alive": 2, "suspect": 0, "dead": 0, "left": 0}
	if got := memberSeries(a); !maps.Equal(got, want) {
		t.Fatalf("members before = %v, want %v", got, want)
	}

	// Read the exports when a reports b suspect: it stays so for the
	// suspicion time (400ms with the fast profile), far longer than this.
	type view struct {
		series map[string]float64
		state  string
		joined bool
	}
	seen := make(chan view, 1)
	cancel := a.cluster.ml.Subscribe(func(ev membership.Event) {
		if ev.Kind != membership.EventSuspected || ev.Member.Name != "b" {
			return
		}
		var st Status
		a.cluster.status(&st)
		v := view{series: memberSeries(a), joined: a.cluster.joined()}
		for _, m := range st.Members {
			if m.Name == "b" {
				v.state = m.State
			}
		}
		select {
		case seen <- v:
		default:
		}
	})
	defer cancel()
	if err := b.cluster.ml.Shutdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-seen:
		want := map[string]float64{"alive": 1, "suspect": 1, "dead": 0, "left": 0}
		if !maps.Equal(v.series, want) || v.state != "suspect" || !v.joined {
			t.Errorf("while b is suspect: members %v (want %v), status %q (want suspect), joined %v (want true)",
				v.series, want, v.state, v.joined)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a never reported b suspect")
	}
	want = map[string]float64{"alive": 1, "suspect": 0, "dead": 1, "left": 0}
	await.Until(t, "b dead in a's metrics", func() bool { return maps.Equal(memberSeries(a), want) })
}

// The collector describes every family it may export, not only those the
// node has when it is registered: a registry made before the first peer
// connects (the admin endpoint's is) still gathers once the peer's series
// appear, even pedantically.
func TestMetricsDescribedBeforeAPeer(t *testing.T) {
	a := clusterNode(t, "a")
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newCollector(a)); err != nil {
		t.Fatal(err)
	}
	b := clusterNode(t, "b", a.MembershipAddr())
	await.Until(t, "a session with b", func() bool {
		return len(a.cluster.ep.Stats().Peers) > 0 && len(b.Status().Members) == 2
	})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		found = found || f.GetName() == "wippy_internode_bytes_total"
	}
	if !found {
		t.Fatal("no wippy_internode_bytes_total series with a peer connected")
	}
}

// wippy_internode_duplex says, per peer, whether one connection carries
// both nodes' messages: it does between two nodes of this version, on
// both sides, and not with a node configured one-way.
func TestInternodeDuplexMetric(t *testing.T) {
	duplexOf := func(n *Node, peer string) float64 {
		reg := prometheus.NewPedanticRegistry()
		if err := reg.Register(newCollector(n)); err != nil {
			t.Fatal(err)
		}
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "wippy_internode_duplex" {
				continue
			}
			for _, m := range f.GetMetric() {
				if m.GetLabel()[0].GetValue() == peer {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	a := clusterNode(t, "a")
	b := clusterNode(t, "b", a.MembershipAddr())
	await.Until(t, "duplex both ways", func() bool { return duplexOf(a, "b") == 1 && duplexOf(b, "a") == 1 })

	c := clusterNodeWith(t, "c", func(cfg *Config) { cfg.Cluster.Internode.OneWay = true }, a.MembershipAddr())
	await.Until(t, "c's sessions", func() bool { return duplexOf(a, "c") == 0 && duplexOf(c, "a") == 0 })
	if duplexOf(a, "b") != 1 {
		t.Fatal("a lost its duplex connection with b")
	}
}
