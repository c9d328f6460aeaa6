package eventual

import (
	"errors"
	"fmt"

	"github.com/wippyd/wippyd/registry"
)

var (
	// ErrFull: the EVENTUAL namespace holds Config.MaxNames names. It
	// wraps registry.ErrUnavailable.
	ErrFull = fmt.Errorf("%w: eventual namespace full", registry.ErrUnavailable)
	// ErrRemotePID: an EVENTUAL name is given only to a process of the
	// registering node (its node owns the binding). It wraps
	// registry.ErrInvalidPID.
	ErrRemotePID = fmt.Errorf("%w: not a process of this node", registry.ErrInvalidPID)
	// ErrInvalidConfig wraps every Config.Validate failure.
	ErrInvalidConfig = errors.New("eventual: invalid config")
	// ErrBadMessage wraps every failure to decode a peer's message.
	ErrBadMessage = errors.New("eventual: bad message")
)
