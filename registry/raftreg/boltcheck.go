package raftreg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkBolt reads the bbolt file at path page by page, with plain reads
// (no memory map), and checks what bbolt takes on trust: both meta pages,
// that the file holds every page its header counts, and, from the root
// bucket down, that every page is in the file, is the page it claims to
// be, is referenced once, and holds elements within its bounds in key
// order: the invariants of bbolt's own consistency check. bbolt cannot
// run that check safely on a damaged file (it panics in a goroutine of
// its own, or faults reading past the file's end); after this one passes,
// opening the file does not find anything it would panic on.
//
// The file format is bbolt's (version 2, little-endian as bbolt writes it
// on the platforms wippyd runs on).
func checkBolt(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return checkBoltFile(f, st.Size())
}

// checkBoltFile is checkBolt on the size bytes of f.
func checkBoltFile(f io.ReaderAt, size int64) error {
	r := &boltReader{f: f, size: size, seen: make(map[uint64]bool)}
	m, err := r.meta()
	if err != nil {
		return err
	}
	r.pageSize, r.hwm = int64(m.pageSize), m.pgid
	if need := int64(m.pgid) * r.pageSize; need > r.size {
		return fmt.Errorf("truncated: %d bytes, its header says %d", r.size, need)
	}
	if m.freelist != noFreelist {
		if err := r.freelist(m.freelist); err != nil {
			return err
		}
	}
	if m.root == 0 {
		return errors.New("the root bucket has no page")
	}
	_, err = r.tree(m.root, nil, nil, 0)
	return err
}

// bbolt's file format.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeader     = 16 // id u64, flags u16, count u16, overflow u32
	elementSize    = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	branchPage     = 0x01
	leafPage       = 0x02
	freelistPage   = 0x10
	bucketLeafFlag = 0x01
	bucketHeader   = 16 // root pgid u64, sequence u64
	metaSize       = 64 // magic, version, pageSize, flags u32, root, sequence, freelist, pgid, txid, checksum u64
	noFreelist     = ^uint64(0)
	// maxSpan bounds one page with its overflow pages: the bbolt files
	// checked (wal-meta.db, and a raft.db to migrate) hold values of at
	// most a few MiB.
	maxSpan = 256 << 20
	// maxTreeDepth bounds bucket and branch nesting; a real tree is a few
	// levels deep.
	maxTreeDepth = 64
)

var le = binary.LittleEndian

type boltMeta struct {
	pageSize                        uint32
	root, freelist, pgid, txid, sum uint64
	ok                              bool
}

type boltReader struct {
	f        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64 // pages in use: every referenced page is below it
	seen     map[uint64]bool
}

// meta reads both meta pages and returns the one bbolt would use: the
// valid one with the higher transaction id.
func (r *boltReader) meta() (boltMeta, error) {
	m0 := r.metaAt(0)
	size := int64(m0.pageSize)
	var m1 boltMeta
	if m0.ok {
		m1 = r.metaAt(size)
	} else {
		for _, size = range []int64{4096, 8192, 16384, 32768, 65536, 1024, 2048} {
			if m1 = r.metaAt(size); m1.ok && int64(m1.pageSize) == size {
				break
			}
		}
	}
	switch {
	case m0.ok && (!m1.ok || m0.txid >= m1.txid):
		return m0, nil
	case m1.ok:
		return m1, nil
	case r.size < 2*pageHeader:
		return boltMeta{}, fmt.Errorf("not a bolt database: %d bytes", r.size)
	}
	return boltMeta{}, errors.New("both meta pages are invalid (not a bolt database, or damaged)")
}

// metaAt reads the meta page at offset off.
func (r *boltReader) metaAt(off int64) boltMeta {
	var b [pageHeader + metaSize]byte
	if _, err := r.f.ReadAt(b[:], off); err != nil {
		return boltMeta{}
	}
	m := b[pageHeader:]
	h := fnv.New64a()
	h.Write(m[:metaSize-8])
	meta := boltMeta{
		pageSize: le.Uint32(m[8:]), root: le.Uint64(m[16:]), freelist: le.Uint64(m[32:]),
		pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:]), sum: le.Uint64(m[56:]),
	}
	ps := meta.pageSize
	meta.ok = le.Uint32(m[0:]) == boltMagic && le.Uint32(m[4:]) == boltVersion && meta.sum == h.Sum64() &&
		ps >= 512 && ps <= 1<<20 && ps&(ps-1) == 0 && meta.pgid >= 2
	return meta
}

