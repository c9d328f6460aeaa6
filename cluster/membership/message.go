package membership

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/hashicorp/memberlist"
)

// msgType is the first byte of a user message carried by memberlist (the
// Delegate's NotifyMsg/GetBroadcasts and SendReliable). Values are part of
// the wire protocol: never renumber them. 0 is not a message.
type msgType uint8

// msgIntent is an intent-to-leave: the sender's current life is about to
// leave gracefully, so the departure that follows is a leave, not a crash.
//
//	0     msgIntent
//	1-8   boot id of the leaving life (big-endian)
//	9     name length n, 1..255
//	10-   name, n bytes
const msgIntent msgType = 1

const intentHeader = 10

// intent is a decoded msgIntent.
type intent struct {
	Name string
	Boot uint64
}

func encodeIntent(in intent) []byte {
	b := make([]byte, intentHeader+len(in.Name))
	b[0] = byte(msgIntent)
	binary.BigEndian.PutUint64(b[1:], in.Boot)
	b[9] = byte(len(in.Name))
	copy(b[intentHeader:], in.Name)
	return b
}

// decodeMessage parses a user message from a peer. It copies what it
// keeps: memberlist reuses the buffer.
func decodeMessage(b []byte) (intent, error) {
	if len(b) == 0 {
		return intent{}, fmt.Errorf("%w: empty", ErrBadMessage)
	}
	if msgType(b[0]) != msgIntent {
		return intent{}, fmt.Errorf("%w: unknown type %d", ErrBadMessage, b[0])
	}
	if len(b) < intentHeader {
		return intent{}, fmt.Errorf("%w: intent of %d bytes", ErrBadMessage, len(b))
	}
	n := int(b[9])
	if n == 0 || len(b) != intentHeader+n {
		return intent{}, fmt.Errorf("%w: intent name of %d bytes in %d", ErrBadMessage, n, len(b))
	}
	in := intent{Boot: binary.BigEndian.Uint64(b[1:]), Name: string(b[intentHeader:])}
	if in.Boot == 0 {
		return intent{}, fmt.Errorf("%w: intent with boot id 0", ErrBadMessage)
	}
	return in, nil
}

// intentBroadcast queues an intent for gossip. A newer intent of the same
// node replaces an older one still queued. done, when not nil, is closed
// once the queue has handed the message out for the last time (or dropped
// it): memberlist's own messages go first in a packet, so a leaving node
// waits for that before queueing its departure, or a peer could read the
// departure before the intent.
type intentBroadcast struct {
	in   intent
	msg  []byte
	done chan struct{}
	once sync.Once
}

var _ memberlist.Broadcast = (*intentBroadcast)(nil)

func (b *intentBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*intentBroadcast)
	return ok && o.in.Name == b.in.Name
}

func (b *intentBroadcast) Message() []byte { return b.msg }

func (b *intentBroadcast) Finished() {
	if b.done != nil {
		b.once.Do(func() { close(b.done) })
	}
}
