package cluster

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Cluster. Start from DefaultConfig and set Node.
type Config struct {
	// Node is this node's name. It must be the runtime's Config.Node and
	// the transport endpoint's name. Required.
	Node string
	// SpawnTimeout bounds a remote spawn: a request without a reply by
	// then returns ErrSpawnTimeout (a child may still have started; a
	// late reply is logged and otherwise ignored). Default 5s. Shorter
	// fails faster on a silent node; longer tolerates a slow catalog.
	SpawnTimeout time.Duration
	// DenyLogInterval is the least time between two log lines about
	// denied traffic for one (sender host, target host) pair, and between
	// two about malformed frames from one peer. Default 1 minute.
	DenyLogInterval time.Duration
	// Members, when set, is subscribed to by Start; otherwise the owner
	// calls HandleMember itself.
	Members MemberSource
	// Logger receives the cluster's logs. Default: discard.
	Logger *slog.Logger
	// Now is the clock for log throttling. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns a Config with every default set and Node empty.
func DefaultConfig() Config {
	return Config{SpawnTimeout: 5 * time.Second, DenyLogInterval: time.Minute}
}

// Validate reports the first invalid field, wrapped in ErrConfig.
func (c *Config) Validate() error {
	switch {
	case c.Node == "":
		return fmt.Errorf("%w: node name is empty", ErrConfig)
	case c.SpawnTimeout <= 0:
		return fmt.Errorf("%w: spawn timeout %v must be positive", ErrConfig, c.SpawnTimeout)
	case c.DenyLogInterval < 0:
		return fmt.Errorf("%w: deny log interval %v is negative", ErrConfig, c.DenyLogInterval)
	}
	return nil
}
