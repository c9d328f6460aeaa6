package raftreg

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/msgp"
)

// A client (Config.Client) runs no Raft. Its table is a copy a member
// feeds (feed.go): it subscribes to one member up that is not a client
// itself, with the index its copy holds, takes the snapshot that member
// sends (never one older than its copy: reads stay monotonic) and applies
// the command entries pushed after it. Every FeedRenew it renews the
// subscription, learning the leader (changes and linearizable reads go
// there) and the member's index. It subscribes afresh, to the same member
// or another, when the pushes show a gap, the member resets or forgets the
// subscription, the member's index stays ahead of its copy for two
// renewals in a row (pushes lost), or the member is gone.

// clientState is a client's subscription.
type clientState struct {
	mu     sync.Mutex
	feeder string // the member feeding the copy; "" while none
	fed    uint64 // index of the last entry applied from the feed
	fresh  bool   // a new subscription (a snapshot) is needed
	behind int    // renewals in a row that found the feeder ahead
	build  *snapBuild
}

// snapBuild is a snapshot arriving in pages.
type snapBuild struct {
	index uint64
	next  int
	buf   bytes.Buffer
}

func (r *Registry) startClient() error {
	r.cl.fresh = true
	r.track.start(r.clientLoop)
	r.track.start(r.rel.run)
	r.track.start(r.fenceLoop)
	r.cancelPeers = r.peers.OnChange(r.members.notify)
	r.log.Info("names client started: no raft, a copy fed by a member")
	return nil
}

// clientLoop keeps the copy subscribed until Close.
func (r *Registry) clientLoop() {
	t := time.NewTicker(r.cfg.FeedRenew)
	defer t.Stop()
	for {
		r.renew()
		select {
		case <-t.C:
		case <-r.members.wait():
		case <-r.stopping:
			return
		}
	}
}

// renew subscribes (afresh when needed) or renews, picking a feeder when
// there is none.
func (r *Registry) renew() {
	c := &r.cl
	c.mu.Lock()
	feeder, fresh, from := c.feeder, c.fresh, c.fed
	c.mu.Unlock()
	if feeder == "" || !r.feedable(feeder) {
		if feeder = r.pickFeeder(); feeder == "" {
			return
		}
		fresh = true
	}
	b, err := r.fwd.call(feeder, func(w *msgp.Writer) {
		putRequest(w, request{op: opSubscribe, index: from, fresh: fresh})
	}, r.cfg.RPCTimeout, r.stopping)
	rep, derr := decodeReply(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil || derr != nil:
		c.feeder, c.fresh = "", true // try another
		return
	case rep.code == codeNotFound:
		c.feeder, c.fresh = feeder, true // forgotten: again, at once
		signal0(r)
		return
	case rep.code != codeOK:
		c.feeder, c.fresh = "", true // behind us, or no state: another
		return
	}
	r.setHint(rep.leader)
	if fresh {
		c.feeder, c.fresh, c.build, c.behind = feeder, false, nil, 0
		return
	}
	if rep.index > c.fed {
		c.behind++
		if c.behind >= 2 {
			c.fresh = true
		}
	} else {
		c.behind = 0
	}
}

// signal0 makes the client loop renew again at once.
func signal0(r *Registry) { r.members.notify() }

// feedable: node is up in membership and not a client.
func (r *Registry) feedable(node string) bool {
	for _, m := range r.peers.Members() {
		if m.Name == node {
			return m.State.up() && !m.Client
		}
	}
	return false
}

