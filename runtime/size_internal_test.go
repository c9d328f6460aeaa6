package runtime

import (
	"testing"
	"unsafe"
)

// Every parked process holds its process struct: at 320 bytes it is in
// Go's 320-byte size class, and idle_native_bytes is about 510 bytes.
// One more field puts it in the 352-byte class (32 bytes more per
// process): move rarely used fields behind a pointer instead.
func TestProcessStructSize(t *testing.T) {
	if got := unsafe.Sizeof(process{}); got > 320 {
		t.Fatalf("process struct is %d bytes, over the 320-byte size class", got)
	}
}

// A process's runner reads kill before every delivery, and every sender to
// it writes the mailbox's lock: on one cache line, each of those reads
// missed while senders were busy (the harness's fan-in went from 15 to
// 20 M messages a second when they were split). A 320-byte process starts
// on a 64-byte boundary (320 is a multiple of 64, and Go places objects of
// a size class at multiples of it from a span's page-aligned start), so
// the field offsets give the lines.
func TestKillOffTheMailboxLockLine(t *testing.T) {
	var p process
	const line = 64
	if unsafe.Sizeof(p)%line != 0 {
		t.Fatalf("process is %d bytes: its objects are no longer line-aligned, so check the layout another way", unsafe.Sizeof(p))
	}
	// The lock is the mailbox's first field (mailbox.TestLockFirst).
	kill, lock := unsafe.Offsetof(p.kill), unsafe.Offsetof(p.mbox)
	if kill/line == lock/line {
		t.Fatalf("kill (offset %d) shares a cache line with the mailbox lock (offset %d)", kill, lock)
	}
}
