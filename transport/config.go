package transport

import (
	"fmt"
	"log/slog"
	"time"
)

// Protocol versions this package implements. A handshake picks the highest
// version inside both sides' configured ranges.
//
// Version 2 seals every frame after the handshake when the endpoints have
// a secret key; version 1 does not, so a node with a key speaks version 2
// only and refuses a peer that cannot. Without a key the two are the same
// on the wire.
const (
	MinProtocolVersion uint16 = 1
	MaxProtocolVersion uint16 = 2
)

// Config configures an Endpoint. Start from DefaultConfig and set Name and
// BindAddr; New validates a copy.
type Config struct {
	// Name is this node's name, its identity to peers. Required, at most
	// 255 bytes.
	Name string
	// Cluster is the cluster name; a peer with another name is refused, so
	// two clusters on one network never talk. Default "wippy".
	Cluster string
	// BootID identifies this start of the node. 0 draws a random non-zero
	// value in New. A peer that sees a new boot id for a name treats the
	// old session as lost.
	BootID uint64
	// SecretKey, when set (16, 24 or 32 bytes), makes both sides of every
	// connection prove they hold it in the handshake, and seals every frame
	// after it (AES-256-GCM, keys derived per connection and direction;
	// see the package documentation). Empty: no authentication, frames in
	// clear, and a peer that has a key is refused.
	SecretKey []byte

	// BindAddr is the address Start listens on, in the Network's syntax.
	// Default ":7950".
	BindAddr string
	// AdvertiseAddr is the address peers should dial to reach this node,
	// sent in the handshake. Default: the listener's address; an
	// unspecified IP in it (0.0.0.0, ::) is replaced by the peer with the
	// IP it sees the connection come from.
	AdvertiseAddr string

	// MinVersion and MaxVersion bound the protocol versions this node
	// speaks. Defaults MinProtocolVersion and MaxProtocolVersion.
	MinVersion, MaxVersion uint16

	// MaxFrame is the largest frame body in bytes (the msgpack body, not
	// counting the 5-byte header). A larger frame received drops the
	// connection; a larger Send fails with ErrFrameTooLarge. Default 16 MiB.
	MaxFrame int
	// SendQueueBytes bounds, per peer, the frames not yet acknowledged
	// (unsent plus sent-but-unacked), kept across reconnects. A Send that
	// would exceed it abandons the session (ErrQueueFull). Larger rides out
	// longer outages at the cost of memory. Default 64 MiB.
	SendQueueBytes int64
	// RecvQueueBytes bounds, per peer, received frames waiting for their
	// handler; above it the connection stops being read, which pushes back
	// on the sender. Default 16 MiB; at least MaxFrame.
	RecvQueueBytes int64

	// DialTimeout bounds one connection attempt. Default 5s.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the handshake after connecting or accepting:
	// a peer needs a round trip or two, so this only has to cover slow
	// links and pauses; longer lets an idle connection hold a pending slot
	// longer. Default 2s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write; a peer that does not read for this
	// long is disconnected (and reconnected). Default 10s.
	WriteTimeout time.Duration
	// ReadTimeout drops a connection on which nothing arrived for this
	// long. Both sides send something every KeepAlive. Default 15s.
	ReadTimeout time.Duration
	// KeepAlive is the idle interval after which a connection carries a
	// ping (dialer) or an ack (acceptor). Must be below ReadTimeout.
	// Default 5s.
	KeepAlive time.Duration
	// BackoffMin and BackoffMax bound the wait between connection attempts
	// to a peer: BackoffMin after a failure, doubling up to BackoffMax,
	// back to BackoffMin after a successful handshake. Defaults 10ms, 5s.
	BackoffMin, BackoffMax time.Duration
	// MaxPendingHandshakes bounds inbound connections still in their
	// handshake, MaxPendingPerSource those from one address (IP, port
	// ignored). A connection over either bound closes the oldest pending
	// one (of its own address first), so connections that never complete
	// a handshake cannot keep peers out. Defaults 64 and 8.
	MaxPendingHandshakes int
	MaxPendingPerSource  int
	// OneWay turns off duplex connections: this node then sends to each
	// peer only on the connection it dialed, and the peer's connection
	// carries the peer's frames, as nodes did before duplex. By default
	// the connection dialed by the node whose name sorts first carries
	// both nodes' frames and acks, when both sides can (see the package
	// documentation): a reply rides on the segment that acknowledges the
	// request. For tests of mixed clusters, and as a way back.
	OneWay bool

	// Members, when set, is asked about every peer life presented in a
	// handshake: one it does not list is refused (see Members). Default
	// nil: every peer that passes the handshake is accepted.
	Members Members

	// Logger receives connection failures and refusals. Default: discard.
	Logger *slog.Logger
	// WarnBurst bounds the warnings of one kind (a refused handshake, a
	// dropped connection, an evicted one) written in any 10 seconds; the
	// rest are counted, and the next one written says how many were
	// suppressed, so a flood of bad connections is not a flood of lines.
	// Default 5.
	WarnBurst int
}

