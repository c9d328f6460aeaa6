package transport

import (
	"encoding/binary"
	"fmt"
	"sync"
)

const (
	// queueChunk is the size of the buffers frames are encoded into.
	queueChunk = 32 << 10
	// maxWriteBatch caps the bytes handed to one write, so one peer's
	// backlog does not hold a connection's write deadline hostage.
	maxWriteBatch = 1 << 20
	// maxSpareChunks is how many acknowledged chunks (512 KiB) a queue
	// keeps for reuse. An ack releases a chunk or two (acks come every
	// 64 KiB at most), but a sender that waits for its receiver's own
	// acknowledgements pushes in bursts: 16 cover a burst of 4,000 small
	// frames. Without them, a stream of small frames allocated its
	// queue's whole volume again, about a third of what a remote message
	// cost in allocation. Chunks past them go to chunkPool.
	maxSpareChunks = 16
)

// chunkPool holds acknowledged chunks of queueChunk bytes beyond what
// their queues keep, for any queue to fill again: a burst larger than the
// spare chunks cover (a Lua sender's window of 65,536 messages is several
// megabytes) reuses them instead of allocating its volume again, and the
// garbage collector empties the pool once the bursts stop.
var chunkPool sync.Pool // *qchunk

// sendQueue holds the frames sent to one peer that it has not acknowledged:
// the sent-but-unacked ones, then the unsent ones. Frames are encoded once,
// at push, into chunks of contiguous bytes, so the writer hands whole runs
// of frames to one write and a replay is a rewind of the send cursor.
//
// It is a plain structure: the owner serialises access. Chunks are never
// written below their length once handed out by pending, so a writer may
// keep writing a returned slice after releasing the owner's lock while
// push appends behind it.
type sendQueue struct {
	chunks []*qchunk
	head   uint64 // absolute index of chunks[0]
	next   uint64 // sequence number of the next frame pushed
	acked  uint64 // every frame below is acknowledged
	bytes  int64  // bytes of frames held (acked frames in a partly acked chunk included)

	cur qpos // where the next write starts

	// spare are acknowledged chunks of queueChunk bytes that no write is
	// reading: push fills them again. holds are the first chunks of the
	// writes in progress (hold, release): a chunk at or after one may be
	// read by a write that has not returned (one to a connection that
	// was replaced meanwhile included), so it is not reused.
	spare []*qchunk
	holds []uint64
}

type qchunk struct {
	buf   []byte
	first uint64 // sequence number of the first frame in buf
	end   uint64 // sequence number after the last frame in buf
}

// qpos is a position in the queue: an absolute chunk index and an offset.
type qpos struct {
	chunk uint64
	off   int
}

func (p qpos) before(o qpos) bool {
	return p.chunk < o.chunk || p.chunk == o.chunk && p.off < o.off
}

// frameSize is the encoded size of the next frame with a payload of n bytes.
func (q *sendQueue) frameSize(stream StreamType, n int) int {
	return headerSize + dataBodySize(q.next, stream, n)
}

// push encodes a data frame of size (from frameSize) at the tail.
func (q *sendQueue) push(stream StreamType, payload []byte, size int) {
	var c *qchunk
	if n := len(q.chunks); n > 0 && cap(q.chunks[n-1].buf)-len(q.chunks[n-1].buf) >= size {
		c = q.chunks[n-1]
	} else {
		if c = q.reuse(size); c != nil {
			c.buf, c.first, c.end = c.buf[:0], q.next, q.next
		} else {
			c = &qchunk{buf: make([]byte, 0, max(queueChunk, size)), first: q.next, end: q.next}
		}
		q.chunks = append(q.chunks, c)
	}
	c.buf = appendData(c.buf, q.next, stream, payload)
	c.end++
	q.next++
	q.bytes += int64(size)
}

// reuse returns an acknowledged chunk to hold a frame of size bytes, a
// spare one first, else one from chunkPool; nil when there is none.
func (q *sendQueue) reuse(size int) *qchunk {
	if size > queueChunk {
		return nil
	}
	if n := len(q.spare); n > 0 {
		c := q.spare[n-1]
		q.spare[n-1] = nil
		q.spare = q.spare[:n-1]
		return c
	}
	c, _ := chunkPool.Get().(*qchunk)
	return c
}

