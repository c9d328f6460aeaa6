package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wippyd/wippyd/cluster/groups"
	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/entry"
)

var _ runtime.GroupService = (*groups.Groups)(nil)

// newGroups builds the node's process groups from the app's pg.scope
// entries: over the internode transport when clustered (before it
// starts), this node's alone otherwise.
func newGroups(n *Node, app *entry.Registry, parts *clusterParts) (*groups.Groups, error) {
	gc := groups.DefaultConfig()
	gc.Node = n.cfg.Node.Name
	gc.Logger = n.log
	gc.AntiEntropy = 0
	if app != nil {
		for _, e := range app.ByKind(entry.KindPGScope) {
			gc.Scopes = append(gc.Scopes, groups.Scope{ID: e.ID, Limits: groups.ScopeLimits{
				MaxGroups: e.PG.MaxGroups, MaxMembersPerGroup: e.PG.MaxMembersPerGroup,
			}})
			// One digest loop for the node: the shortest interval asked.
			if d := e.PG.AntiEntropy; d > 0 && (gc.AntiEntropy == 0 || d < gc.AntiEntropy) {
				gc.AntiEntropy = d
			}
		}
	}
	var mesh groups.Mesh
	if parts != nil {
		gc.Boot = parts.boot
		mesh = parts.ep
	}
	return groups.New(gc, mesh)
}

// Groups returns the node's process groups (every pg.scope of its app),
// for reads from outside any process: a process reaches them through
// the pg module.
func (n *Node) Groups() runtime.GroupService { return n.groups }

// groupMetrics exports the process groups' figures.
type groupMetrics struct{ g *groups.Groups }

func (m groupMetrics) collect(c *collector, ch chan<- prometheus.Metric) {
	s := m.g.Stats()
	ch <- prometheus.MustNewConstMetric(c.pgGroups, prometheus.GaugeValue, float64(s.Groups))
	ch <- prometheus.MustNewConstMetric(c.pgMembers, prometheus.GaugeValue, float64(s.Members))
	ch <- prometheus.MustNewConstMetric(c.pgRefused, prometheus.CounterValue, float64(s.Refused))
}

// pgScopeIDs are the ids of the app's pg.scope entries, in app order.
func pgScopeIDs(app *entry.Registry) []string {
	var ids []string
	if app != nil {
		for _, e := range app.ByKind(entry.KindPGScope) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}
