package runtime

import (
	"sync/atomic"

	"github.com/wippyd/wippyd/runtime/proc"
)

// stripes spreads hot counters over cache lines, one per worker slot.
const stripes = 16

type paddedCount struct {
	n atomic.Uint64
	_ [56]byte
}

// counter is a monotonically increasing count, cheap to bump from any worker.
type counter struct{ s [stripes]paddedCount }

func (c *counter) add(slot int, n uint64) { c.s[slot&(stripes-1)].n.Add(n) }

// Load sums the stripes.
func (c *counter) Load() uint64 {
	var t uint64
	for i := range c.s {
		t += c.s[i].n.Load()
	}
	return t
}

// Exit reasons counted by Counters, as proc.ExitReason names them.
var exitReasons = [...]string{"normal", "error", "terminated", "link_down", "noconnection", "no_process", "panic"}

// Drop reasons counted by Counters.
const (
	DropNoProcess   = "noproc"       // receiver had ended
	DropNodeDown    = "nodedown"     // receiver's node unreachable
	DropMailboxFull = "mailbox_full" // remote send into a full mailbox
	DropUnread      = "unread"       // still in the mailbox when its owner ended
	DropPolicy      = "policy"       // signal from another node denied by policy
)

var dropReasons = [...]string{DropNoProcess, DropNodeDown, DropMailboxFull, DropUnread, DropPolicy}

// Counters are a node's runtime counters: no globals, one set per Runtime,
// read by the admin endpoint.
type Counters struct {
	spawns       counter
	exits        [len(exitReasons)]counter
	sentLocal    counter
	sentRemote   counter
	recvLocal    counter
	recvRemote   counter
	dropped      [len(dropReasons)]counter
	cancelKilled counter
	denied       counter
}

func (c *Counters) exit(slot int, err error) {
	r := proc.ExitReason(err)
	for i, name := range exitReasons {
		if name == r {
			c.exits[i].add(slot, 1)
			return
		}
	}
}

func (c *Counters) drop(slot int, reason string, n uint64) {
	for i, name := range dropReasons {
		if name == reason {
			c.dropped[i].add(slot, n)
			return
		}
	}
}

// Snapshot is a point-in-time copy of the counters plus gauges.
type Snapshot struct {
	Spawns           uint64
	Exits            map[string]uint64 // by reason
	SentLocal        uint64
	SentRemote       uint64
	ReceivedLocal    uint64
	ReceivedRemote   uint64
	Dropped          map[string]uint64 // by reason
	Steals           uint64
	HandOffs         uint64
	RunQueue         int
	Processes        int
	ProcessesByHost  map[string]int
	SpawnsByHost     map[string]uint64
	CancelTerminated uint64 // processes terminated by a cancel timeout
	// Denied counts refusals by policy: calls of local processes that
	// returned PERMISSION_DENIED, and signals and spawns from other nodes
	// (those signals are also in Dropped["policy"]).
	Denied uint64
}
