//go:build unix

package transport

import (
	"errors"
	"syscall"
)

// canWriteDirect: sockets take direct writes here (see direct.go).
const canWriteDirect = true

// writeOnce writes b to rc in one non-blocking write and returns how many
// bytes it took (0 on any error: the writer meets it on its next write).
func writeOnce(rc syscall.RawConn, b []byte) int {
	n := 0
	err := rc.Write(func(fd uintptr) bool {
		var werr error
		n, werr = syscall.Write(int(fd), b)
		if werr != nil || n < 0 {
			n = 0
		}
		return true // one attempt, never wait for the socket
	})
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		return 0
	}
	return n
}