// span is one page with its overflow pages, read as far as needed: its
// first page at once, the rest only when an element or key lies there
// (values are checked against its length, not read).
type span struct {
	f   io.ReaderAt
	off int64  // where the page starts in the file
	n   uint64 // length with the overflow pages
	b   []byte // the bytes read so far, from the start
}

// upto returns the span's bytes up to end, reading the rest of the span
// if needed; past the span is an error.
func (s *span) upto(end uint64) ([]byte, error) {
	if end > s.n {
		return nil, errors.New("past the page's end")
	}
	if end > uint64(len(s.b)) {
		b := make([]byte, s.n)
		if _, err := s.f.ReadAt(b, s.off); err != nil {
			return nil, err
		}
		s.b = b
	}
	return s.b, nil
}

// page reads page id (its first page; see span), once: a page referenced
// twice is an error, as is one past the pages in use or one whose header
// names another page.
func (r *boltReader) page(id uint64) (flags, count uint16, sp *span, err error) {
	if id < 2 || id >= r.hwm {
		return 0, 0, nil, fmt.Errorf("page %d: out of bounds (%d pages in use)", id, r.hwm)
	}
	first := make([]byte, r.pageSize)
	if _, err := r.f.ReadAt(first, int64(id)*r.pageSize); err != nil {
		return 0, 0, nil, fmt.Errorf("page %d: %w", id, err)
	}
	overflow := uint64(le.Uint32(first[12:]))
	switch {
	case le.Uint64(first[0:]) != id:
		return 0, 0, nil, fmt.Errorf("page %d: its header says page %d", id, le.Uint64(first[0:]))
	case id+overflow >= r.hwm || int64(overflow+1)*r.pageSize > maxSpan:
		return 0, 0, nil, fmt.Errorf("page %d: %d overflow pages run past the pages in use", id, overflow)
	}
	for i := id; i <= id+overflow; i++ {
		if r.seen[i] {
			return 0, 0, nil, fmt.Errorf("page %d: referenced twice", i)
		}
		r.seen[i] = true
	}
	sp = &span{f: r.f, off: int64(id) * r.pageSize, n: (overflow + 1) * uint64(r.pageSize), b: first}
	return le.Uint16(first[8:]), le.Uint16(first[10:]), sp, nil
}

// freelist checks the free list page (a database that synced it).
func (r *boltReader) freelist(id uint64) error {
	flags, count, sp, err := r.page(id)
	if err != nil {
		return fmt.Errorf("free list: %w", err)
	}
	n, at := uint64(count), uint64(pageHeader)
	if count == 0xFFFF { // the count is in the first element
		b, err := sp.upto(pageHeader + 8)
		if err != nil {
			return fmt.Errorf("free list page %d: %w", id, err)
		}
		n, at = le.Uint64(b[pageHeader:]), pageHeader+8
	}
	if flags != freelistPage || n > (sp.n-at)/8 {
		return fmt.Errorf("free list page %d: bad type %#x or %d ids past its end", id, flags, n)
	}
	return nil
}

// tree checks the subtree rooted at page id, whose keys must lie in
// [min, max) (nil: unbounded), and returns its largest key.
func (r *boltReader) tree(id uint64, min, max []byte, depth int) ([]byte, error) {
	if depth > maxTreeDepth {
		return nil, fmt.Errorf("page %d: nested deeper than %d", id, maxTreeDepth)
	}
	flags, count, sp, err := r.page(id)
	if err != nil {
		return nil, err
	}
	switch flags {
	case branchPage:
		return r.branch(id, count, sp, min, max, depth)
	case leafPage:
		return r.leaf(id, count, sp, min, max, depth)
	}
	return nil, fmt.Errorf("page %d: type %#x where a branch or leaf belongs", id, flags)
}

