package raftreg

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
	"go.etcd.io/bbolt"
)

// walCheck is what inspectWAL found in a WAL directory: raft-wal's state
// (wal-meta.db: the stable store and the list of segments) and the
// repairs to make before raft-wal opens the directory.
type walCheck struct {
	dir string
	walMeta
	entries bool // a segment holds an entry
	fixes   []fileFix
	meta    bool     // state was changed: commit it after the fixes
	notes   []string // what the repairs recover, for the log
}

// fileFix writes data at at in the file at path, after extending it to
// size (when size > 0).
type fileFix struct {
	path string
	at   int64
	data []byte
	size int64
}

// inspectWAL checks the WAL directory dir as raft-wal would find it, and
// more: wal-meta.db with checkBolt before bbolt maps it, the segment list
// for consistency, and every segment file through scanSegment. It returns
// an error wrapping ErrStoreDamaged for damage, naming the file. What a
// crash can leave behind is not damage, and comes back as repairs
// (apply): the remains of an interrupted append, and the states raft-wal
// v0.4.0 leaves and then cannot use (see sealed and tail). segSize is the
// size of a segment the repairs create. dir without wal-meta.db and
// without segments is a log never written (raft-wal creates it afresh).
func inspectWAL(dir string, segSize uint32) (*walCheck, error) {
	c := &walCheck{dir: dir}
	files, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	meta := filepath.Join(dir, metadb.FileName)
	st, err := os.Lstat(meta)
	switch {
	case errors.Is(err, fs.ErrNotExist) && len(files) > 0:
		return nil, fmt.Errorf("%w: %s is missing, yet %d segment files are there", ErrStoreDamaged, meta, len(files))
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrStoreDamaged, meta)
	}
	if err := checkBolt(meta); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStoreDamaged, meta, err)
	}
	if c.walMeta, err = readWALMeta(meta); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStoreDamaged, meta, err)
	}
	if err := checkWALState(c.state, files); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrStoreDamaged, meta, err)
	}
	if c.hasWritten && c.written >= c.state.NextSegmentID {
		return nil, fmt.Errorf("%w: %s: segment %d written, beyond the segments listed", ErrStoreDamaged, meta, c.written)
	}
	for i := range c.state.Segments {
		if err := c.segment(i, segSize); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// listSegments returns the segment files in dir: id to base index.
func listSegments(dir string) (map[uint64]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	}
	out := make(map[uint64]uint64)
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".wal") {
			continue
		}
		base, id, ok := parseSegmentName(name)
		if !ok || !e.Type().IsRegular() {
			return nil, fmt.Errorf("%w: %s: not a segment file raft-wal writes", ErrStoreDamaged, filepath.Join(dir, name))
		}
		out[id] = base
	}
	return out, nil
}

// parseSegmentName parses raft-wal's <base index, 20 decimal digits>-<id,
// 16 hex digits>.wal.
func parseSegmentName(name string) (base, id uint64, ok bool) {
	if len(name) != 20+1+16+4 || name[20] != '-' {
		return 0, 0, false
	}
	base, err1 := strconv.ParseUint(name[:20], 10, 64)
	id, err2 := strconv.ParseUint(name[21:37], 16, 64)
	return base, id, err1 == nil && err2 == nil && segment.FileName(types.SegmentInfo{BaseIndex: base, ID: id}) == name
}

// walMeta is what wal-meta.db holds.
type walMeta struct {
	state types.PersistentState
	term  uint64 // raft's current term (CurrentTerm), 0 when none
	// written is the newest segment whose first append was synced
	// (writtenKey); hasWritten false when none is recorded.
	written    uint64
	hasWritten bool
}

// hasState tells whether the WAL holds Raft state as raft sees it (a term
// or an entry), once inspected.
func (c *walCheck) hasState() bool { return c.term != 0 || c.entries }

// readWALMeta reads wal-meta.db (checked by checkBolt), and checks its
// stable store holds what raft reads.
func readWALMeta(path string) (m walMeta, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return m, err
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		meta, stable := tx.Bucket([]byte(metadb.MetaBucket)), tx.Bucket([]byte(metadb.StableBucket))
		if meta == nil || stable == nil {
			return errors.New("not raft-wal's metadata: a bucket is missing")
		}
		for _, k := range []string{"CurrentTerm", "LastVoteTerm", string(writtenKey)} {
			if v := stable.Get([]byte(k)); v != nil && len(v) != 8 {
				return fmt.Errorf("%s holds %d bytes, not a number", k, len(v))
			}
		}
		if v := stable.Get(writtenKey); v != nil {
			m.written, m.hasWritten = le.Uint64(v), true
		}
		if v := stable.Get([]byte("CurrentTerm")); v != nil {
			m.term = le.Uint64(v)
		}
		raw := meta.Get([]byte(metadb.MetaKey))
		if raw == nil {
			return nil // no segment yet
		}
		if err := json.Unmarshal(raw, &m.state); err != nil {
			return fmt.Errorf("the segment list does not decode: %w", err)
		}
		return nil
	})
	return m, err
}

