package raftreg

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The member marker (markerFile) is written, and synced, before the
// first Raft write ever made under a node's directory, so it tells a node
// that has been part of a cluster from a new one: a node with the marker
// and no Raft state has lost it, and must not rejoin as an empty voter (a
// majority that did so would lose committed names).

// CheckStore checks the Raft store cfg names (DataDir/<Node>/, layout.go)
// as Start does before opening it, so that a caller can refuse to start
// anything else on a damaged or lost store. It changes nothing but the
// lock file (a migration or a repair that Start would make is not an
// error here), and holds the directory's lock while it reads: a directory
// another process uses is an error. It returns nil for InMemory and for a
// Client (it has no store), an error wrapping ErrStoreDamaged or
// ErrStateLost otherwise.
func CheckStore(cfg Config) error {
	if cfg.InMemory || cfg.Client {
		return nil
	}
	dir := filepath.Join(cfg.DataDir, cfg.Node)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil // a new node
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	return checkStore(dir)
}

// checkStore checks dir's store before anything opens it: a raft.db to
// migrate with checkBolt (bbolt trusts its file and panics, faults or
// silently starts afresh on a damaged one), a WAL with inspectWAL. It
// returns nil for a store that passes, or for no store in a directory
// without the marker (a new node).
func checkStore(dir string) error {
	lay, member, err := layoutOf(dir)
	if err != nil {
		return err
	}
	switch lay {
	case layoutWAL, layoutMigrated:
		wdir := filepath.Join(dir, walDir)
		if lay == layoutMigrated {
			wdir = filepath.Join(dir, walTmpDir)
		}
		var chk *walCheck
		if chk, err = inspectWAL(wdir, segmentSize); err == nil && member && !chk.hasState() && !hasSnapshots(dir) {
			err = stateLost(dir, "the Raft store holds no Raft state")
		}
	case layoutBolt:
		err = checkBoltStore(dir, member)
	case layoutNone:
		if member {
			err = stateLost(dir, walDir+"/ is missing")
		}
	}
	return err
}

// hasSnapshots tells whether dir's snapshot store (raft's file snapshot
// store, in snapshots/) holds a snapshot, finished or not.
func hasSnapshots(dir string) bool {
	ents, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
	return len(ents) > 0
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
		return stateLost(st.mark.dir, "the Raft store holds no Raft state")
	}
	return nil
}

// stateLost is the error of a member whose Raft state is gone.
func stateLost(dir, what string) error {
	return fmt.Errorf("%w: %s in %s, but this node has been part of a cluster (%s): it will not rejoin "+
		"without its state. Restore the directory from a backup, or delete %s deliberately: the node then joins "+
		"as a new, empty replica and catches up from the others, which is safe while a majority of the "+
		"voters keep their state", ErrStateLost, what, dir, markerFile, dir)
}

func hasMarker(dir string) (bool, error) {
	return present(os.Stat, filepath.Join(dir, markerFile), "member marker")
}

// present reports whether path exists as stat (os.Stat or os.Lstat) sees
// it; an error other than its absence is returned, naming what.
func present(stat func(string) (fs.FileInfo, error), path, what string) (bool, error) {
	_, err := stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("raftreg: %s: %w", what, err)
}

// writeMarker writes the member marker durably: a temporary file, synced,
// renamed into place, and the directory synced.
func writeMarker(dir, node string) error {
	text := fmt.Sprintf("wippyd Raft member marker\nnode: %s\nsince: %s\n\n"+
		"This node has written Raft state in this directory. If its Raft store is lost or\n"+
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
