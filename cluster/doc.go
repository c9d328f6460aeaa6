// Package cluster joins one node's runtime to the others: it is the
// runtime's Router for PIDs of other nodes, the handler of the internode
// transport's cluster stream (stream 1), and the place where membership
// and transport session events become runtime.NodeDown.
//
// # Wiring
//
// The runtime takes its Router at construction and the cluster needs the
// runtime for inbound traffic, so the cycle is broken with Bind:
//
//	ep, _ := transport.New(tcfg, network)       // not started
//	cl, _ := cluster.New(ccfg, ep)              // registers stream 1 and the session hooks
//	rt, _ := runtime.New(runtime.Config{..., Router: cl})
//	cl.Bind(rt)                                 // before any traffic
//	rt.Start(); ep.Start(); cl.Start()          // Start subscribes to ccfg.Members
//	...
//	rt.Stop(ctx); ep.Close(); cl.Stop()         // exits still reach peers, then silence
//
// The node name must be the same in the three configs, and the boot id in
// the member events must be the transport endpoint's (ep.Boot()).
// Membership is not imported: node/ converts cluster/membership's events
// to MemberEvent and calls HandleMember (or provides a MemberSource).
//
// # Outbound
//
// Route encodes an envelope (cluster/wire) and queues it on the transport
// for the PID's node. The transport keeps per-peer order and replays
// across reconnects, and the runtime routes a process's signals from the
// goroutine running it, so order per (sender, receiver) holds across the
// network, and an EXIT follows every message its process sent. A node
// never seen is runtime.ErrUnknownNode (NOT_FOUND); a known node that is
// down is runtime.ErrNoRoute (dropped and counted for sends; noconnection
// for links and monitors). While a peer is merely unreachable (a
// partition no member event has confirmed), envelopes wait in the
// transport's bounded queue; overflowing it abandons the session, which
// is a node-down.
//
// Spawn sends a spawn request and waits for the reply (Config.SpawnTimeout).
//
// # Inbound
//
// The transport calls the stream handler once per frame, one peer at a
// time, in send order; the handler decodes and, for envelopes, checks that
// they are addressed to this node and come from a process of the sending
// node, and calls runtime.Deliver, which checks the signal against this
// node's policies with the sender's chain (every layer) and host that
// travelled with it (SPEC section 8; denials are dropped, counted and
// logged by the runtime). So per-sender order is kept on this side too.
// A spawn request is checked with the runtime's guard
// (security.Guard.AuthorizeRemoteSpawn, with the parent's chain), run with
// runtime.SpawnFor, which gives the child the identity this node derives
// from that chain and the narrowing asked for (security.Guard.RemoteChild)
// and relates the child to its remote parent
// (process.spawn.linked/.monitored allowed that), and answered; a refused one is answered with PERMISSION_DENIED, counted and
// logged at most once per Config.DenyLogInterval per (sender host, target
// host). Every permission decision is the guard's: the cluster adds none
// of its own.
//
// # Node down
//
// A pure core (peerTable) decides, from member events (up with address
// and boot id, failed, left) and transport session events (up, lost),
// when a peer life ends. Each ending calls runtime.NodeDown exactly once,
// after routing to the node has stopped (so a link made meanwhile fails at
// once rather than slipping past NodeDown), fails the remote spawns
// waiting on it, and, for membership decisions, abandons the transport
// session (the peer then reports the loss too, so both sides fire
// noconnection). A new boot id is the old life's end and a new life's
// start. A life ended by membership comes back only through membership.
// From a node's down until its next transport session comes up, frames
// from it (the rest of the session that ended, read but not yet handed
// over) are dropped and counted nodedown: a per-route gate, held shared
// while a frame is handed to the runtime and taken by the down, puts the
// noconnection after everything of the old session that was delivered.
//
// # Concurrency
//
// Every method is safe for concurrent use. Route and Spawn take no lock
// shared with the event path beyond atomics; membership and session events
// are applied one at a time under one mutex, in the order they arrive.
// The cluster starts no goroutines of its own.
//
// # Lock order
//
// The cluster's locks are mu, which orders peer events, pmu, which guards
// the remote spawns awaiting a reply, and the log throttle's, a leaf. pmu
// is held only for map operations and the (never blocking) completion of a
// waiting call. mu is held while a peer event's effects are carried out,
// and those call out of the cluster:
//
//	membership subscription → Cluster.mu → runtime (NodeDown: its own locks,
//	                                        and NameService.ReleaseNode, which only queues)
//	                                     → Cluster.pmu (failing the spawns waiting on the node)
//	                                     → transport endpoint (Abandon, Connect)
//	                                     → route gate (a down waits for a frame being handed over)
//
// This holds because nothing that those call back into takes mu again
// while holding a lock of its own: the runtime holds no lock when it calls
// Route or Spawn (see the runtime's Lock order), the transport calls the
// stream handler and the session hooks with none of its locks held and
// queues the session-lost event of Abandon for its delivery goroutine
// rather than calling the hook inside Abandon, and membership calls
// HandleMember from its delivery goroutine holding only that
// subscription's lock. The outbound path takes no lock but pmu, briefly:
// a Route reaches the transport with no cluster lock held. The inbound
// path holds its route's gate shared while it hands an envelope or a
// spawn request to the runtime, and nothing that does (Deliver, SpawnFor,
// the Route and Send they may make) takes mu, so a down that waits for
// the gate while holding mu never waits on itself.
// Stop calls the membership subscription's cancel outside mu, since cancel
// waits for a running HandleMember; Stats asks the transport for its
// figures before it takes mu.
package cluster
