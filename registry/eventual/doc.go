// Package eventual is the EVENTUAL name scope of SPEC section 9: a name
// set replicated to every node without coordination, over the internode
// mesh, that keeps working in any partition and converges when it heals.
//
// # Model
//
// A binding (name -> PID) belongs to its origin, the node of the PID:
// only that node adds or removes it, so an origin's bindings form one set
// that only it writes, versioned (Version: the life of the node, drawn
// from its clock at start, and a counter of its changes). Every node holds
// the latest version it knows of every origin's set. Merging is taking the
// newer version of each origin: commutative, associative and idempotent,
// so replicas that saw the same sets hold the same bindings whatever the
// order or repetition of the messages (a state-based CRDT, one
// last-writer-wins register per origin).
//
// A name may be bound by several origins at once (registered on both
// sides of a partition, or concurrently). Resolution picks the binding of
// lowest Stamp, then lowest PID: the same winner on every node, without
// coordination. A Stamp is a hybrid clock: the registering node's wall
// clock, but above every stamp it has seen, so a registration made after
// a node saw another binding of the name (which it refuses anyway) can
// never win against it, and a node with a clock behind cannot take a
// name it already knows of. The loser's own node, which alone can remove
// the losing binding, does so as soon as it merges the winner, and the
// plane calls OnRevoke once for it: the runtime sends the process CANCEL
// "name revoked: <name>"; it keeps running and may register again.
//
// Bindings are released when their process ends (ReleasePID, a delta),
// and every node drops an origin's set when membership stops reporting
// that node up (dead or left), refusing its news until it is up again: a
// node wrongly declared dead comes back with its set, and conflicts born
// meanwhile resolve as above.
//
// # Messages
//
// A change of this node goes at once to every peer up, as a delta (one
// frame per node on the names stream): a node that misses one sees the
// gap at the next and asks for the state. Anti-entropy repairs the rest:
// every SyncInterval a node sends its digest (origin -> version) to one
// random peer, which sends back the states it holds newer and, when the
// digest shows the sender newer somewhere, its own digest, so the sender
// sends those. A node newly up gets a digest at once, so a joining,
// restarted or healed node converges in about one round trip. States go
// in pages of at most PageBytes.
//
// # Bounds
//
// MaxNames (default 100,000) bounds the namespace: past it, registering
// fails with UNAVAILABLE, counted and logged. Decoders refuse more
// bindings per message, and merges stop adding remote bindings past twice
// the bound (counted): a peer cannot make a node hold more than that.
//
// # Pieces
//
// Replica is the pure state machine (no goroutine, no clock, no I/O) with
// the merge, resolution and conflict rules, table-tested alone. Plane is
// the shell: it owns a Replica behind a lock, follows membership, sends
// and receives the messages (wire.go) and runs anti-entropy. Every Plane
// method is safe for concurrent use; Resolve takes a read lock only.
package eventual
