//go:build windows

package raftreg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// lockDir takes the lock of a node's directory (DataDir/<Node>/lock) or
// fails at once: see lock_unix.go.
func lockDir(dir string) (unlock func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("raftreg: lock: %w", err)
	}
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY,
		0, 1, 0, &windows.Overlapped{})
	switch {
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		f.Close()
		return nil, fmt.Errorf("raftreg: %s is in use by another process (%s is locked)", dir, lockFile)
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("raftreg: lock %s: %w", path, err)
	}
	return f.Close, nil
}
