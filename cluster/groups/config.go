package groups

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Groups service. Start from DefaultConfig.
type Config struct {
	// Node is this node's name (the runtime's and the transport's).
	// Required.
	Node string
	// Boot is this node's life, the transport endpoint's boot id: other
	// nodes tell a restart from it. Required with a mesh.
	Boot uint64
	// Scopes are the node's pg.scope entries. A scope other nodes have
	// and this one lacks is refused (counted) when they announce it.
	Scopes []Scope
	// MaxMembersPerNode bounds the memberships (multi-joins counted) of
	// the processes of any one node, this one's included, across every
	// scope. Past it a local join fails with ErrNodeFull and another
	// node's members are refused (counted in Stats.Refused, logged).
	// With N nodes, the table holds at most N times this many. Default
	// 100,000 (about 20 MB of table per node at the bound).
	MaxMembersPerNode int
	// MaxSubscriptions bounds the monitors and event subscriptions of
	// the node, all scopes together. Past it Subscribe fails with
	// ErrTooManySubscriptions. Default 65,536.
	MaxSubscriptions int
	// AntiEntropy is how often the node sends its digest (its life and
	// last sequence) to one other node, round robin, which asks for the
	// full state if its copy differs. Default 30s; 0 = never. Lost
	// changes are rare (sessions replay what they lose, a new session
	// starts with a full state), so this is a safety net.
	AntiEntropy time.Duration
	// StatePart is the size in bytes a full state is cut into, each part
	// one frame. Default 256 KiB; at most half the transport's max frame.
	StatePart int
	// Logger receives the service's logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock for log throttling. Default time.Now.
	Now func() time.Time
}

// Scope is one pg.scope entry.
type Scope struct {
	ID     string
	Limits ScopeLimits
}

// DefaultConfig returns a Config with every default set and Node empty.
func DefaultConfig() Config {
	return Config{
		MaxMembersPerNode: 100_000,
		MaxSubscriptions:  65_536,
		AntiEntropy:       30 * time.Second,
		StatePart:         256 << 10,
	}
}

// Validate reports the first invalid field, wrapped in ErrConfig.
func (c *Config) Validate() error {
	seen := map[string]bool{}
	for _, s := range c.Scopes {
		if s.ID == "" || seen[s.ID] || s.Limits.MaxGroups < 0 || s.Limits.MaxMembersPerGroup < 0 {
			return fmt.Errorf("%w: scope %q: empty, twice or a negative limit", ErrConfig, s.ID)
		}
		seen[s.ID] = true
	}
	switch {
	case c.Node == "":
		return fmt.Errorf("%w: node name is empty", ErrConfig)
	case c.MaxMembersPerNode <= 0 || c.MaxSubscriptions <= 0:
		return fmt.Errorf("%w: max members per node and max subscriptions must be positive", ErrConfig)
	case c.AntiEntropy < 0:
		return fmt.Errorf("%w: anti-entropy interval %v is negative", ErrConfig, c.AntiEntropy)
	case c.StatePart < 1024:
		return fmt.Errorf("%w: state part %d is under 1 KiB", ErrConfig, c.StatePart)
	}
	return nil
}
