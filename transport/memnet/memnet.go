package memnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/transport"
)

// Errors a dial or a connection can return.
var (
	// ErrRefused: nothing listens at the address.
	ErrRefused = errors.New("memnet: connection refused")
	// ErrUnreachable: the two hosts are partitioned.
	ErrUnreachable = errors.New("memnet: network unreachable")
	// ErrAddrInUse: Listen on an address already listened on.
	ErrAddrInUse = errors.New("memnet: address in use")

	errClosed = net.ErrClosed
)

// backlog is how many connections may wait for Accept.
const backlog = 128

// Network is an in-memory network of named hosts. The zero value is not
// usable: call New. All methods are safe for concurrent use.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener // by address
	links     map[link]*linkState
	conns     map[*conn]struct{} // dialing ends of open connections
	port      int                // last ephemeral port handed out
	paused    map[string]*gate   // hosts paused, with the gate Resume opens
	npaused   atomic.Int32       // len(paused), read by every write
}

// gate holds back the bytes written while a host is paused; Resume opens
// it.
type gate struct{ open chan struct{} }

type link struct{ from, to string }

// linkState holds the faults injected on one direction between two hosts.
type linkState struct {
	mu          sync.Mutex
	partitioned bool
	dropNext    int
	delay       time.Duration
}

// New returns an empty network.
func New() *Network {
	return &Network{
		listeners: map[string]*listener{},
		links:     map[link]*linkState{},
		conns:     map[*conn]struct{}{},
		paused:    map[string]*gate{},
	}
}

// Host returns the view of the network from the host called name: what it
// listens on and dials from. Faults are set between host names.
func (n *Network) Host(name string) *Host { return &Host{n: n, name: name} }

// Host is one machine on a Network. It implements transport.Network.
type Host struct {
	n    *Network
	name string
}

var _ transport.Network = (*Host)(nil)

// Name returns the host's name.
func (h *Host) Name() string { return h.name }

// Listen listens on addr; "" means the host's name. Addresses are opaque
// strings shared by the whole network.
func (h *Host) Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = h.name
	}
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[addr] != nil {
		return nil, fmt.Errorf("%w: %s", ErrAddrInUse, addr)
	}
	l := &listener{n: n, host: h.name, addr: Addr(addr), queue: make(chan *conn, backlog), done: make(chan struct{})}
	n.listeners[addr] = l
	return l, nil
}

// Dial connects to the listener at addr. It fails at once when nothing
// listens there or the hosts are partitioned, and waits (bounded by ctx)
// while the listener's backlog is full.
func (h *Host) Dial(ctx context.Context, addr string) (net.Conn, error) {
	n := h.n
	n.mu.Lock()
	l := n.listeners[addr]
	if l == nil {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrRefused, addr)
	}
	out, in := n.linkLocked(h.name, l.host), n.linkLocked(l.host, h.name)
	if out.isPartitioned() {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %s -> %s", ErrUnreachable, h.name, l.host)
	}
	n.port++
	local := Addr(fmt.Sprintf("%s:%d", h.name, n.port))
	c, s := newConnPair(n, local, l.addr, h.name, l.host, out, in)
	n.conns[c] = struct{}{}
	n.mu.Unlock()
	select {
	case l.queue <- s:
		select {
		case <-l.done: // closed meanwhile: nobody will accept s
			c.Close()
			return nil, fmt.Errorf("%w: %s", ErrRefused, addr)
		default:
			return c, nil
		}
	case <-l.done:
		c.Close()
		return nil, fmt.Errorf("%w: %s", ErrRefused, addr)
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
}

// linkLocked returns the fault state of from -> to, creating it.
func (n *Network) linkLocked(from, to string) *linkState {
	k := link{from, to}
	ls := n.links[k]
	if ls == nil {
		ls = &linkState{}
		n.links[k] = ls
	}
	return ls
}

func (n *Network) link(from, to string) *linkState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.linkLocked(from, to)
}

