package eventual

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/wippyd/wippyd/registry"
)

// Config configures a Plane. Start from DefaultConfig and set Node.
type Config struct {
	// Node is this node's name: the origin of its bindings. Required.
	Node string
	// MaxNames bounds the namespace: past this many names (of every node)
	// a registration fails with UNAVAILABLE, counted and logged. Every
	// node holds the whole set, so it is meant for service and presence
	// names, not one name per session. Remote additions beyond twice the
	// bound are dropped (counted) rather than let a peer fill memory.
	// Default 100,000.
	MaxNames int
	// SyncInterval is the anti-entropy period: each node sends its digest
	// (the version of every origin it holds) to one random peer, which
	// sends back what it has newer, so a node that missed deltas (a
	// partition, a full send queue) catches up. Shorter repairs faster
	// and costs a small message per node per period. Default 1s.
	SyncInterval time.Duration
	// PageBytes bounds one message of a state transfer; a change larger
	// than this is not sent as a delta: peers fetch the state instead.
	// Default 256 KiB.
	PageBytes int
	// Logger receives the plane's log. Default: discard.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults; Node is empty.
func DefaultConfig() Config {
	return Config{MaxNames: 100_000, SyncInterval: time.Second, PageBytes: 256 << 10}
}

// Validate reports the first invalid field, wrapped in ErrInvalidConfig.
func (c *Config) Validate() error {
	switch {
	case registry.ValidateNode(c.Node) != nil:
		return fmt.Errorf("%w: node name %q", ErrInvalidConfig, c.Node)
	case c.MaxNames < 1:
		return fmt.Errorf("%w: max names %d", ErrInvalidConfig, c.MaxNames)
	case c.SyncInterval < time.Millisecond:
		return fmt.Errorf("%w: sync interval %v", ErrInvalidConfig, c.SyncInterval)
	case c.PageBytes < 4<<10:
		return fmt.Errorf("%w: page bytes %d", ErrInvalidConfig, c.PageBytes)
	}
	return nil
}