// element returns element i of a page: its 16 bytes, its key, and where
// the key ends, checked to lie within the page. A branch element is pos,
// ksize (u32) and the child's page id (u64); a leaf element flags, pos,
// ksize and vsize (u32). pos counts from the element.
func element(sp *span, i int, branch bool) (e, key []byte, end uint64, err error) {
	off := uint64(pageHeader + i*elementSize)
	b, err := sp.upto(off + elementSize)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("element %d: %w", i, err)
	}
	e = b[off : off+elementSize]
	pos, ksize := le.Uint32(e[4:]), le.Uint32(e[8:])
	if branch {
		pos, ksize = le.Uint32(e[0:]), le.Uint32(e[4:])
	}
	start := off + uint64(pos)
	if b, err = sp.upto(start + uint64(ksize)); err != nil {
		return nil, nil, 0, fmt.Errorf("element %d: key %w", i, err)
	}
	e = b[off : off+elementSize] // b may be a longer read of the span
	return e, b[start : start+uint64(ksize)], start + uint64(ksize), nil
}

func (r *boltReader) branch(id uint64, count uint16, sp *span, min, max []byte, depth int) ([]byte, error) {
	if count == 0 {
		return nil, fmt.Errorf("page %d: an empty branch", id)
	}
	running, last := min, []byte(nil)
	for i := range int(count) {
		e, key, _, err := element(sp, i, true)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		if err := keyOrder(id, i, key, running, max); err != nil {
			return nil, err
		}
		next := max
		if i+1 < int(count) {
			if _, k, _, err := element(sp, i+1, true); err == nil {
				next = k
			}
		}
		if last, err = r.tree(le.Uint64(e[8:]), key, next, depth+1); err != nil {
			return nil, err
		}
		running = last
	}
	return last, nil
}

func (r *boltReader) leaf(id uint64, count uint16, sp *span, min, max []byte, depth int) ([]byte, error) {
	running := min
	for i := range int(count) {
		e, key, end, err := element(sp, i, false)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", id, err)
		}
		flags, vsize := le.Uint32(e[0:]), uint64(le.Uint32(e[12:]))
		if end+vsize > sp.n {
			return nil, fmt.Errorf("page %d: element %d: value past the page's end", id, i)
		}
		if err := keyOrder(id, i, key, running, max); err != nil {
			return nil, err
		}
		if flags&bucketLeafFlag != 0 {
			b, err := sp.upto(end + vsize)
			if err != nil {
				return nil, fmt.Errorf("page %d: %w", id, err)
			}
			if err := r.bucket(id, b[end:end+vsize], depth); err != nil {
				return nil, err
			}
		}
		running = key
	}
	if count == 0 {
		return nil, nil // as bbolt's check: an empty leaf bounds nothing
	}
	return running, nil
}

// bucket checks a bucket value: its root page, or the page inline in it.
func (r *boltReader) bucket(id uint64, v []byte, depth int) error {
	if len(v) < bucketHeader {
		return fmt.Errorf("page %d: a bucket of %d bytes", id, len(v))
	}
	if root := le.Uint64(v); root != 0 {
		_, err := r.tree(root, nil, nil, depth+1)
		return err
	}
	inline := v[bucketHeader:]
	if len(inline) < pageHeader || le.Uint16(inline[8:]) != leafPage {
		return fmt.Errorf("page %d: an inline bucket that is not a leaf", id)
	}
	sp := &span{f: r.f, n: uint64(len(inline)), b: inline}
	_, err := r.leaf(id, le.Uint16(inline[10:]), sp, nil, nil, depth+1)
	return err
}

// keyOrder checks that element i's key follows prev (the previous key, or
// the least the page may hold) and lies below max, as bbolt's check does.
func keyOrder(id uint64, i int, key, prev, max []byte) error {
	switch c := bytes.Compare(prev, key); {
	case prev != nil && i == 0 && c > 0, i > 0 && c >= 0:
		return fmt.Errorf("page %d: key %d out of order", id, i)
	}
	if max != nil && bytes.Compare(key, max) >= 0 {
		return fmt.Errorf("page %d: key %d not below its parent's next key", id, i)
	}
	return nil
}
