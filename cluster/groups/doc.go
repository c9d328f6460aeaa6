// Package groups is a node's process groups (Wippy's pg, Erlang's pg):
// named groups of processes in independent scopes (pg.scope entries),
// with membership known on every node, eventually consistent, without
// Raft. It implements runtime.GroupService; the runtime checks the pg.*
// permissions and delivers broadcasts, the cluster carries them.
//
// # Model
//
// Each node is the only writer of its own processes' memberships (its
// origin). A Table (the pure core: no I/O, no goroutines, no clock) holds,
// per origin node, the members it announced, and answers every read from
// that copy. So nothing is ever merged: a node applies another's changes
// in the order that node made them, and forgets them when it goes away.
//
//   - A local join or leave changes this node's origin and yields a Delta
//     numbered one past the last (per life of the node, its boot id). The
//     service sends it to every node with a session up.
//   - When a session with another node comes up, each side first sends
//     its full State (in parts of Config.StatePart bytes), so every later
//     delta follows the state it applies to. The receiver replaces what it
//     had of that node and reports only the members that changed.
//   - A delta that is not the next one (a gap: never expected, since a
//     session replays what it loses and a new session starts with a
//     State) makes the receiver ask for the State.
//   - Every Config.AntiEntropy, a node sends its digest (boot id, last
//     sequence) to one other node in turn; a receiver whose copy differs
//     asks for the State. A safety net, not the way changes travel.
//   - When a session is lost (the node failed, left, restarted, or was
//     cut off long enough for its session to be abandoned), its members
//     leave every group at once, each reported to monitors. A restarted
//     node is a new life: the old one's members leave, the new one's
//     State brings its own.
//
// Frames travel on the transport's groups stream (5), whose order per
// peer is the order of the cluster stream's too. Their format is in
// codec.go; every decoder is fuzzed.
//
// # Broadcast
//
// A broadcast is not this package's traffic: the runtime asks Targets for
// the distinct local members and the other nodes with members, delivers
// to the local ones, and routes one frame per other node (cluster's
// Groupcast, on the cluster stream), which that node's runtime delivers to
// its own members (Targets again, with its own fresh view). A member
// receives one sender's broadcasts, and its other messages, in order.
//
// # Subscriptions
//
// Subscribe records a monitor of one group (or of every group of a
// scope) and returns the members at that moment; both happen under the
// service's lock, which every change also takes, so no change falls
// between the snapshot and the first event, and every change is reported
// once. Events go to the subscriber through the Notifier (the runtime's
// Notify) as proc.TopicGroupEvent messages, in the order of the changes.
//
// # Bounds
//
// Config.MaxMembersPerNode bounds any one node's memberships (multi-joins
// counted): a local join past it fails (ErrNodeFull, UNAVAILABLE); members
// another node announces past it are refused, counted (Stats.Refused,
// the wippy_pg_refused_total metric) and logged once a minute. So a table
// holds at most nodes times that many. Group names are at most MaxName
// bytes, and a scope's max_groups and max_members_per_group bound local
// joins. Config.MaxSubscriptions bounds the node's subscriptions. A
// subscriber's events queue in its mailbox and count against its host's
// max_mailbox.
//
// # Concurrency
//
// Every method is safe for concurrent use. One mutex orders every change,
// the frames it sends and the events it hands out. Held while calling out
// to the transport (Send only queues) and the Notifier (a mailbox push);
// neither calls back into the service. The runtime calls in holding no
// lock of its own, the transport calls the handler and session hooks with
// none of its locks held. The one goroutine is the anti-entropy ticker,
// joined by Stop.
package groups
