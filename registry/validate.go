package registry

import "github.com/wippyd/wippyd/runtime/pid"

// Size limits. They are part of the replicated state machine's input
// contract: every replica rejects the same commands, so they may only grow,
// and only once every node accepts the larger value.
const (
	// MaxNameLen is the longest name, in bytes.
	MaxNameLen = 1024
	// MaxNodeLen is the longest node name in a registered PID, in bytes
	// (a DNS host name, the default node name, is at most 253).
	MaxNodeLen = 255
	// MaxHostLen is the longest host id in a registered PID, in bytes.
	MaxHostLen = 255
)

// ValidateName returns ErrInvalidName unless name is 1 to MaxNameLen
// bytes long. Any bytes are allowed.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return ErrInvalidName
	}
	return nil
}

// ValidatePID returns ErrInvalidPID unless p can hold a cluster-wide name:
// it must name its node (names of a node are released when the node dies),
// its host and a non-zero sequence, within the size limits.
func ValidatePID(p pid.PID) error {
	if p.Node == "" || len(p.Node) > MaxNodeLen || p.Host == "" || len(p.Host) > MaxHostLen || p.Seq == 0 {
		return ErrInvalidPID
	}
	return nil
}

// ValidateNode returns ErrInvalidPID unless node could be the node of a
// valid PID.
func ValidateNode(node string) error {
	if node == "" || len(node) > MaxNodeLen {
		return ErrInvalidPID
	}
	return nil
}