// checkWALState checks the segment list as raft-wal keeps it: in base
// index order, each sealed one followed by the next index, only the last
// open, the codec raft-wal writes; and that no segment file in the
// directory is newer than every segment listed (raft-wal deletes files
// it does not list, as leftovers of a truncation).
func checkWALState(st types.PersistentState, files map[uint64]uint64) error {
	seen := make(map[uint64]bool)
	for i, s := range st.Segments {
		last := i == len(st.Segments)-1
		switch {
		case s.Codec != wal.CodecBinaryV1:
			return fmt.Errorf("segment %d: codec %d, not raft-wal's", s.ID, s.Codec)
		case s.ID >= st.NextSegmentID || seen[s.ID]:
			return fmt.Errorf("segment %d: a duplicate id, or not below the next id %d", s.ID, st.NextSegmentID)
		case s.MinIndex < s.BaseIndex || s.BaseIndex == 0 || s.SizeLimit == 0:
			return fmt.Errorf("segment %d: base index %d, first index %d, size %d", s.ID, s.BaseIndex, s.MinIndex, s.SizeLimit)
		case s.SealTime.IsZero() != last:
			return fmt.Errorf("segment %d: only the last segment is open, and it is", s.ID)
		case i > 0 && s.BaseIndex != st.Segments[i-1].MaxIndex+1:
			return fmt.Errorf("segment %d starts at index %d, the one before ends at %d", s.ID, s.BaseIndex, st.Segments[i-1].MaxIndex)
		}
		seen[s.ID] = true
	}
	for id := range files {
		if id >= st.NextSegmentID {
			return fmt.Errorf("segment file %d is not listed, and newer than every segment listed", id)
		}
	}
	return nil
}

// segment checks segment i's file.
func (c *walCheck) segment(i int, segSize uint32) error {
	s := c.state.Segments[i]
	path := filepath.Join(c.dir, segment.FileName(s))
	tail := s.SealTime.IsZero()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && tail && !c.wasWritten(s):
		// raft-wal records a new segment before it creates the file, and
		// creates it at open when a crash came between.
		c.notes = append(c.notes, path+" (the open segment, never written) is missing: raft-wal creates it")
		return nil
	case errors.Is(err, fs.ErrNotExist) && tail:
		return fmt.Errorf("%w: %s is missing: entries from index %d on were written to it", ErrStoreDamaged, path, s.BaseIndex)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s is missing: it holds log entries %d to %d", ErrStoreDamaged, path, s.MinIndex, s.MaxIndex)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	}
	sc, err := scanSegment(data, s)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStoreDamaged, path, err)
	}
	c.entries = c.entries || len(sc.offsets) > 0
	if tail {
		err = c.tail(i, path, data, sc, segSize)
	} else {
		err = c.sealed(i, path, data, sc)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrStoreDamaged, path, err)
	}
	return nil
}

// sealed checks a sealed segment: its complete batches end with the seal
// the metadata points at, and hold every entry it lists.
//
// raft-wal v0.4.0 seals the open segment that a tail truncation (raft
// dropping entries a new leader does not have) cuts short without
// writing its index (raft-wal issue 31, fixed after v0.4.0): the segment
// reads back until the WAL is closed, and after a restart every read of
// it fails, raft's own at start included. Such a segment (sealed, index
// start 0) gets its index frame and commit frame here, after its complete
// batches, and the metadata its index start.
func (c *walCheck) sealed(i int, path string, data []byte, sc segScan) error {
	s := c.state.Segments[i]
	if last := sc.last(s); s.MinIndex <= s.MaxIndex && last < s.MaxIndex {
		return fmt.Errorf("damaged or cut short at offset %d: the entries before it end at index %d, the "+
			"metadata lists entries up to %d", sc.end, last, s.MaxIndex)
	}
	switch {
	case s.IndexStart != 0 && sc.indexStart != s.IndexStart:
		return fmt.Errorf("its complete batches end at offset %d without the index the metadata points at "+
			"(offset %d): truncated or damaged", sc.end, s.IndexStart)
	case s.IndexStart != 0:
		return nil
	case sc.indexStart != 0: // indexed by an earlier start that stopped before the metadata
		c.state.Segments[i].IndexStart, c.meta = sc.indexStart, true
		return nil
	}
	torn, err := unfinished(data, sc.end, 0)
	if err != nil {
		return err
	}
	seal := indexFrames(sc.offsets)
	if torn > sc.end+len(seal) {
		seal = append(seal, make([]byte, torn-sc.end-len(seal))...)
	}
	c.fixes = append(c.fixes, fileFix{path: path, at: int64(sc.end), data: seal})
	c.state.Segments[i].IndexStart, c.meta = uint64(sc.end+frameHeaderLen), true
	c.notes = append(c.notes, fmt.Sprintf("%s: a truncated segment without its index (raft-wal v0.4.0): "+
		"index written at offset %d", path, sc.end))
	return nil
}

