//go:build !unix

package transport

import "syscall"

// canWriteDirect: every frame goes through the writer here.
const canWriteDirect = false

func writeOnce(syscall.RawConn, []byte) int { return 0 }
