package membership

import (
	"encoding/binary"
	"fmt"

	"github.com/hashicorp/memberlist"
)

// Role is a node's part in the cluster-wide Raft registry, as it
// advertises it. The values travel in node meta: never renumber them.
type Role uint8

const (
	// RoleNone: the node runs no Raft (registry disabled on it).
	RoleNone Role = 0
	// RoleVoter: the node may be a Raft voter and counts for
	// bootstrap_expect.
	RoleVoter Role = 1
	// RoleClient: a client node (`run -x`): never a voter, not counted
	// for bootstrap_expect.
	RoleClient Role = 2
	// RoleNonVoter: the node runs Raft but is never a voter
	// (cluster.raft.eligible false): a standby or outside the
	// configuration, not counted for bootstrap_expect. A node that does
	// not know this role takes it for a non-voter too.
	RoleNonVoter Role = 3
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleVoter:
		return "voter"
	case RoleClient:
		return "client"
	case RoleNonVoter:
		return "non-voter"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Meta is what a node tells every other node about itself through
// memberlist's node meta. It is fixed for the life of a node (one boot id).
type Meta struct {
	// InternodePort is the TCP port of the node's internode transport, on
	// the node's gossip IP. 0: the node serves no internode traffic.
	InternodePort uint16
	// ProtoMin and ProtoMax bound the internode protocol versions the node
	// speaks (transport.MinProtocolVersion..MaxProtocolVersion).
	ProtoMin, ProtoMax uint16
	// RaftRole is the node's part in the Raft registry.
	RaftRole Role
	// BootID is drawn at random at each start of the node; never 0. A name
	// seen with a new boot id is a new life: the old one is gone.
	BootID uint64
	// Priority and FailureDomain are the node's hints for Raft voter
	// selection (cluster.raft.priority, cluster.failure_domain): lower
	// priority is preferred, voters spread over domains first.
	// FailureDomain is at most MaxFailureDomain bytes.
	Priority      int32
	FailureDomain string
}

// MaxFailureDomain bounds Meta.FailureDomain, in bytes.
const MaxFailureDomain = 128

// Meta wire format, version 1, 16 bytes, big-endian:
//
//	0     format version (1)
//	1     raft role
//	2-3   internode port
//	4-5   protocol min
//	6-7   protocol max
//	8-15  boot id
//
// Version 2 appends the voter-selection hints:
//
//	16-19 priority (int32)
//	20    failure domain length n (at most MaxFailureDomain)
//	21-   failure domain, n bytes
//
// A node writes version 1 when both hints are zero. A later format keeps
// these bytes and appends; a decoder ignores what follows the fields it
// knows, so old and new nodes understand each other.
const (
	metaVersion = 1
	metaSize    = 16
	metaHints   = 2  // the version that added the hints
	metaV2Size  = 21 // without the domain's bytes
)

// memberlist panics when node meta exceeds MetaMaxSize (512 bytes); this
// fails to compile if the encoding ever outgrows it.
var _ [memberlist.MetaMaxSize - metaV2Size - MaxFailureDomain]struct{}

// encodeMeta returns the wire form of m (metaSize bytes).
func encodeMeta(m Meta) []byte {
	hints := m.Priority != 0 || m.FailureDomain != ""
	size := metaSize
	if hints {
		size = metaV2Size + len(m.FailureDomain)
	}
	b := make([]byte, size)
	b[0] = metaVersion
	if hints {
		b[0] = metaHints
		binary.BigEndian.PutUint32(b[16:], uint32(m.Priority))
		b[20] = byte(len(m.FailureDomain))
		copy(b[21:], m.FailureDomain)
	}
	b[1] = byte(m.RaftRole)
	binary.BigEndian.PutUint16(b[2:], m.InternodePort)
	binary.BigEndian.PutUint16(b[4:], m.ProtoMin)
	binary.BigEndian.PutUint16(b[6:], m.ProtoMax)
	binary.BigEndian.PutUint64(b[8:], m.BootID)
	return b
}

// decodeMeta parses node meta received from a peer. Unknown raft roles
// are kept as they are (a newer node may define more); they are neither
// voters nor clients here.
func decodeMeta(b []byte) (Meta, error) {
	if len(b) < metaSize {
		return Meta{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrBadMeta, len(b), metaSize)
	}
	if b[0] < metaVersion {
		return Meta{}, fmt.Errorf("%w: format version %d", ErrBadMeta, b[0])
	}
	m := Meta{
		RaftRole:      Role(b[1]),
		InternodePort: binary.BigEndian.Uint16(b[2:]),
		ProtoMin:      binary.BigEndian.Uint16(b[4:]),
		ProtoMax:      binary.BigEndian.Uint16(b[6:]),
		BootID:        binary.BigEndian.Uint64(b[8:]),
	}
	if b[0] >= metaHints {
		if len(b) < metaV2Size || len(b) < metaV2Size+int(b[20]) || int(b[20]) > MaxFailureDomain {
			return Meta{}, fmt.Errorf("%w: %d bytes of version %d", ErrBadMeta, len(b), b[0])
		}
		m.Priority = int32(binary.BigEndian.Uint32(b[16:]))
		m.FailureDomain = string(b[21 : 21+int(b[20])])
	}
	if err := m.check(); err != nil {
		return Meta{}, err
	}
	return m, nil
}

// check reports what makes m unusable: a zero boot id or an empty
// protocol range.
func (m Meta) check() error {
	switch {
	case m.BootID == 0:
		return fmt.Errorf("%w: boot id is 0", ErrBadMeta)
	case m.ProtoMin == 0 || m.ProtoMin > m.ProtoMax:
		return fmt.Errorf("%w: protocol versions %d..%d", ErrBadMeta, m.ProtoMin, m.ProtoMax)
	}
	return nil
}
