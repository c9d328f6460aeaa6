package names

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/wippyd/wippyd/transport"
	"github.com/wippyd/wippyd/transport/tcp"
)

// cutNet is loopback TCP that the test can partition: each node gets a
// Network (host) that refuses to dial a node it is cut off from, and a
// cut closes the connections either node dialed to the other. Every node
// dials its own connections to its peers, so with both directions cut no
// byte passes between the two; a heal lets the transports dial again.
type cutNet struct {
	tcp   *tcp.Network
	mu    sync.Mutex
	names map[string]string // listen address -> node
	cut   map[[2]string]bool
	conns map[[2]string]map[net.Conn]bool // {dialer, target} -> open connections
}

func newCutNet() (*cutNet, error) {
	nw, err := tcp.New(tcp.DefaultConfig())
	if err != nil {
		return nil, err
	}
	return &cutNet{tcp: nw, names: map[string]string{}, cut: map[[2]string]bool{}, conns: map[[2]string]map[net.Conn]bool{}}, nil
}

// host is node name's view of the network.
func (n *cutNet) host(name string) transport.Network { return cutHost{n, name} }

// learn records that node listens at addr.
func (n *cutNet) learn(node, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.names[addr] = node
}

func (n *cutNet) Partition(a, b string) {
	n.mu.Lock()
	var doomed []net.Conn
	for _, k := range [][2]string{{a, b}, {b, a}} {
		n.cut[k] = true
		for c := range n.conns[k] {
			doomed = append(doomed, c)
		}
	}
	n.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}

func (n *cutNet) Heal(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, [2]string{a, b})
	delete(n.cut, [2]string{b, a})
}

type cutHost struct {
	n    *cutNet
	name string
}

var errCut = errors.New("names test: partitioned")

func (h cutHost) Listen(addr string) (net.Listener, error) { return h.n.tcp.Listen(addr) }

func (h cutHost) Dial(ctx context.Context, addr string) (net.Conn, error) {
	n := h.n
	n.mu.Lock()
	k := [2]string{h.name, n.names[addr]}
	cut := n.cut[k]
	n.mu.Unlock()
	if cut {
		return nil, errCut
	}
	c, err := n.tcp.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[k] { // cut while dialing
		c.Close()
		return nil, errCut
	}
	if n.conns[k] == nil {
		n.conns[k] = map[net.Conn]bool{}
	}
	tc := &trackedConn{Conn: c, n: n, k: k}
	n.conns[k][tc] = true
	return tc, nil
}

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	n    *cutNet
	k    [2]string
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.n.mu.Lock()
		delete(c.n.conns[c.k], c)
		c.n.mu.Unlock()
	})
	return c.Conn.Close()
}
