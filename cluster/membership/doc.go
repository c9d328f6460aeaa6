// Package membership is wippyd's cluster membership: hashicorp/memberlist
// (SWIM gossip and failure detection) with its callbacks turned into typed,
// ordered events about node lives, plus the member table those events
// describe.
//
// # Use
//
//	cfg := membership.DefaultConfig()
//	cfg.Name, cfg.ClusterName, cfg.SecretKey = "n1", "wippy", key
//	cfg.JoinAddrs = []string{"10.0.0.2:7946", "10.0.0.3:7946"}
//	cfg.Meta = membership.Meta{InternodePort: 7950, ProtoMin: 1, ProtoMax: 1,
//		RaftRole: membership.RoleVoter} // BootID 0: drawn by New
//	m, err := membership.New(cfg)
//	cancel := m.Subscribe(func(ev membership.Event) { ... }) // before Start to see every event
//	m.Start()
//	...
//	m.Leave(5 * time.Second) // graceful: the others report EventLeft
//	m.Shutdown()             // without Leave: the others report EventFailed
//
// # Node lives and events
//
// A node life is a name plus the boot id the node drew when it started.
// The table keeps the latest life of every name and reports:
//
//   - EventJoined: a life became alive: a new name, a new boot id, or a
//     life declared dead that came back (partition healed, false
//     suspicion; same boot id).
//   - EventUpdated: a life that is up changed address or meta.
//   - EventFailed: a life ended without announcing it: crash, partition,
//     or a restart noticed through a new boot id (Event.Restart). A new
//     boot id seen while the old life is still up gives EventFailed
//     (Restart) for the old life, then EventJoined for the new one: down,
//     then up.
//   - EventLeft: a life ended after announcing it was leaving.
//   - EventReaped: a dead or left member dropped after Config.ReapAfter.
//   - EventSuspected: this node's probe of an alive life failed; the
//     member is StateSuspect (see Suspicion below).
//   - EventCleared: a suspect life answered this node's direct probe; it
//     is StateAlive again.
//
// A life is up while it is alive or suspect (State.Up): suspicion never
// ends a life, only EventFailed and EventLeft do, so a consumer that acts
// on node-down handles those two and may ignore the suspicion events.
//
// This node is a member too: its first event is its own EventJoined, and a
// Leave ends with its own EventLeft.
//
// Events are delivered to the Subscribe callbacks on one goroutine, in the
// order the table produced them (so in order per node). A subscriber added
// before Start sees every event; one added later sees the events from then
// on and reads Members for the rest. memberlist calls its delegates while
// holding its node lock, so they never wait for subscribers: the table is
// updated at once, and events wait in a queue of Config.EventQueue. When it is full an event is dropped, counted in
// Stats.EventsDropped and in the Missed field of the next event delivered;
// a subscriber that sees Missed > 0 reads Members() again. The table itself
// never loses an update.
//
// # Leave versus crash
//
// memberlist's own leave (a dead message sent by the node itself) is not
// visible to delegates: its Node.State is never filled in, and NotifyLeave
// looks the same for a leave and a crash. So Leave first sends an
// intent-to-leave user message (message.go), naming the leaving life, to
// every up member directly, as a packet and over memberlist's TCP channel,
// and queues it for gossip; every node that applies it relays it by gossip
// too. The packet is what puts the intent before the departure on a peer:
// a peer handles the packets it reads, user and dead messages alike, from
// one queue in order, while a TCP message runs on a connection of its own
// that a loaded peer may get to after the departure. Leave
// then waits until the gossip copy has been handed out to its retransmit
// limit, because memberlist puts its own messages first in a packet and a
// peer reading the departure before the intent would report a failure.
// Only then does memberlist announce the departure. A node that got the
// intent reports the departure as EventLeft; one that did not (it was
// unreachable) reports EventFailed. An intent never changes a departure
// already reported.
//
// # Membership rules
//
//   - Node meta is a fixed 16-byte binary encoding (meta.go) of the
//     internode port, the internode protocol range, the raft role and the
//     boot id, far under memberlist's 512-byte limit (checked at compile
//     time). A node whose meta does not decode is refused as a member
//     (memberlist's AliveDelegate) and counted in Stats.BadMeta.
//   - Config.ClusterName is memberlist's label: packets and streams of
//     another cluster are refused, so two clusters never merge. With
//     Config.SecretKey, gossip is encrypted and authenticated (AES-256-GCM
//     under a key derived from the secret, label as associated data); a
//     node with another secret, or none, cannot join.
//   - Rejoin: every Config.RejoinInterval the node contacts the dead members
//     it remembers and the join addresses that are not up members (its
//     own address skipped). memberlist stops talking to dead nodes after
//     GossipToTheDeadTime (30s lan, 15s local), so without this a
//     partition that lasted longer stays split after it heals. Members
//     that left are not retried.
//   - A dead node's name may be taken by a new address at once
//     (memberlist's DeadNodeReclaimTime), so a node restarted on another
//     address or port joins as soon as the old life is declared dead.
//
// # Suspicion
//
// StateSuspect is this node's own view: its failure-detector probe of the
// member got no ack (not directly, not through the members asked to probe
// it, not over TCP), and since then the member has not answered a direct
// probe of this node, been declared dead or left, or come back as a new
// life. memberlist tells its delegates neither that it suspects a node
// nor that the node refuted it, so this package watches this node's
// probes instead. A failed probe shows in memberlist's log: it writes
// "Suspect <name> has failed, no acks received" just before it suspects
// the node (logbridge.go reads it from the logger this package gives
// memberlist, whatever the log level). An answer is memberlist's
// PingDelegate: NotifyPingComplete, called for a direct probe acked in
// time. So:
//
//   - Suspicion that other members gossip, or that a push/pull brings, does
//     not make a member suspect here; memberlist may suspect it, and
//     declare it dead, without this node's own probe failing. The Suspect
//     count is what this node's probes saw, not the cluster's view.
//   - A suspect stays suspect until this node probes it again and gets a
//     direct ack, even if it refuted the suspicion by gossip in between:
//     memberlist probes members in turn, one per probe interval, so that
//     takes up to a round of probes (about the member count times the
//     probe interval). An answer only to an indirect or TCP probe does not
//     clear it (memberlist reports neither).
//   - The failed-probe line carries a name, not a boot id: a probe of an
//     old life that fails after the new life joined marks the new one
//     suspect, until its next answer.
//
// The suspicion tests (TestSuspectBeforeFailed) see suspicion only through
// that log line, so they fail if a memberlist upgrade rewords it.
//
// # Profiles and failure detection
//
// Time from killing one node (no Leave) to the others reporting
// EventFailed, measured with real memberlist on loopback (BENCHMARKS.md,
// TestMeasureDetection): fast 0.6 to 0.9s, local 4.9 to 6.9s, lan 5.6 to
// 6.8s, with 3 or 5 nodes. Most of it is memberlist's suspicion time,
// SuspicionMult x ProbeInterval for clusters under 10 nodes; from 5 nodes
// on it can stretch 6x when other members cannot confirm the suspicion.
// A node that probed the dead member itself reports it EventSuspected
// first, for about that suspicion time.
//
// # Consumers
//
// The cluster layer (cluster.MemberSource) and the Raft glue
// (raftreg.PeerSource) declare their own interfaces with their own types;
// node adapts this package to them (Subscribe, Members; Member.Meta has the
// boot id and Member.InternodeAddr the transport address; Voters and
// Clients list the up members by raft role), so no add-on imports
// another. Both treat a suspect member as up.
//
// # Concurrency
//
// Every method is safe for concurrent use. Shutdown is idempotent and
// returns after every goroutine this package started has ended (it waits
// for an in-flight join or intent send, bounded by memberlist's TCP
// timeout); a subscriber must not call it, nor its own cancel. memberlist's
// own goroutines may outlive its Shutdown by up to a probe interval or a
// TCP timeout (timers it does not stop). Transitions are decided by the
// pure table (table.go: no goroutines, no clock), driven by the delegate
// callbacks (and the failed-probe log line) under one mutex: memberlist
// calls them on several goroutines and under its own lock, so they cannot
// wait for an owner goroutine.
package membership
