package fsm

import (
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// A batch is several commands in one log entry, so that one disk write and
// one replication round carry many changes. Its wire form is the OpBatch
// byte, the number of commands as a msgpack unsigned integer, then each
// command, in its EncodeCommand form, as a msgpack bin; every header in its
// shortest form. Replicas apply a batch with ApplyBatch, all its commands
// at the entry's index.

// MaxBatchSize bounds an encoded batch. Like the registry's size limits it
// is part of the state machine's input contract: it may only grow, once
// every node accepts the larger value.
const MaxBatchSize = 1 << 20

// minBatchItem is the fewest bytes one command takes in a batch: a bin
// header (2 bytes) around the shortest command, a ReleaseNode of a
// one-byte node (op, fixstr header, byte).
const minBatchItem = 2 + 3

// EncodeBatch returns the batch of cmds, each the output of EncodeCommand
// (DecodeBatch refuses the whole batch if one is not). It checks the
// framing only: at least one command, each 1 to MaxCommandSize bytes, the
// whole at most MaxBatchSize; anything else wraps ErrBadCommand.
func EncodeBatch(cmds [][]byte) ([]byte, error) {
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrBadCommand)
	}
	size := 1 + 9
	for _, c := range cmds {
		if len(c) == 0 || len(c) > MaxCommandSize {
			return nil, fmt.Errorf("%w: batch item of %d bytes", ErrBadCommand, len(c))
		}
		size += 3 + len(c)
	}
	w := newWriter(size)
	w.raw(byte(OpBatch))
	w.uint(uint64(len(cmds)))
	for _, c := range cmds {
		w.bin(c)
	}
	b, err := w.bytes()
	if err == nil && len(b) > MaxBatchSize {
		return nil, fmt.Errorf("%w: batch of %d bytes, limit %d", ErrBadCommand, len(b), MaxBatchSize)
	}
	return b, err
}

// IsBatch reports whether b, a log entry's data, is a batch rather than a
// single command.
func IsBatch(b []byte) bool { return len(b) > 0 && Op(b[0]) == OpBatch }

// DecodeBatch parses a batch written by EncodeBatch. Like DecodeCommand it
// is safe on hostile input (size checked before reading, counts and
// lengths checked against the bytes left before allocating) and accepts
// only the exact bytes EncodeBatch writes. Any failure, including one
// command that does not decode, refuses the whole batch with an error
// wrapping ErrBadCommand.
func DecodeBatch(b []byte) ([]Command, error) {
	switch {
	case len(b) > MaxBatchSize:
		return nil, fmt.Errorf("%w: batch of %d bytes, limit %d", ErrBadCommand, len(b), MaxBatchSize)
	case !IsBatch(b):
		return nil, fmt.Errorf("%w: not a batch", ErrBadCommand)
	}
	r := newReader(b[1:])
	n := r.uint()
	switch {
	case r.err != nil:
	case n == 0:
		r.fail("empty batch")
	case n > uint64(r.remaining()/minBatchItem):
		r.fail("%d commands in %d bytes", n, r.remaining())
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrBadCommand, r.err)
	}
	cmds := make([]Command, 0, n)
	for i := range n {
		item := r.binBytes(MaxCommandSize)
		if r.err != nil {
			return nil, fmt.Errorf("%w: batch item %d: %w", ErrBadCommand, i, r.err)
		}
		c, err := DecodeCommand(item)
		if err != nil {
			return nil, fmt.Errorf("batch item %d: %w", i, err)
		}
		cmds = append(cmds, c)
	}
	if err := r.end(); err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrBadCommand, err)
	}
	return cmds, nil
}

func (w *writer) bin(b []byte) {
	if w.err == nil {
		w.err = w.enc.EncodeBytes(b)
	}
}

// binBytes reads a bin of 1 to limit bytes and returns its bytes within
// the input.
func (r *reader) binBytes(limit int) []byte {
	b := r.rawBytes("bin", msgpcode.IsBin, shortestBinCode, limit)
	if r.err == nil && len(b) == 0 {
		r.fail("empty bin")
	}
	return b
}

// shortestBinCode is the header code msgpack.Encoder writes for a bin of n
// bytes.
func shortestBinCode(n int) byte {
	switch {
	case n <= math.MaxUint8:
		return msgpcode.Bin8
	case n <= math.MaxUint16:
		return msgpcode.Bin16
	}
	return msgpcode.Bin32
}
