package transport

import (
	"bytes"
	"errors"
	"testing"
)

// drain returns the frames pending from the cursor, and moves it past them.
func drain(t *testing.T, q *sendQueue) []uint64 {
	t.Helper()
	bufs, end := q.pending(nil)
	var seqs []uint64
	fr := &frameReader{r: bytes.NewReader(bytes.Join(bufs, nil)), max: 1 << 20}
	for {
		_, body, err := fr.read()
		if err != nil {
			break
		}
		seq, _, _, err := decodeData(body)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	q.sent(end)
	return seqs
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func pushN(q *sendQueue, n int, payload int) {
	body := make([]byte, payload)
	for range n {
		q.push(StreamCluster, body, q.frameSize(StreamCluster, payload))
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestQueueSendAckReplay(t *testing.T) {
	var q sendQueue
	// 1000-byte frames: about 32 per chunk, so 100 frames span 4 chunks.
	pushN(&q, 100, 1000)
	if q.next != 100 || len(q.chunks) < 3 {
		t.Fatalf("next %d, %d chunks", q.next, len(q.chunks))
	}
	if got := drain(t, &q); !equalSeqs(got, seqRange(0, 100)) {
		t.Fatalf("first send: %v", got)
	}
	if got := drain(t, &q); len(got) != 0 {
		t.Fatalf("sent twice: %v", got)
	}
	pushN(&q, 10, 1000)
	if got := drain(t, &q); !equalSeqs(got, seqRange(100, 110)) {
		t.Fatalf("appended frames: %v", got)
	}
	before := q.bytes
	if err := q.ack(50); err != nil {
		t.Fatal(err)
	}
	if q.bytes >= before || q.acked != 50 {
		t.Fatalf("ack released nothing: %d -> %d bytes", before, q.bytes)
	}
	// Reconnect: replay starts exactly at the first unacked frame, inside
	// a chunk.
	q.rewind()
	if got := drain(t, &q); !equalSeqs(got, seqRange(50, 110)) {
		t.Fatalf("replay: %v", got)
	}
	// An ack arriving during a replay may cover frames not yet rewritten,
	// even the chunk the cursor is in: the cursor skips ahead.
	q.rewind()
	bufs, end := q.pending(nil)
	if len(bufs) == 0 {
		t.Fatal("nothing to replay")
	}
	if err := q.ack(109); err != nil {
		t.Fatal(err)
	}
	q.sent(end)
	pushN(&q, 1, 1000)
	if got := drain(t, &q); !equalSeqs(got, []uint64{110}) {
		t.Fatalf("after ack during replay: %v", got)
	}
	if err := q.ack(111); err != nil || q.bytes != 0 || len(q.chunks) != 0 {
		t.Fatalf("all acked: %v, %d bytes in %d chunks", err, q.bytes, len(q.chunks))
	}
	if err := q.ack(112); !errors.Is(err, ErrProtocol) {
		t.Fatalf("ack beyond last frame: %v", err)
	}
	if err := q.ack(3); err != nil || q.acked != 111 {
		t.Fatalf("stale ack moved acked to %d: %v", q.acked, err)
	}
}

func TestQueueReset(t *testing.T) {
	var q sendQueue
	pushN(&q, 40, 100)
	drain(t, &q)
	q.ack(10)
	if n := q.reset(); n != 30 {
		t.Fatalf("reset dropped %d, want 30", n)
	}
	if q.next != 0 || q.acked != 0 || q.bytes != 0 {
		t.Fatalf("after reset: %+v", q)
	}
	pushN(&q, 2, 100)
	if got := drain(t, &q); !equalSeqs(got, []uint64{0, 1}) {
		t.Fatalf("after reset: %v", got)
	}
}

func TestQueueBatchesAndBigFrames(t *testing.T) {
	var q sendQueue
	pushN(&q, 3, 100)
	pushN(&q, 1, 3*maxWriteBatch) // its own chunk, larger than a batch
	pushN(&q, 2000, 1000)
	total := 0
	for range 10 {
		bufs, end := q.pending(nil)
		n := 0
		for _, b := range bufs {
			n += len(b)
		}
		if n == 0 {
			break
		}
		if n > 4*maxWriteBatch {
			t.Fatalf("batch of %d bytes", n)
		}
		total += n
		q.sent(end)
	}
	if int64(total) != q.bytes {
		t.Fatalf("wrote %d bytes of %d", total, q.bytes)
	}
}

// Acknowledged chunks are filled again, unless a write that has not
// returned may still be reading them.
func TestQueueReusesChunks(t *testing.T) {
	var q sendQueue
	// 1000-byte frames: about 32 per chunk, so 100 frames span 4 chunks.
	pushN(&q, 100, 1000)
	h := q.hold()
	if got := drain(t, &q); !equalSeqs(got, seqRange(0, 100)) {
		t.Fatalf("sent %v", got)
	}
	// The write has not returned: nothing acked may be reused.
	if err := q.ack(64); err != nil {
		t.Fatal(err)
	}
	if len(q.spare) != 0 {
		t.Fatalf("%d chunks kept while a write may read them", len(q.spare))
	}
	q.release(h)
	if err := q.ack(100); err != nil {
		t.Fatal(err)
	}
	if len(q.spare) == 0 {
		t.Fatal("no chunk kept for reuse")
	}
	if len(q.spare) > maxSpareChunks {
		t.Fatalf("%d chunks kept, at most %d", len(q.spare), maxSpareChunks)
	}
	kept := q.spare[len(q.spare)-1]
	pushN(&q, 10, 1000)
	if q.chunks[0] != kept {
		t.Fatal("a new chunk was made while one was kept")
	}
	if got := drain(t, &q); !equalSeqs(got, seqRange(100, 110)) {
		t.Fatalf("after reuse sent %v", got)
	}
	// A hold taken before a reset keeps blocking reuse after it.
	h = q.hold()
	q.reset()
	q.spare = nil
	pushN(&q, 40, 1000)
	drain(t, &q)
	if err := q.ack(40); err != nil {
		t.Fatal(err)
	}
	if len(q.spare) != 0 {
		t.Fatal("chunk reused while a write from before the reset may read it")
	}
	q.release(h)
}

// A burst of more chunks than a queue keeps: the rest go to chunkPool
// once acknowledged, and never while a write may still read them.
func TestQueuePoolsChunksPastTheSpare(t *testing.T) {
	var q sendQueue
	const frames = 32 * 3 * maxSpareChunks // 1000-byte frames, 3x the spare chunks
	pushN(&q, frames, 1000)
	mine := map[*qchunk]bool{}
	for _, c := range q.chunks {
		mine[c] = true
	}
	poolHolds := func() int {
		n := 0
		for range 4 * len(mine) {
			c, _ := chunkPool.Get().(*qchunk)
			if c == nil {
				break
			}
			if mine[c] {
				n++
			}
		}
		return n
	}
	h := q.hold()
	drain(t, &q)
	if err := q.ack(frames); err != nil {
		t.Fatal(err)
	}
	if n := poolHolds(); n != 0 || len(q.spare) != 0 {
		t.Fatalf("%d chunks pooled and %d kept while a write may read them", n, len(q.spare))
	}
	q.release(h)
	pushN(&q, frames, 1000)
	for _, c := range q.chunks {
		mine[c] = true
	}
	drain(t, &q)
	if err := q.ack(2 * frames); err != nil {
		t.Fatal(err)
	}
	if len(q.spare) != maxSpareChunks {
		t.Fatalf("%d chunks kept, want %d", len(q.spare), maxSpareChunks)
	}
	// The race detector drops some of what a sync.Pool is given, never
	// all of 30-odd chunks.
	if n := poolHolds(); n == 0 {
		t.Fatal("no chunk past the spare ones was pooled")
	}
}
