package memnet

import (
	"net"
	"sync"
	"time"
)

// conn is one end of an in-memory connection.
type conn struct {
	n                     *Network
	local, remote         Addr
	localHost, remoteHost string
	rx, tx                *pipe
	out                   *linkState // faults applied to what this end writes
	rd, wd                *deadline
	peer                  *conn

	closeOnce sync.Once
	closed    chan struct{}
}

func newConnPair(n *Network, caddr, saddr Addr, chost, shost string, c2s, s2c *linkState) (*conn, *conn) {
	up, down := newPipe(), newPipe()
	c := &conn{n: n, local: caddr, remote: saddr, localHost: chost, remoteHost: shost,
		rx: down, tx: up, out: c2s, rd: newDeadline(), wd: newDeadline(), closed: make(chan struct{})}
	s := &conn{n: n, local: saddr, remote: caddr, localHost: shost, remoteHost: chost,
		rx: up, tx: down, out: s2c, rd: newDeadline(), wd: newDeadline(), closed: make(chan struct{})}
	c.peer, s.peer = s, c
	return c, s
}

func (c *conn) Read(b []byte) (int, error) {
	if c.isClosed() {
		return 0, errClosed
	}
	return c.rx.read(b, c.rd, c.closed)
}

func (c *conn) Write(b []byte) (int, error) {
	if c.isClosed() {
		return 0, errClosed
	}
	c.out.mu.Lock()
	drop := c.out.dropNext > 0
	if drop {
		c.out.dropNext--
	}
	delay := c.out.delay
	c.out.mu.Unlock()
	if drop {
		return len(b), nil
	}
	var at time.Time
	if delay > 0 {
		at = time.Now().Add(delay)
	}
	return c.tx.write(b, at, c.n.gatesFor(c.localHost, c.remoteHost), c.wd, c.closed)
}

func (c *conn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Close closes this end: the other end reads what was sent, then io.EOF,
// and its writes fail.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.tx.close(true)
		c.rx.close(false)
		c.forget()
	})
	return nil
}

// reset breaks both ends at once, as a network failure does.
func (c *conn) reset() {
	c.tx.reset()
	c.rx.reset()
	c.forget()
}

func (c *conn) forget() {
	c.n.mu.Lock()
	delete(c.n.conns, c)
	delete(c.n.conns, c.peer)
	c.n.mu.Unlock()
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }
