package transport

import (
	"net"
	"syscall"
	"time"
)

// Direct writes. A frame sent while the peer's writer goroutine waits with
// nothing queued would otherwise cost a wake-up of that goroutine before
// it reaches the socket: on a request/reply stream, one goroutine switch
// per message on each node. Send then writes it itself, in one
// non-blocking write, when the connection is a plain (unsealed) socket and
// no other direct write ended within directGap: a stream of frames from
// one sender goes to the writer after the first, which batches them.
// Whatever the write does not take (a full socket buffer, an error) is
// left in the queue for the writer, which it wakes; the connection and
// its errors stay the writer's. Sealed connections always go through the
// writer, which seals what it writes in batches.

// directGap is how long after a direct write ended the next frame goes to
// the writer instead: longer than the gap between the sends of a burst,
// shorter than a round trip to another node.
const directGap = 10 * time.Microsecond

// rawOut is the connection carrying this side's frames, which direct
// writes go to.
type rawOut struct {
	conn net.Conn
	rc   syscall.RawConn
}

// rawOf returns conn's raw connection when frames may be written to it
// directly: a socket, unsealed.
func rawOf(l *link) syscall.RawConn {
	if !canWriteDirect || l.seal != nil {
		return nil
	}
	sc, ok := l.conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// directLocked reports whether the frame just queued, the only one
// pending, may be written by the sender, and if so marks the write begun.
func (p *peer) directLocked(wasPending bool) bool {
	if !p.writerIdle || p.directBusy || wasPending || p.raw.rc == nil || p.raw.conn != p.out {
		return false
	}
	if now := time.Now(); now.Sub(p.directEnd) < directGap {
		return false
	}
	p.directBusy = true
	return true
}

// wakeWriterUnlock wakes the writer for what was just queued, if it waits,
// and releases p.mu (held on entry). While a direct write is under way,
// its sender wakes the writer when done.
func (p *peer) wakeWriterUnlock() {
	wake := p.writerIdle && !p.directBusy
	if wake {
		p.writerIdle = false
	}
	p.mu.Unlock()
	if wake {
		signal(p.wake)
	}
}

// writeDirect writes what is queued in one non-blocking write; p.mu is
// held on entry and released on return. It wakes the writer for anything
// left.
func (p *peer) writeDirect() {
	raw, epoch := p.raw, p.s.epoch
	bufs, end := p.s.q.pending(p.directBufs[:0])
	start := p.s.q.cur
	var h uint64
	if len(bufs) == 1 {
		h = p.s.q.hold()
	}
	p.mu.Unlock()
	n, whole := 0, false
	if len(bufs) == 1 {
		n = writeOnce(raw.rc, bufs[0])
		whole = n == len(bufs[0])
	}
	clear(bufs)
	p.directBufs = bufs[:0]
	p.mu.Lock()
	if len(bufs) == 1 {
		p.s.q.release(h)
	}
	if n > 0 && p.s.epoch == epoch && p.out == raw.conn {
		if whole {
			p.s.q.sent(end)
		} else {
			p.s.q.sent(qpos{start.chunk, start.off + n})
		}
	}
	p.directBusy = false
	p.directEnd = time.Now()
	wake := p.writerIdle && (p.waitsDirect || p.ackDue || p.s.q.hasPending())
	if wake {
		p.writerIdle, p.waitsDirect = false, false
	}
	p.mu.Unlock()
	p.ctr.bytesOut.Add(uint64(n))
	if n > 0 {
		p.ctr.directWrites.Add(1)
	}
	if wake {
		signal(p.wake)
	}
}
