package raftreg

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// The segment files of raft-wal v0.4.0 (its README, "Segment Files"): a
// 32-byte header (magic u32, 3 reserved bytes, version u8, base index,
// segment id and codec u64), then frames aligned to 8 bytes. A frame is a
// type byte, 3 reserved bytes and a u32: the payload's length, or for a
// commit frame the CRC-32C of every byte written since the previous
// commit frame (the file header included, for the first). Entry frames
// hold one encoded log entry; the last append to a full segment adds an
// index frame (the file offset of each entry frame, u32) before its commit
// frame, which seals the segment. One append is the frames of one
// StoreLogs call and its commit frame, written at once and synced once.
//
// raft-wal trusts these files. When it reopens a segment still being
// written it walks its frames to the first one that does not parse and
// checks only the checksum of the last batch, so damage before that
// batch silently drops the rest of the segment (an unparsable frame) or
// is served as an entry (a flipped payload byte). It reads sealed
// segments through their index without checking anything but the file
// header, and a payload that does not decode can panic the decoder.
// scanSegment is the check that raft-wal lacks: every batch's checksum,
// every entry decoded with the index it must hold, the index frame equal
// to the entry frames.
const (
	segHeaderLen   = 32
	segMagic       = 0x58eb6b0d
	segVersion     = 0
	frameHeaderLen = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segScan is what scanSegment found in one segment file.
type segScan struct {
	// offsets are the entry frames of the complete batches, in order: the
	// entry at offsets[i] has index BaseIndex+i.
	offsets []uint32
	// end is where the complete batches end (after the last commit
	// frame); 0 when there is none.
	end int
	// indexStart is the offset of the index array when a complete batch
	// sealed the segment; 0 otherwise. Nothing after it is read.
	indexStart uint64
}

// last is the index of the last complete entry, or BaseIndex-1 for none.
func (s *segScan) last(info types.SegmentInfo) uint64 {
	return info.BaseIndex + uint64(len(s.offsets)) - 1
}

// scanSegment reads the complete batches of a segment file: from the
// header, each run of frames that a commit frame with the right checksum
// closes. It stops at the first frame that does not parse, a checksum
// that does not match, or a seal; what lies after end is then either the
// remains of an interrupted append or damage, which unfinished tells
// apart. A complete batch is what raft-wal wrote and synced, so anything
// wrong inside one (a header naming another segment, an entry that does
// not decode or holds the wrong index, an index frame that disagrees) is
// damage, returned as an error.
func scanSegment(data []byte, info types.SegmentInfo) (segScan, error) {
	var (
		s          segScan
		pending    []uint32 // entry frames of the batch being read
		index      = -1     // its index frame
		batchStart = 0
		off        = segHeaderLen
	)
	for off+frameHeaderLen <= len(data) {
		typ, n := data[off], le.Uint32(data[off+4:])
		if typ == segment.FrameCommit {
			if crc32.Checksum(data[batchStart:off], castagnoli) != n {
				break
			}
			if err := s.commit(data, info, pending, index, off); err != nil {
				return s, err
			}
			off += frameHeaderLen
			batchStart, s.end = off, off
			pending, index = pending[:0], -1
			if s.indexStart != 0 {
				break
			}
			continue
		}
		if typ != segment.FrameEntry && typ != segment.FrameIndex {
			break // zeros (nothing written past here), or a torn or damaged frame
		}
		next := off + frameHeaderLen + int(n) + padding(n)
		if n > segment.MaxEntrySize || next > len(data) {
			break
		}
		if typ == segment.FrameEntry {
			pending = append(pending, uint32(off))
		} else {
			index = off
		}
		off = next
	}
	return s, nil
}

// commit checks the complete batch that the commit frame at at closes
// and adds its entries to s.
func (s *segScan) commit(data []byte, info types.SegmentInfo, pending []uint32, index, at int) error {
	if s.end == 0 {
		if err := checkSegHeader(data, info); err != nil {
			return err
		}
	}
	for i, o := range pending {
		want := info.BaseIndex + uint64(len(s.offsets)+i)
		n := le.Uint32(data[o+4:])
		payload := data[int(o)+frameHeaderLen : int(o)+frameHeaderLen+int(n)]
		got, err := decodeEntry(payload)
		switch {
		case err != nil:
			return fmt.Errorf("the entry at offset %d (index %d) does not decode: %w", o, want, err)
		case got.Index != want:
			return fmt.Errorf("the entry at offset %d holds index %d where %d belongs", o, got.Index, want)
		}
	}
	s.offsets = append(s.offsets, pending...)
	if index < 0 {
		return nil
	}
	n := le.Uint32(data[index+4:])
	if index+frameHeaderLen+int(n)+padding(n) != at || int(n) != 4*len(s.offsets) {
		return fmt.Errorf("the index frame at offset %d does not list the segment's %d entries", index, len(s.offsets))
	}
	for i, o := range s.offsets {
		if le.Uint32(data[index+frameHeaderLen+4*i:]) != o {
			return fmt.Errorf("the index frame at offset %d disagrees with entry frame %d", index, i)
		}
	}
	s.indexStart = uint64(index + frameHeaderLen)
	return nil
}

// checkSegHeader checks the file header against the segment's metadata,
// as raft-wal does once it has found a complete batch.
func checkSegHeader(data []byte, info types.SegmentInfo) error {
	h := data[:segHeaderLen]
	switch {
	case le.Uint32(h) != segMagic || !bytes.Equal(h[4:7], []byte{0, 0, 0}) || h[7] != segVersion:
		return errors.New("the file header is not a raft-wal segment's")
	case le.Uint64(h[8:]) != info.BaseIndex || le.Uint64(h[16:]) != info.ID || le.Uint64(h[24:]) != info.Codec:
		return fmt.Errorf("the file header names segment %d (base index %d, codec %d), the metadata %d (%d, %d)",
			le.Uint64(h[16:]), le.Uint64(h[8:]), le.Uint64(h[24:]), info.ID, info.BaseIndex, info.Codec)
	}
	return nil
}

// decodeEntry decodes one entry with raft-wal's codec, which panics on
// some malformed input (a varint that overflows) instead of failing.
func decodeEntry(b []byte) (l raft.Log, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	err = (&wal.BinaryCodec{}).Decode(b, &l)
	return l, err
}

// padding is the zero bytes after a payload of n bytes.
func padding(n uint32) int { return int(-n & (frameHeaderLen - 1)) }

// unfinished checks the bytes of a segment file from end (where its
// complete batches end) on, and returns where its non-zero bytes end (0:
// all zero). A crash while an append was being written leaves that
// append's bytes in any state (some sectors written, some not, some
// garbled) and nothing after them: the file was preallocated with zeros
// and raft-wal writes an append only once the previous one is synced.
// Two things cannot come from that, and are damage: a complete batch (its
// commit frame's checksum matches) after end, which was written after the
// broken one was synced; and, in a file of exactly its preallocated size,
// non-zero bytes in its last 8, which only an append that seals the
// segment reaches and that append makes the file longer. Damage confined
// to the last batch of a segment is indistinguishable from an interrupted
// append and is recovered as one.
func unfinished(data []byte, end int, sizeLimit uint32) (int, error) {
	z := len(data) - 1
	for z >= end && data[z] == 0 {
		z--
	}
	if z < end {
		return 0, nil
	}
	if len(data) == int(sizeLimit) && z >= len(data)-frameHeaderLen {
		return 0, fmt.Errorf("non-zero bytes from offset %d to the end of the preallocated file: not the "+
			"remains of an interrupted append", end)
	}
	// A commit frame closes the bytes since the previous one: try each
	// aligned place that could hold one, against the bytes since the last.
	start := end
	for o := end; o <= z && o+frameHeaderLen <= len(data); o += frameHeaderLen {
		h := data[o : o+frameHeaderLen]
		if h[0] != segment.FrameCommit || h[1] != 0 || h[2] != 0 || h[3] != 0 {
			continue
		}
		if crc32.Checksum(data[start:o], castagnoli) == le.Uint32(h[4:]) {
			return 0, fmt.Errorf("the batch at offset %d is broken, yet a complete batch follows it at offset %d: "+
				"not an interrupted append", end, o)
		}
		start = o + frameHeaderLen
	}
	return z + 1, nil
}
