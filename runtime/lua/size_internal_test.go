package lua

import (
	"testing"
	"unsafe"
)

// A process and a received message are allocated once each per process
// and per message: past these sizes they take the next size class (a
// process's 568 bytes and the 8-byte header of an object over 512 bytes
// fill the 576-byte class; a message fills the 160-byte one).
func TestStructSizes(t *testing.T) {
	if got := unsafe.Sizeof(process{}); got > 568 {
		t.Errorf("process struct is %d bytes, over 568 (576-byte size class with its malloc header)", got)
	}
	if got := unsafe.Sizeof(message{}); got > 160 {
		t.Errorf("message struct is %d bytes, over the 160-byte size class", got)
	}
}