// tail checks the open segment (the last): preallocated to its size, its
// complete batches followed by nothing but the remains of an interrupted
// append, which the repair zeroes (raft-wal would skip them too, and then
// write over them; zeroing keeps a later check from mistaking what the
// new appends leave of them for damage).
//
// An open segment whose last complete batch sealed it is the crash (or
// stop) between that append and raft-wal recording the seal and starting
// the next segment, which it does on a goroutine of its own. raft-wal
// v0.4.0 reopens such a segment as the open one and then fails every
// append with "segment is sealed". The repair finishes the rotation in
// the metadata; raft-wal creates the new segment's file at open.
func (c *walCheck) tail(i int, path string, data []byte, sc segScan, segSize uint32) error {
	s := c.state.Segments[i]
	switch {
	case len(data) == 0 && c.wasWritten(s):
		return fmt.Errorf("empty (0 bytes), yet entries from index %d on were written to it and synced (%s "+
			"records it)", s.BaseIndex, metadb.FileName)
	case len(data) == 0: // created, and the crash came before preallocating it
		c.fixes = append(c.fixes, fileFix{path: path, size: int64(s.SizeLimit)})
		return nil
	case len(data) < int(s.SizeLimit):
		return fmt.Errorf("truncated: %d bytes, where segments are preallocated to %d", len(data), s.SizeLimit)
	case sc.indexStart != 0:
		last, now := sc.last(s), time.Now()
		c.state.Segments[i].SealTime, c.state.Segments[i].MaxIndex = now, last
		c.state.Segments[i].IndexStart = sc.indexStart
		c.state.Segments = append(c.state.Segments, types.SegmentInfo{ID: c.state.NextSegmentID,
			BaseIndex: last + 1, MinIndex: last + 1, Codec: wal.CodecBinaryV1, SizeLimit: segSize, CreateTime: now})
		c.state.NextSegmentID++
		c.meta = true
		c.notes = append(c.notes, fmt.Sprintf("%s: sealed by its last append, the next segment not started: "+
			"rotation finished", path))
		return nil
	}
	torn, err := unfinished(data, sc.end, s.SizeLimit)
	switch {
	case err != nil:
		return err
	case sc.end == 0 && c.wasWritten(s):
		return fmt.Errorf("holds no complete batch, yet entries from index %d on were written to it and synced "+
			"(%s records it): zeroed, replaced or damaged", s.BaseIndex, metadb.FileName)
	case torn > 0:
		c.fixes = append(c.fixes, fileFix{path: path, at: int64(sc.end), data: make([]byte, torn-sc.end)})
		c.notes = append(c.notes, fmt.Sprintf("%s: an interrupted append (%d bytes after offset %d) dropped; "+
			"the log ends at index %d", path, torn-sc.end, sc.end, sc.last(s)))
	}
	return nil
}

// wasWritten tells whether a first append to s was synced (writtenKey).
func (c *walCheck) wasWritten(s types.SegmentInfo) bool {
	return c.hasWritten && c.written == s.ID
}

// indexFrames is an index frame listing offsets and the commit frame
// that closes it, as raft-wal seals a segment.
func indexFrames(offsets []uint32) []byte {
	n := uint32(4 * len(offsets))
	b := make([]byte, frameHeaderLen+int(n)+padding(n)+frameHeaderLen)
	b[0] = segment.FrameIndex
	le.PutUint32(b[4:], n)
	for i, o := range offsets {
		le.PutUint32(b[frameHeaderLen+4*i:], o)
	}
	commit := b[len(b)-frameHeaderLen:]
	commit[0] = segment.FrameCommit
	le.PutUint32(commit[4:], crc32.Checksum(b[:len(b)-frameHeaderLen], castagnoli))
	return b
}

// apply makes the repairs: the files first, each synced, then the
// metadata in one bbolt commit. Each repair is found again by the next
// inspection if a crash interrupts it, and finishes then.
func (c *walCheck) apply(logger hclog.Logger) error {
	for _, f := range c.fixes {
		if err := f.apply(); err != nil {
			return fmt.Errorf("raftreg: repairing %s: %w", f.path, err)
		}
	}
	if c.meta {
		db := &metadb.BoltMetaDB{}
		_, err := db.Load(c.dir)
		if err == nil {
			err = db.CommitState(c.state)
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("raftreg: repairing %s: %w", filepath.Join(c.dir, metadb.FileName), err)
		}
	}
	for _, n := range c.notes {
		logger.Warn("raft log recovered", "what", n)
	}
	return nil
}

func (f fileFix) apply() error {
	file, err := os.OpenFile(f.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if f.size > 0 {
		err = file.Truncate(f.size)
	}
	if err == nil && len(f.data) > 0 {
		_, err = file.WriteAt(f.data, f.at)
	}
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}
