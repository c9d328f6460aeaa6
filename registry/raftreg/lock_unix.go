//go:build unix

package raftreg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes the lock of a node's directory (DataDir/<Node>/lock) or
// fails at once: a second process on the same directory must not open
// the store (raft-wal's own bbolt lock would make it wait forever, and a
// migration has files of its own). The lock goes with the process.
func lockDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("raftreg: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		f.Close()
		return nil, fmt.Errorf("raftreg: %s is in use by another process (%s is locked)", dir, lockFile)
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("raftreg: lock %s: %w", path, err)
	}
	return f.Close, nil
}