// pickFeeder returns a member up that is not a client, at random.
func (r *Registry) pickFeeder() string {
	var cands []string
	for _, m := range r.peers.Members() {
		if m.Name != r.cfg.Node && m.State.up() && !m.Client {
			cands = append(cands, m.Name)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	return cands[rand.IntN(len(cands))]
}

func (r *Registry) setHint(leader string) {
	if cur := r.hint.Load(); cur == nil || *cur != leader {
		r.hint.Store(&leader)
		r.leaderBC.notify()
	}
}

// receivePush handles a member's push to this client's copy.
func (r *Registry) receivePush(from string, rd *msgp.Reader) {
	p, err := decodePush(rd, r.cfg.SnapshotChunk)
	if err != nil {
		r.fwd.bad.Add(1)
		return
	}
	c := &r.cl
	c.mu.Lock()
	defer c.mu.Unlock()
	if !r.fedCopy() || from != c.feeder {
		return
	}
	if p.leader != "" {
		r.setHint(p.leader)
	}
	switch p.kind {
	case feedReset:
		c.fresh = true
		signal0(r)
	case feedSnapshot:
		r.snapshotPage(p)
	case feedEntries:
		if c.fresh || c.build != nil || p.prev != c.fed {
			c.fresh = true // a gap: start over
			signal0(r)
			return
		}
		logs := make([]*raft.Log, len(p.entries))
		for i, e := range p.entries {
			logs[i] = &raft.Log{Index: e.index, Type: raft.LogCommand, Data: e.data}
		}
		r.table.ApplyBatch(logs)
		c.fed = p.entries[len(p.entries)-1].index
	}
}

// snapshotPage collects a snapshot's pages and installs it once complete,
// unless the copy is already as recent (c.mu held).
func (r *Registry) snapshotPage(p pushed) {
	c := &r.cl
	if p.page == 0 {
		c.build = &snapBuild{index: p.index}
	}
	b := c.build
	if b == nil || b.index != p.index || b.next != p.page || int64(b.buf.Len()+len(p.chunk)) > r.cfg.MaxSnapshot {
		c.build, c.fresh = nil, true
		return
	}
	b.buf.Write(p.chunk)
	b.next++
	if b.next < p.pages {
		return
	}
	c.build = nil
	if b.index < r.table.index() {
		c.fresh = true // older than the copy: never go back
		return
	}
	if err := r.table.Restore(io.NopCloser(&b.buf)); err != nil {
		r.log.Warn("names client: a bad snapshot from the feeder", "feeder", c.feeder, "err", err)
		c.fresh = true
		return
	}
	c.fed = b.index
}

// fedCopy reports whether this node's table is a copy a member feeds: a
// client, or a node running Raft outside the configuration.
func (r *Registry) fedCopy() bool { return r.cfg.Client || r.outside.Load() }

// Role is a node's part in the Raft configuration.
type Role uint8

// Roles, as Stats.Role reports them.
const (
	RoleOutside Role = 0 // runs Raft, not in the configuration: a fed copy
	RoleVoter   Role = 1
	RoleStandby Role = 2 // a non-voter
	RoleClient  Role = 3 // Config.Client: never runs Raft
)

func (r Role) String() string {
	return [...]string{"outside", "voter", "standby", "client"}[min(int(r), 3)]
}

// roleLoop runs on a node with Raft. It follows this node's place in the
// latest configuration (and the counts of voters and standbys, for
// metrics); while the node is outside it, it keeps the table subscribed
// to a member's feed as a client does, and stops when the leader adds the
// node (raft then brings the table on from where the copy is: the entries
// it holds already are skipped, table.ApplyBatch).
func (r *Registry) roleLoop() {
	t := time.NewTicker(r.cfg.FeedRenew)
	defer t.Stop()
	for {
		changed, conf := r.members.wait(), r.table.confWake.wait()
		r.checkRole()
		if r.outside.Load() {
			r.renew()
		}
		select {
		case <-t.C:
		case <-changed:
		case <-conf:
		case <-r.stopping:
			return
		}
	}
}

// checkRole reads this node's role from the latest configuration.
func (r *Registry) checkRole() {
	rf := r.raft()
	f := rf.GetConfiguration()
	if f.Error() != nil {
		return
	}
	role := RoleOutside
	voters, standbys := 0, 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		} else {
			standbys++
		}
		if string(s.ID) == r.cfg.Node {
			role = RoleStandby
			if s.Suffrage == raft.Voter {
				role = RoleVoter
			}
		}
	}
	r.voters.Store(int32(voters))
	r.standbys.Store(int32(standbys))
	r.role.Store(int32(role))
	was := r.outside.Swap(role == RoleOutside)
	switch {
	case was && role != RoleOutside:
		c := &r.cl
		c.mu.Lock()
		c.feeder, c.fresh, c.build = "", true, nil
		c.mu.Unlock()
		r.log.Info("in the raft configuration", "role", role.String())
		r.leaderBC.notify()
	case !was && role == RoleOutside && rf.LastIndex() > 0:
		r.log.Info("outside the raft configuration: a copy fed by a member")
		r.leaderBC.notify()
	}
}

// clientLeader is the leader a client knows of.
func (r *Registry) clientLeader() string {
	if h := r.hint.Load(); h != nil {
		return *h
	}
	return ""
}
