//go:build !unix && !windows

package raftreg

// lockDir takes no lock where the system has no file locks wippyd uses:
// only one process may use a node's directory, and nothing checks it.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
