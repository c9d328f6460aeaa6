package transport

import "time"

// backoff is the wait between connection attempts to one peer: min after
// the first failure, doubling up to max. No jitter: every node has one
// connection per peer, so there is no herd to spread.
type backoff struct {
	min, max, cur time.Duration
}

// next returns the wait before the next attempt.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	return b.cur
}

// reset starts over after a successful handshake.
func (b *backoff) reset() { b.cur = 0 }