func (ls *linkState) isPartitioned() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.partitioned
}

// Partition cuts every connection between hosts a and b and refuses new
// ones, both ways, until Heal.
func (n *Network) Partition(a, b string) {
	for _, l := range []*linkState{n.link(a, b), n.link(b, a)} {
		l.mu.Lock()
		l.partitioned = true
		l.mu.Unlock()
	}
	n.Cut(a, b)
}

// Heal lets hosts a and b connect again.
func (n *Network) Heal(a, b string) {
	for _, l := range []*linkState{n.link(a, b), n.link(b, a)} {
		l.mu.Lock()
		l.partitioned = false
		l.mu.Unlock()
	}
}

// Cut resets every open connection between hosts a and b, either way:
// both ends fail at once and bytes in flight are lost. New connections
// are allowed.
func (n *Network) Cut(a, b string) {
	n.mu.Lock()
	var cut []*conn
	for c := range n.conns {
		if c.localHost == a && c.remoteHost == b || c.localHost == b && c.remoteHost == a {
			cut = append(cut, c)
		}
	}
	n.mu.Unlock()
	for _, c := range cut {
		c.reset()
	}
}

// DropNext silently discards the next count writes from host from to host
// to: the writer sees success, the reader never gets the bytes. A
// transport writing whole frames per write loses whole frames.
func (n *Network) DropNext(from, to string, count int) {
	l := n.link(from, to)
	l.mu.Lock()
	l.dropNext += count
	l.mu.Unlock()
}

// Delay holds every later write from host from to host to for d before the
// reader can see it (order is kept). 0 removes the delay.
func (n *Network) Delay(from, to string, d time.Duration) {
	l := n.link(from, to)
	l.mu.Lock()
	l.delay = d
	l.mu.Unlock()
}

// Pause freezes host's traffic as a stopped process (SIGSTOP, docker
// pause) would look to the others: its connections stay open, and every
// byte written from then on, by the host or to it, is held back, in
// order, until Resume. Writes succeed until a connection's buffer is
// full; dials to the host still connect (a stopped process's listen
// backlog), and their handshake bytes wait too. Only the network stops:
// the host's own goroutines and timers go on running, so a pause meant to
// look like SIGSTOP should stay under its read and handshake timeouts.
func (n *Network) Pause(host string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.paused[host] == nil {
		n.paused[host] = &gate{open: make(chan struct{})}
		n.npaused.Add(1)
	}
}

// Resume lets through what Pause held back for host: the other ends read
// it, in order, even on connections closed meanwhile (a closed end's
// peer reads what was sent, then io.EOF).
func (n *Network) Resume(host string) {
	n.mu.Lock()
	g := n.paused[host]
	if g != nil {
		delete(n.paused, host)
		n.npaused.Add(-1)
	}
	n.mu.Unlock()
	if g != nil {
		close(g.open)
	}
}

// gatesFor returns the gates a write between two hosts waits behind: the
// pauses of either.
func (n *Network) gatesFor(a, b string) []*gate {
	if n.npaused.Load() == 0 {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var gs []*gate
	for _, h := range []string{a, b} {
		if g := n.paused[h]; g != nil {
			gs = append(gs, g)
		}
	}
	return gs
}

// Conns returns the number of open connections.
func (n *Network) Conns() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// Addr is a memnet address.
type Addr string

// Network returns "memnet".
func (Addr) Network() string { return "memnet" }

func (a Addr) String() string { return string(a) }

type listener struct {
	n         *Network
	host      string
	addr      Addr
	queue     chan *conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.queue:
		return c, nil
	case <-l.done:
		return nil, errClosed
	}
}

func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		l.n.mu.Lock()
		if l.n.listeners[string(l.addr)] == l {
			delete(l.n.listeners, string(l.addr))
		}
		l.n.mu.Unlock()
		close(l.done)
		for {
			select {
			case c := <-l.queue:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *listener) Addr() net.Addr { return l.addr }
