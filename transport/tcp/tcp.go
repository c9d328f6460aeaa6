package tcp

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/wippyd/wippyd/transport"
)

// Config tunes the sockets. The zero value uses the operating system's
// defaults everywhere except TCP keep-alive, which Go enables.
type Config struct {
	// KeepAlive is the idle time before TCP keep-alive probes start, so a
	// peer that vanished without a FIN is noticed even by a side that only
	// reads. 0 = Go's default (15s); negative disables probes. The
	// transport's own pings usually notice first.
	KeepAlive time.Duration
	// ReadBuffer and WriteBuffer set SO_RCVBUF and SO_SNDBUF in bytes; 0
	// keeps the kernel's (auto-tuned) sizes.
	ReadBuffer, WriteBuffer int
}

// DefaultConfig returns the zero Config: kernel and Go defaults.
func DefaultConfig() Config { return Config{} }

// Validate rejects negative buffer sizes.
func (c *Config) Validate() error {
	if c.ReadBuffer < 0 || c.WriteBuffer < 0 {
		return fmt.Errorf("tcp: negative socket buffer size")
	}
	return nil
}

// Network is the TCP implementation of transport.Network. It is stateless
// beyond its Config and safe for concurrent use.
type Network struct {
	cfg Config
}

var _ transport.Network = (*Network)(nil)

// New returns a Network using cfg.
func New(cfg Config) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Network{cfg: cfg}, nil
}

// Listen listens on a TCP address such as "127.0.0.1:0" or ":7950".
func (n *Network) Listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: n.cfg.KeepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	if n.cfg.ReadBuffer == 0 && n.cfg.WriteBuffer == 0 {
		return ln, nil
	}
	return &listener{Listener: ln, n: n}, nil
}

// Dial connects to a TCP address, giving up when ctx ends.
func (n *Network) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: n.cfg.KeepAlive}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := n.tune(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// tune applies the socket options Go does not set by itself. Nagle stays
// off (Go's default): the transport batches frames into one write itself.
func (n *Network) tune(c net.Conn) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	if n.cfg.ReadBuffer > 0 {
		if err := tc.SetReadBuffer(n.cfg.ReadBuffer); err != nil {
			return err
		}
	}
	if n.cfg.WriteBuffer > 0 {
		if err := tc.SetWriteBuffer(n.cfg.WriteBuffer); err != nil {
			return err
		}
	}
	return nil
}

type listener struct {
	net.Listener
	n *Network
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := l.n.tune(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
