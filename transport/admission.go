package transport

import (
	"container/list"
	"net"
	"sync"
)

// admission keeps the inbound connections still in their handshake
// within bounds, so that connections that never finish one (a slow-loris
// attacker, a port scanner) cannot keep peers out: at most perSource from
// one address and total in all. A connection over either bound evicts the
// oldest pending one (of its own address first), which is closed; a peer
// completes its handshake in a round trip or two, so only connections
// that sit idle are ever the oldest.
type admission struct {
	perSource, total int

	mu       sync.Mutex
	order    *list.List // of *pending, oldest first
	byConn   map[net.Conn]*list.Element
	bySource map[string]int
}

type pending struct {
	conn   net.Conn
	source string
}

func newAdmission(perSource, total int) *admission {
	return &admission{
		perSource: perSource, total: total,
		order: list.New(), byConn: map[net.Conn]*list.Element{}, bySource: map[string]int{},
	}
}

// sourceOf is the address part of a remote address: connections from
// one host share their bound whatever their port.
func sourceOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	s := a.String()
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return s
}

// admit records c as pending and returns the connections it evicts, for
// the caller to close.
func (a *admission) admit(c net.Conn) (evicted []net.Conn) {
	src := sourceOf(c.RemoteAddr())
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bySource[src] >= a.perSource {
		for e := a.order.Front(); e != nil; e = e.Next() {
			if p := e.Value.(*pending); p.source == src {
				evicted = append(evicted, a.removeLocked(e))
				break
			}
		}
	}
	if a.order.Len() >= a.total {
		evicted = append(evicted, a.removeLocked(a.order.Front()))
	}
	a.byConn[c] = a.order.PushBack(&pending{conn: c, source: src})
	a.bySource[src]++
	return evicted
}

// done removes c once its handshake ended, either way; a connection
// already evicted is not there any more.
func (a *admission) done(c net.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.byConn[c]; e != nil {
		a.removeLocked(e)
	}
}

func (a *admission) removeLocked(e *list.Element) net.Conn {
	p := a.order.Remove(e).(*pending)
	delete(a.byConn, p.conn)
	if a.bySource[p.source]--; a.bySource[p.source] == 0 {
		delete(a.bySource, p.source)
	}
	return p.conn
}

// len returns the number of pending connections.
func (a *admission) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.order.Len()
}
