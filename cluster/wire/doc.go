// Package wire defines the messages of the cluster stream (transport stream
// 1): process signals, remote spawn requests and their replies. It encodes
// and decodes them by hand with msgpack's Encoder and Decoder primitives —
// no reflection — and knows nothing of sockets, sessions or the runtime.
//
// # Format
//
// A message is one transport frame body: a type byte, then one msgpack
// array. Type bytes are part of the protocol: never renumbered, only
// appended.
//
//	1 Envelope      [kind uint, from pid, to pid, topic str, payload value,
//	                 err nil|error, actor nil|actor, scope nil|[str...],
//	                 from host nil|str (nil: the host of from),
//	                 outer nil|chain]
//	2 SpawnRequest  [id uint, from pid, entry str, host str, args [value...],
//	                 flags uint, name str, message nil|[topic str, payload value],
//	                 actor nil|actor, scope nil|[str...],
//	                 parent nil|chain, context nil|value]
//	3 SpawnReply    [id uint, pid pid, err nil|error]
//	4 Groupcast     [scope str, group str, envelope [as 1's array]]: a
//	                 message to every member of a process group on the
//	                 receiving node (the envelope's to is nil)
//
// where
//
//	pid    nil (the zero PID) | [node, host str, seq uint]
//	node   str | 0 (the node that sent the frame) | 1 (the node receiving it)
//	actor  [id str, meta nil|{str: meta value}]
//	meta value  nil|bool|int|float|str | [meta value...] | {str: meta value},
//	       nested at most msg.MaxDepth
//	chain  [[actor nil|actor, scope nil|[str...]]...], outermost layer
//	       first, at most security.MaxLayers
//	value  a msg.Value as runtime/msg encodes it (errors are its ExtError)
//	flags  bit 0: link the parent, bit 1: the parent monitors, bit 2: exec
//
// An envelope's actor and scope are the layer its sender runs as, and
// outer the layers before it (nil when there are none, the common case):
// the sender's whole chain. A spawn request's actor and scope are the
// narrowing the spawner asks for, applied by the receiving node to the
// parent's chain; parent nil means a spawn from outside any process (or by
// a system process), whose actor and scope are the child's identity as
// given. context is the child's context values, a map. A previous
// version's envelope (9 fields) and spawn request (10) decode with no
// outer layers, parent or context.
//
// The two node shorthands keep the common case — a signal from a process
// of the sending node to one of the receiving node — free of node names,
// and they mean the receiver never has to trust a node name it could
// check: the sending node is the authenticated transport peer. A PID
// without a node is a PID of the sending node.
//
// Arrays may be longer than the fields listed: a decoder reads the fields
// it knows and skips the rest (each must be a well-formed value), so a
// later version can append fields. Fewer fields is an error.
//
// # Safety
//
// Decoders are meant for hostile input: they never panic, check every
// length prefix against the bytes left before allocating, cap nesting
// (payloads at msg.MaxDepth), and return an error wrapping ErrMalformed,
// ErrTruncated or ErrUnknownType. A body must be consumed exactly: trailing
// bytes are an error.
//
// An Encoder or a Decoder is not safe for concurrent use: keep one per
// goroutine, or pool them. A Decoder interns the node, host and topic
// strings it sees (a bounded table), so decoding a stream of similar
// envelopes allocates only for payloads.
package wire
