package raftreg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// A node's Raft state lives in DataDir/<Node>/: raft.db (log and stable
// store), snapshots/, and the member marker. The marker is written, and
// synced, before the first Raft write ever made under the directory, so
// it tells a node that has been part of a cluster from a new one: a node
// with the marker and no Raft state has lost it, and must not rejoin as an
// empty voter (a majority that did so would lose committed names).
const (
	dbFile     = "raft.db"
	markerFile = "raft-member"
)

// CheckStore checks the Raft store cfg names (DataDir/<Node>/raft.db and
// the member marker) as Start does before opening it, so that a caller can
// refuse to start anything else on a damaged or lost store. It returns nil
// for InMemory and for a Client (it has no store), an error wrapping
// ErrStoreDamaged or ErrStateLost otherwise.
func CheckStore(cfg Config) error {
	if cfg.InMemory || cfg.Client {
		return nil
	}
	return checkStore(filepath.Join(cfg.DataDir, cfg.Node))
}

// checkStore checks dir's raft.db before bbolt opens it: bbolt trusts its
// file and panics, faults or silently starts afresh on a damaged one. It
// returns nil for a file that passes bbolt's consistency check, or for
// no file at all in a directory without the marker (a new node).
func checkStore(dir string) error {
	path := filepath.Join(dir, dbFile)
	member, err := hasMarker(dir)
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && member:
		return stateLost(dir, "raft.db is missing")
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrStoreDamaged, path)
	case st.Size() == 0 && member:
		return stateLost(dir, "raft.db is empty (0 bytes)")
	case st.Size() == 0:
		return fmt.Errorf("%w: %s is empty (0 bytes): delete it if this node never held Raft state", ErrStoreDamaged, path)
	}
	return verifyDB(path)
}

// verifyDB checks raft.db with checkBolt before bbolt maps it.
func verifyDB(path string) error {
	if err := checkBolt(path); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStoreDamaged, path, err)
	}
	return nil
}

// checkMember squares the member marker with the state raft found: state
// without the marker (a directory of a version before the marker) gets
// it; the marker without state is lost state.
func (st *stores) checkMember(hasState bool) error {
	if st.mark == nil {
		return nil
	}
	member, err := hasMarker(st.mark.dir)
	switch {
	case err != nil:
		return err
	case hasState && !member:
		return st.mark.ensure()
	case !hasState && member:
		return stateLost(st.mark.dir, "raft.db holds no Raft state")
	}
	return nil
}

// stateLost is the error of a member whose Raft state is gone.
func stateLost(dir, what string) error {
	return fmt.Errorf("%w: %s in %s, but this node has been part of a cluster (%s): it will not rejoin "+
		"without its state. Restore raft.db from a backup, or delete %s deliberately: the node then joins "+
		"as a new, empty replica and catches up from the others, which is safe while a majority of the "+
		"voters keep their state", ErrStateLost, what, dir, markerFile, dir)
}

func hasMarker(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, markerFile))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("raftreg: member marker: %w", err)
}

// writeMarker writes the member marker durably: a temporary file, synced,
// renamed into place, and the directory synced.
func writeMarker(dir, node string) error {
	text := fmt.Sprintf("wippyd Raft member marker\nnode: %s\nsince: %s\n\n"+
		"This node has written Raft state in this directory. If raft.db is lost or\n"+
		"damaged it refuses to start instead of rejoining its cluster without it.\n"+
		"Deleting the whole directory makes it a new node.\n", node, time.Now().UTC().Format(time.RFC3339))
	tmp := filepath.Join(dir, markerFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("raftreg: member marker: %w", err)
	}
	_, err = f.WriteString(text)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, markerFile))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("raftreg: member marker: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
