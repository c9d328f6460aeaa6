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