// pending appends to dst the unsent bytes from the cursor, whole frames,
// about maxWriteBatch at most, and returns the position after them.
func (q *sendQueue) pending(dst [][]byte) ([][]byte, qpos) {
	if q.cur.chunk < q.head {
		q.cur = qpos{q.head, 0}
	}
	end, total := q.cur, 0
	for i := q.cur.chunk - q.head; i < uint64(len(q.chunks)) && total < maxWriteBatch; i++ {
		c := q.chunks[i]
		if end.off < len(c.buf) {
			dst = append(dst, c.buf[end.off:len(c.buf):len(c.buf)])
			total += len(c.buf) - end.off
		}
		end = qpos{q.head + i, len(c.buf)}
		if i+1 < uint64(len(q.chunks)) {
			end = qpos{q.head + i + 1, 0}
		}
	}
	return dst, end
}

// hold records that a write of what pending just returned is about to
// start; it returns what to pass to release when that write has returned,
// whatever became of the session meanwhile.
func (q *sendQueue) hold() uint64 {
	q.holds = append(q.holds, q.cur.chunk)
	return q.cur.chunk
}

// release ends a hold.
func (q *sendQueue) release(h uint64) {
	for i, x := range q.holds {
		if x == h {
			q.holds = append(q.holds[:i], q.holds[i+1:]...)
			return
		}
	}
}

// reusable reports whether the chunk at absolute index i may be filled
// again once acknowledged: no write in progress may be reading it.
func (q *sendQueue) reusable(i uint64) bool {
	for _, h := range q.holds {
		if h <= i {
			return false
		}
	}
	return true
}

// hasPending reports whether bytes wait to be written.
func (q *sendQueue) hasPending() bool {
	cur := q.cur
	if cur.chunk < q.head {
		cur = qpos{q.head, 0}
	}
	for i := cur.chunk - q.head; i < uint64(len(q.chunks)); i++ {
		if len(q.chunks[i].buf) > cur.off {
			return true
		}
		cur.off = 0
	}
	return false
}

// sent moves the cursor to p after a successful write of what pending
// returned.
func (q *sendQueue) sent(p qpos) {
	if q.cur.before(p) {
		q.cur = p
	}
}

// ack records that the peer has every frame below next and releases the
// chunks that holds entirely.
func (q *sendQueue) ack(next uint64) error {
	if next > q.next {
		return fmt.Errorf("%w: ack %d beyond last frame %d", ErrProtocol, next, q.next)
	}
	if next <= q.acked {
		return nil
	}
	q.acked = next
	for len(q.chunks) > 0 && q.chunks[0].end <= next {
		c := q.chunks[0]
		q.bytes -= int64(len(c.buf))
		if cap(c.buf) == queueChunk && q.reusable(q.head) {
			if len(q.spare) < maxSpareChunks {
				q.spare = append(q.spare, c)
			} else {
				chunkPool.Put(c)
			}
		}
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.head++
	}
	return nil
}

// rewind moves the cursor back to the first unacknowledged frame, for a
// replay on a new connection.
func (q *sendQueue) rewind() {
	q.cur = qpos{q.head, 0}
	if len(q.chunks) == 0 {
		return
	}
	c := q.chunks[0]
	for s := c.first; s < q.acked; s++ {
		q.cur.off += headerSize + int(binary.BigEndian.Uint32(c.buf[q.cur.off:]))
	}
}

// reset drops every frame and restarts numbering at 0; it returns how many
// frames were never acknowledged.
func (q *sendQueue) reset() uint64 {
	dropped := q.next - q.acked
	clear(q.chunks)
	q.head += uint64(len(q.chunks))
	q.chunks = q.chunks[:0]
	q.next, q.acked, q.bytes = 0, 0, 0
	q.cur = qpos{q.head, 0}
	return dropped
}
