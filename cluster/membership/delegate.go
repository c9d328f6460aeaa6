package membership

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate receives memberlist's callbacks. They run on memberlist's
// goroutines, the event ones while memberlist holds its node lock, so each
// only decodes, updates the table under Membership.mu and queues events:
// nothing blocks, nothing calls back into memberlist.
type delegate struct{ m *Membership }

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
	_ memberlist.AliveDelegate = (*delegate)(nil)
	_ memberlist.PingDelegate  = (*delegate)(nil)
)

// NodeMeta returns this node's meta. Its size is fixed and checked at
// compile time against memberlist.MetaMaxSize.
func (d *delegate) NodeMeta(limit int) []byte {
	if len(d.m.meta) > limit {
		panic(fmt.Sprintf("membership: node meta of %d bytes over memberlist's limit %d", len(d.m.meta), limit))
	}
	return d.m.meta
}

func (d *delegate) NotifyMsg(b []byte) { d.m.onMessage(b) }

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.bcast.GetBroadcasts(overhead, limit)
}

func (d *delegate) LocalState(join bool) []byte { return nil }

func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

func (d *delegate) NotifyJoin(n *memberlist.Node) { d.m.onAlive(n) }

func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.m.onAlive(n) }

func (d *delegate) NotifyLeave(n *memberlist.Node) { d.m.onDown(n.Name) }

// NotifyAlive refuses nodes whose meta does not decode: they could not be
// reached or told apart across restarts, so memberlist never makes them
// members.
func (d *delegate) NotifyAlive(n *memberlist.Node) error {
	if _, err := decodeMeta(n.Meta); err != nil {
		d.m.badMeta(n.Name, err)
		return err
	}
	return nil
}

// AckPayload adds nothing to this node's acks.
func (d *delegate) AckPayload() []byte { return nil }

// NotifyPingComplete: a direct probe by this node got its ack in time.
// memberlist calls it for nothing else (not for indirect probes, TCP
// fallback probes or Memberlist.Ping), on its probe goroutine, without
// its node lock.
func (d *delegate) NotifyPingComplete(n *memberlist.Node, rtt time.Duration, payload []byte) {
	d.m.onProbeAnswered(n.Name)
}

// probeFailed: memberlist logged that a probe by this node got no ack.
func (d *delegate) probeFailed(name string) { d.m.onProbeFailed(name) }

// nodeInfoOf reads a memberlist node. Call it inside the callback: the
// node belongs to memberlist.
func nodeInfoOf(n *memberlist.Node) (nodeInfo, error) {
	meta, err := decodeMeta(n.Meta)
	if err != nil {
		return nodeInfo{}, err
	}
	ip, ok := netip.AddrFromSlice(n.Addr)
	if !ok {
		return nodeInfo{}, fmt.Errorf("membership: node %q has a bad address %v", n.Name, n.Addr)
	}
	return nodeInfo{Name: n.Name, Addr: netip.AddrPortFrom(ip.Unmap(), n.Port), Meta: meta}, nil
}
