package wire

import (
	"fmt"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// Type is the first byte of every message. The values are part of the
// protocol: never renumber them, only append.
type Type uint8

// Message types.
const (
	TypeEnvelope     Type = 1
	TypeSpawnRequest Type = 2
	TypeSpawnReply   Type = 3
	TypeGroupcast    Type = 4
)

func (t Type) String() string {
	switch t {
	case TypeEnvelope:
		return "envelope"
	case TypeSpawnRequest:
		return "spawn_request"
	case TypeSpawnReply:
		return "spawn_reply"
	case TypeGroupcast:
		return "groupcast"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// TypeOf returns the type of the message in body without decoding it.
func TypeOf(body []byte) (Type, error) {
	if len(body) == 0 {
		return 0, fmt.Errorf("%w: empty body", ErrTruncated)
	}
	switch t := Type(body[0]); t {
	case TypeEnvelope, TypeSpawnRequest, TypeSpawnReply, TypeGroupcast:
		return t, nil
	default:
		return t, fmt.Errorf("%w: %d", ErrUnknownType, body[0])
	}
}

// Nodes names the two ends of a frame: the node that sends it and the node
// that receives it. PIDs of either node travel without their node name.
type Nodes struct {
	Sender, Receiver string
}

// Envelope is a signal from one process to another: a message, an EXIT, a
// link failure, a link or monitor request, a cancel or a terminate. It
// carries the sender's context (every layer of its chain) and host so the
// receiving node can run its policy check.
//
// Actor meta values are scalars (nil, bool, any Go integer or float type,
// string), lists ([]any, []string) and maps (map[string]any) of them, at
// most msg.MaxDepth deep; they decode as nil, bool, int64 (uint64 above
// math.MaxInt64), float64, string, []any and map[string]any. A decoded
// Chain, and the actors and scope slices in it, may be shared with
// earlier messages of the same decoder: read-only.
type Envelope struct {
	// Kind is the runtime's SignalKind (never 0).
	Kind    uint8
	From    pid.PID
	To      pid.PID
	Topic   string
	Payload msg.Value
	Err     *proc.Error
	// Chain is the sender's context, outermost layer first; nil for none.
	Chain security.RemoteChain
	// FromHost is the sender's host id when it is not From.Host (the
	// wire carries nil then, and the decoder leaves it "").
	FromHost string
}

// Groupcast is a broadcast to a process group: one per node with members,
// which that node delivers to each of its members. Envelope is the
// message (Kind 1, To the zero PID) with its sender's identity.
type Groupcast struct {
	Scope string // the pg.scope entry id
	Group string
	Envelope
}

// SpawnRequest asks the receiving node to start a process.
type SpawnRequest struct {
	// ID matches the reply to the request; unique per sending node life.
	ID uint64
	// From is the parent; the zero PID when spawned from outside a process.
	From pid.PID
	// Entry is the entry id to start; Host the host id on the receiving
	// node ("" = its default host).
	Entry string
	Host  string
	Args  []msg.Value
	// Link and Monitor set up the relations with From as the child starts.
	Link    bool
	Monitor bool
	// Exec marks a process.exec spawn (checked as process.exec).
	Exec bool
	// Name registers the child under a local name of the receiving node.
	Name string
	// Message is delivered to the child before anything else.
	Message *Message
	// Actor and ScopeIDs are the narrowing the spawner asks for, applied
	// by the target node to Parent's chain; without a parent (HasParent
	// false: a spawn from outside any process, or by a system process)
	// they are the child's identity as given.
	Actor    *security.Actor
	ScopeIDs []string
	// Parent is the parent's context, every layer (empty for a parent
	// with none), when HasParent.
	Parent    security.RemoteChain
	HasParent bool
	// Context is the child's context values: msg.Nil or a map.
	Context msg.Value
}

// Message is a topic and payload, as in a spawn request's first message.
type Message struct {
	Topic   string
	Payload msg.Value
}

// SpawnReply answers a SpawnRequest with the child's PID or an error.
type SpawnReply struct {
	ID  uint64
	PID pid.PID
	Err *proc.Error
}

// spawn request flag bits.
const (
	flagLink    = 1 << 0
	flagMonitor = 1 << 1
	flagExec    = 1 << 2
)

// Field counts of each message's array: what this version writes and
// the least it accepts. An envelope or spawn request of the previous
// version (9 and 10 fields) has no outer layers, parent or context.
const (
	envelopeFields        = 10
	envelopeMinFields     = 9
	spawnRequestFields    = 12
	spawnRequestMinFields = 10
	spawnReplyFields      = 3
	groupcastFields       = 3
	pidFields             = 3
	actorFields           = 2
	layerFields           = 2
	messageFields         = 2
)

// PID node shorthands (see the package documentation).
const (
	nodeSender   = 0
	nodeReceiver = 1
)
