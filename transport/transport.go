package transport

import (
	"context"
	"fmt"
	"net"
)

// Network is how an Endpoint reaches the world: transport/tcp over real
// sockets, transport/memnet in memory for tests. Implementations return
// ordinary net.Conns that honour deadlines and Close.
type Network interface {
	// Listen opens a listener at addr, in the network's address syntax.
	Listen(addr string) (net.Listener, error)
	// Dial connects to addr, giving up when ctx ends.
	Dial(ctx context.Context, addr string) (net.Conn, error)
}

// StreamType names a stream multiplexed on the internode port. Values are
// part of the wire protocol: never renumber them. 0 is not a stream.
type StreamType uint8

// The streams wippyd uses. Upper layers register the ones they serve.
const (
	StreamCluster  StreamType = 1 // process traffic: sends, spawns, links, monitors, signals
	StreamRaft     StreamType = 2 // hashicorp/raft RPCs
	StreamRegistry StreamType = 3 // name registry requests forwarded to the leader
	StreamNames    StreamType = 4 // EVENTUAL names: deltas, digests and states (registry/eventual)
	StreamGroups   StreamType = 5 // process group membership: deltas, states, digests (cluster/groups)
)

func (s StreamType) String() string {
	switch s {
	case StreamCluster:
		return "cluster"
	case StreamRaft:
		return "raft"
	case StreamRegistry:
		return "registry"
	case StreamNames:
		return "names"
	case StreamGroups:
		return "groups"
	case StreamObserver:
		return "observer"
	}
	return fmt.Sprintf("stream(%d)", uint8(s))
}

// Members tells an endpoint which node lives belong to the cluster (in
// wippyd, cluster/membership's table, which only nodes holding the
// cluster secret can join). An endpoint with Members refuses a handshake
// from a name or boot id it does not list, in either direction, so a
// made-up name never becomes a peer (no session, no dialing, no counters),
// and a stranger claiming a member's name with a new boot id cannot make
// the endpoint drop that member's session.
type Members interface {
	// IsMember reports whether the node name, in the life boot, is a
	// current member.
	IsMember(name string, boot uint64) bool
}

// Peer names one life of a remote node: its name and the boot id it drew
// when it started.
type Peer struct {
	Name string
	Boot uint64
}

func (p Peer) String() string { return fmt.Sprintf("%s/%016x", p.Name, p.Boot) }

// Handler receives the frames of one stream. Frames from one peer are
// handed over one at a time, never concurrently, in the order they were
// sent (across all streams), interleaved in order with that peer's session
// events; a slow handler delays that peer only. body belongs to the
// handler; it shares memory with neighbouring frames, so copy a small body
// that is kept for long. A handler registered with RegisterTransient must
// keep nothing of body once it returns: that memory is read into again.
type Handler func(from Peer, body []byte)

// SessionEvent reports a session coming up or being lost.
type SessionEvent struct {
	// Peer is the peer life the session is with. Boot is 0 when a session
	// is lost that never came up (frames were queued, then dropped).
	Peer Peer
	// Reason is nil for a session coming up; for a lost session one of
	// ErrAbandoned, ErrQueueFull, ErrPeerRestarted, ErrPeerAbandoned or
	// ErrSessionBroken.
	Reason error
	// Dropped counts the frames this side had accepted from Send and will
	// never know to be delivered: the unacknowledged ones are discarded.
	Dropped uint64
}

// streamSet is a bitmap of stream types, sent in the handshake so a sender
// can refuse frames the peer would not accept. On the wire it is 32 bytes,
// stream t being bit t%8 of byte t/8.
type streamSet [32]byte

func (s *streamSet) add(t StreamType)      { s[t/8] |= 1 << (t % 8) }
func (s *streamSet) has(t StreamType) bool { return s[t/8]&(1<<(t%8)) != 0 }