// DefaultConfig returns a Config with every default filled in and Name
// empty.
func DefaultConfig() Config {
	return Config{
		Cluster:              "wippy",
		BindAddr:             ":7950",
		MinVersion:           MinProtocolVersion,
		MaxVersion:           MaxProtocolVersion,
		MaxFrame:             16 << 20,
		SendQueueBytes:       64 << 20,
		RecvQueueBytes:       16 << 20,
		DialTimeout:          5 * time.Second,
		HandshakeTimeout:     2 * time.Second,
		WriteTimeout:         10 * time.Second,
		ReadTimeout:          15 * time.Second,
		KeepAlive:            5 * time.Second,
		BackoffMin:           10 * time.Millisecond,
		BackoffMax:           5 * time.Second,
		MaxPendingHandshakes: 64,
		MaxPendingPerSource:  8,
		WarnBurst:            5,
	}
}

// Validate reports the first invalid field, wrapped in ErrInvalidConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	switch {
	case c.Name == "" || len(c.Name) > 255:
		return bad("name must be 1..255 bytes, got %d", len(c.Name))
	case c.Cluster == "" || len(c.Cluster) > 255:
		return bad("cluster must be 1..255 bytes, got %d", len(c.Cluster))
	case len(c.SecretKey) != 0 && len(c.SecretKey) != 16 && len(c.SecretKey) != 24 && len(c.SecretKey) != 32:
		return bad("secret key must be 16, 24 or 32 bytes, got %d", len(c.SecretKey))
	case c.BindAddr == "":
		return bad("bind address is empty")
	case len(c.AdvertiseAddr) > 255:
		return bad("advertise address longer than 255 bytes")
	case c.MinVersion < MinProtocolVersion || c.MaxVersion > MaxProtocolVersion || c.MinVersion > c.MaxVersion:
		return bad("versions %d..%d outside supported %d..%d", c.MinVersion, c.MaxVersion, MinProtocolVersion, MaxProtocolVersion)
	case len(c.SecretKey) != 0 && c.MaxVersion < sealedVersion:
		return bad("a secret key needs protocol version %d (sealed frames), max version is %d", sealedVersion, c.MaxVersion)
	case c.MaxFrame < 1024 || c.MaxFrame > 1<<30:
		return bad("max frame %d outside 1 KiB..1 GiB", c.MaxFrame)
	case c.SendQueueBytes < int64(c.MaxFrame)+headerSize:
		return bad("send queue %d bytes cannot hold one max frame", c.SendQueueBytes)
	case c.RecvQueueBytes < int64(c.MaxFrame):
		return bad("receive queue %d bytes cannot hold one max frame", c.RecvQueueBytes)
	case c.DialTimeout <= 0 || c.HandshakeTimeout <= 0 || c.WriteTimeout <= 0 || c.ReadTimeout <= 0:
		return bad("timeouts must be positive")
	case c.KeepAlive <= 0 || c.KeepAlive >= c.ReadTimeout:
		return bad("keep-alive %v must be positive and below read timeout %v", c.KeepAlive, c.ReadTimeout)
	case c.BackoffMin <= 0 || c.BackoffMax < c.BackoffMin:
		return bad("backoff %v..%v", c.BackoffMin, c.BackoffMax)
	case c.MaxPendingHandshakes <= 0 || c.MaxPendingPerSource <= 0:
		return bad("max pending handshakes must be positive")
	case c.WarnBurst <= 0:
		return bad("warn burst must be positive")
	}
	return nil
}
