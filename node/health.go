package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/registry/raftreg"
)

// The liveness checks of a clustered node, as the cluster guide describes
// them (Observability), on /healthz and /readyz:
//
//   - gossip: the node's gossip health score (memberlist's awareness:
//     0 healthy, rising while this node's own probes are late) stays
//     below gossipUnhealthy; a node within bootGrace of its start passes,
//     so that a node still joining is not restarted.
//   - raft last-contact: a voting follower fails when it has not heard
//     from a leader for voterContact, a standby (non-voter) for
//     standbyContact; a leader, a node outside the configuration, a
//     client, and a node that never had a leader (a cluster not formed
//     yet) pass.
const (
	bootGrace       = 30 * time.Second
	gossipUnhealthy = 6
	voterContact    = 30 * time.Second
	standbyContact  = 5 * time.Minute
)

// liveness returns why this node is not live, nil when it is.
func (p *clusterParts) liveness(now time.Time) error {
	var errs []error
	started := p.startedAt.Load()
	if ml := p.member.Load(); ml != nil && started != 0 && now.Sub(time.Unix(0, started)) > bootGrace {
		if score := ml.HealthScore(); score >= gossipUnhealthy {
			errs = append(errs, fmt.Errorf("gossip: health score %d (unhealthy from %d)", score, gossipUnhealthy))
		}
	}
	if p.names != nil {
		if err := raftContact(p.names.Stats(), now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// raftContact is the raft last-contact check of s, taken at now.
func raftContact(s raftreg.Stats, now time.Time) error {
	if s.RaftState == uint8(raft.Leader) || s.LastContact.IsZero() {
		return nil
	}
	limit := time.Duration(0)
	switch s.Role {
	case raftreg.RoleVoter:
		limit = voterContact
	case raftreg.RoleStandby:
		limit = standbyContact
	default:
		return nil // outside the configuration, or a client: nothing to hear
	}
	if since := now.Sub(s.LastContact); since > limit {
		return fmt.Errorf("raft: no contact with a leader for %v (a %s fails after %v)", since.Round(time.Second), s.Role, limit)
	}
	return nil
}

// Live reports why the node is not live (nil when it is): the liveness
// checks of its cluster parts.
func (n *Node) Live() error {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.liveness(time.Now())
}
