package memnet

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// errReset is what both ends see after Cut or Partition.
var errReset = errors.New("memnet: connection reset")

// pipeCapacity is how many bytes one direction buffers before Write
// blocks, standing in for socket buffers.
const pipeCapacity = 1 << 20

// pipe is one direction of a connection: an ordered queue of writes, each
// released to the reader at its delivery time.
type pipe struct {
	mu       sync.Mutex
	chunks   []chunk
	buffered int
	eof      bool  // the writing end closed: reads drain, then io.EOF
	gone     bool  // the reading end closed: writes fail
	broken   error // reset: both ends fail at once, buffered bytes are lost
	readable chan struct{}
	writable chan struct{}
}

type chunk struct {
	b     []byte
	at    time.Time // not deliverable before; zero = now
	gates []*gate   // not deliverable before each is open (Pause)
}

// held returns a channel to wait on while one of c's gates is closed, or
// nil.
func (c *chunk) held() <-chan struct{} {
	for len(c.gates) > 0 {
		select {
		case <-c.gates[0].open:
			c.gates = c.gates[1:]
		default:
			return c.gates[0].open
		}
	}
	return nil
}

func newPipe() *pipe {
	return &pipe{readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// read copies deliverable bytes into b, waiting for them until the
// deadline or until the local end closes.
func (p *pipe) read(b []byte, dl *deadline, closed <-chan struct{}) (int, error) {
	for {
		p.mu.Lock()
		var wait time.Duration
		var gate <-chan struct{}
		switch {
		case p.broken != nil:
			p.mu.Unlock()
			return 0, p.broken
		case len(p.chunks) > 0:
			c := &p.chunks[0]
			if gate = c.held(); gate != nil {
				break
			}
			if wait = time.Until(c.at); c.at.IsZero() || wait <= 0 {
				n := copy(b, c.b)
				c.b = c.b[n:]
				if len(c.b) == 0 {
					p.chunks[0] = chunk{}
					p.chunks = p.chunks[1:]
				}
				p.buffered -= n
				p.mu.Unlock()
				notify(p.writable)
				return n, nil
			}
		case p.eof:
			p.mu.Unlock()
			return 0, io.EOF
		}
		p.mu.Unlock()
		var timer <-chan time.Time
		var t *time.Timer
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
		var err error
		select {
		case <-p.readable:
		case <-timer:
		case <-gate:
		case <-dl.wait():
			err = os.ErrDeadlineExceeded
		case <-closed:
			err = errClosed
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return 0, err
		}
	}
}

// write queues a copy of b for delivery at `at`, once every gate is open,
// waiting while the pipe is full.
func (p *pipe) write(b []byte, at time.Time, gates []*gate, dl *deadline, closed <-chan struct{}) (int, error) {
	buf := append([]byte(nil), b...)
	for {
		p.mu.Lock()
		switch {
		case p.broken != nil:
			p.mu.Unlock()
			return 0, p.broken
		case p.gone || p.eof:
			p.mu.Unlock()
			return 0, io.ErrClosedPipe
		case p.buffered == 0 || p.buffered+len(buf) <= pipeCapacity:
			p.chunks = append(p.chunks, chunk{b: buf, at: at, gates: gates})
			p.buffered += len(buf)
			p.mu.Unlock()
			notify(p.readable)
			return len(b), nil
		}
		p.mu.Unlock()
		select {
		case <-p.writable:
		case <-dl.wait():
			return 0, os.ErrDeadlineExceeded
		case <-closed:
			return 0, errClosed
		}
	}
}

// close marks one end gone: the writer's (reader drains, then EOF) or the
// reader's (writes fail).
func (p *pipe) close(writer bool) {
	p.mu.Lock()
	if writer {
		p.eof = true
	} else {
		p.gone = true
	}
	p.mu.Unlock()
	notify(p.readable)
	notify(p.writable)
}

// reset breaks the pipe for both ends and discards what it holds.
func (p *pipe) reset() {
	p.mu.Lock()
	if p.broken == nil {
		p.broken = errReset
	}
	p.chunks, p.buffered = nil, 0
	p.mu.Unlock()
	notify(p.readable)
	notify(p.writable)
}

// deadline is a settable point in time with a channel closed when it
// passes.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{}
}

func newDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

// set moves the deadline; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.ch // the timer fired (or is firing): wait for its close
	}
	d.timer = nil
	select {
	case <-d.ch:
		d.ch = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		return
	}
	ch := d.ch
	d.timer = time.AfterFunc(wait, func() { close(ch) })
}

// wait returns a channel closed once the deadline has passed.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}
