package raftreg

import (
	"time"

	"github.com/hashicorp/raft"
)

// Raft RPC types on the raft stream. Stored nowhere, but both ends of a
// connection must agree: never renumber.
const (
	rpcAppendEntries   uint8 = 1
	rpcRequestVote     uint8 = 2
	rpcRequestPreVote  uint8 = 3
	rpcInstallSnapshot uint8 = 4
	rpcTimeoutNow      uint8 = 5
	rpcSnapshotChunk   uint8 = 6
)

// Limits on decoded fields: a peer cannot make this node allocate more
// than the frame it sent, and no field beyond what Raft could produce.
const (
	maxIDLen      = 1024
	maxEntries    = 1 << 16
	maxEntryBytes = 64 << 20
	maxConfBytes  = 1 << 20
)

// Each message body is a fixed sequence of msgpack values (no field names);
// the RPC type fixes the shape. A Log is an array of six values so that an
// entry count can be checked against the bytes left.

func putHeader(w *wbuf, h raft.RPCHeader) {
	w.int(int64(h.ProtocolVersion))
	w.bin(h.ID)
	w.bin(h.Addr)
}

func getHeader(r *rbuf) raft.RPCHeader {
	return raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersion(r.int()),
		ID:              r.bin(maxIDLen),
		Addr:            r.bin(maxIDLen),
	}
}

func putAppendEntriesRequest(w *wbuf, q *raft.AppendEntriesRequest) {
	putHeader(w, q.RPCHeader)
	w.uint(q.Term)
	w.bin(q.Leader)
	w.uint(q.PrevLogEntry)
	w.uint(q.PrevLogTerm)
	w.uint(q.LeaderCommitIndex)
	w.arr(len(q.Entries))
	for _, l := range q.Entries {
		w.arr(6)
		w.uint(l.Index)
		w.uint(l.Term)
		w.uint(uint64(l.Type))
		w.bin(l.Data)
		w.bin(l.Extensions)
		var at int64
		if !l.AppendedAt.IsZero() {
			at = l.AppendedAt.UnixNano()
		}
		w.int(at)
	}
}

func getAppendEntriesRequest(r *rbuf) *raft.AppendEntriesRequest {
	q := &raft.AppendEntriesRequest{
		RPCHeader:         getHeader(r),
		Term:              r.uint(),
		Leader:            r.bin(maxIDLen),
		PrevLogEntry:      r.uint(),
		PrevLogTerm:       r.uint(),
		LeaderCommitIndex: r.uint(),
	}
	n := r.arr(maxEntries, 7)
	if n > 0 {
		q.Entries = make([]*raft.Log, 0, n)
		logs := make([]raft.Log, n)
		for i := range logs {
			l := &logs[i]
			if r.arr(6, 1) != 6 {
				r.fail("log entry of the wrong size")
			}
			l.Index = r.uint()
			l.Term = r.uint()
			t := r.uint()
			if t > 255 {
				r.fail("log type %d", t)
			}
			l.Type = raft.LogType(t)
			l.Data = r.bin(maxEntryBytes)
			l.Extensions = r.bin(maxEntryBytes)
			if at := r.int(); at != 0 {
				l.AppendedAt = time.Unix(0, at)
			}
			if r.err != nil {
				return q
			}
			q.Entries = append(q.Entries, l)
		}
	}
	return q
}

func putAppendEntriesResponse(w *wbuf, p *raft.AppendEntriesResponse) {
	putHeader(w, p.RPCHeader)
	w.uint(p.Term)
	w.uint(p.LastLog)
	w.bool(p.Success)
	w.bool(p.NoRetryBackoff)
}

func getAppendEntriesResponse(r *rbuf, p *raft.AppendEntriesResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.uint()
	p.LastLog = r.uint()
	p.Success = r.bool()
	p.NoRetryBackoff = r.bool()
}

func putRequestVoteRequest(w *wbuf, q *raft.RequestVoteRequest) {
	putHeader(w, q.RPCHeader)
	w.uint(q.Term)
	w.bin(q.Candidate)
	w.uint(q.LastLogIndex)
	w.uint(q.LastLogTerm)
	w.bool(q.LeadershipTransfer)
}

func getRequestVoteRequest(r *rbuf) *raft.RequestVoteRequest {
	return &raft.RequestVoteRequest{
		RPCHeader:          getHeader(r),
		Term:               r.uint(),
		Candidate:          r.bin(maxIDLen),
		LastLogIndex:       r.uint(),
		LastLogTerm:        r.uint(),
		LeadershipTransfer: r.bool(),
	}
}

func putRequestVoteResponse(w *wbuf, p *raft.RequestVoteResponse) {
	putHeader(w, p.RPCHeader)
	w.uint(p.Term)
	w.bin(p.Peers)
	w.bool(p.Granted)
}

func getRequestVoteResponse(r *rbuf, p *raft.RequestVoteResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.uint()
	p.Peers = r.bin(maxConfBytes)
	p.Granted = r.bool()
}

func putRequestPreVoteRequest(w *wbuf, q *raft.RequestPreVoteRequest) {
	putHeader(w, q.RPCHeader)
	w.uint(q.Term)
	w.uint(q.LastLogIndex)
	w.uint(q.LastLogTerm)
}

func getRequestPreVoteRequest(r *rbuf) *raft.RequestPreVoteRequest {
	return &raft.RequestPreVoteRequest{
		RPCHeader:    getHeader(r),
		Term:         r.uint(),
		LastLogIndex: r.uint(),
		LastLogTerm:  r.uint(),
	}
}

func putRequestPreVoteResponse(w *wbuf, p *raft.RequestPreVoteResponse) {
	putHeader(w, p.RPCHeader)
	w.uint(p.Term)
	w.bool(p.Granted)
}

func getRequestPreVoteResponse(r *rbuf, p *raft.RequestPreVoteResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.uint()
	p.Granted = r.bool()
}

// putInstallSnapshotRequest writes the request that closes a snapshot
// transfer; stream is the id its chunks carried.
func putInstallSnapshotRequest(w *wbuf, stream uint64, q *raft.InstallSnapshotRequest) {
	w.uint(stream)
	putHeader(w, q.RPCHeader)
	w.int(int64(q.SnapshotVersion))
	w.uint(q.Term)
	w.bin(q.Leader)
	w.uint(q.LastLogIndex)
	w.uint(q.LastLogTerm)
	w.bin(q.Peers)
	w.bin(q.Configuration)
	w.uint(q.ConfigurationIndex)
	w.int(q.Size)
}

func getInstallSnapshotRequest(r *rbuf) (uint64, *raft.InstallSnapshotRequest) {
	stream := r.uint()
	return stream, &raft.InstallSnapshotRequest{
		RPCHeader:          getHeader(r),
		SnapshotVersion:    raft.SnapshotVersion(r.int()),
		Term:               r.uint(),
		Leader:             r.bin(maxIDLen),
		LastLogIndex:       r.uint(),
		LastLogTerm:        r.uint(),
		Peers:              r.bin(maxConfBytes),
		Configuration:      r.bin(maxConfBytes),
		ConfigurationIndex: r.uint(),
		Size:               r.int(),
	}
}

func putInstallSnapshotResponse(w *wbuf, p *raft.InstallSnapshotResponse) {
	putHeader(w, p.RPCHeader)
	w.uint(p.Term)
	w.bool(p.Success)
}

func getInstallSnapshotResponse(r *rbuf, p *raft.InstallSnapshotResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.uint()
	p.Success = r.bool()
}

// putSnapshotChunk writes one piece of a snapshot in transfer.
func putSnapshotChunk(w *wbuf, stream uint64, offset int64, data []byte) {
	w.uint(stream)
	w.int(offset)
	w.bin(data)
}

func getSnapshotChunk(r *rbuf, limit int) (stream uint64, offset int64, data []byte) {
	stream = r.uint()
	offset = r.int()
	data = r.rawBytes(limit)
	return
}

func putTimeoutNowRequest(w *wbuf, q *raft.TimeoutNowRequest)   { putHeader(w, q.RPCHeader) }
func putTimeoutNowResponse(w *wbuf, p *raft.TimeoutNowResponse) { putHeader(w, p.RPCHeader) }

func getTimeoutNowRequest(r *rbuf) *raft.TimeoutNowRequest {
	return &raft.TimeoutNowRequest{RPCHeader: getHeader(r)}
}

func getTimeoutNowResponse(r *rbuf, p *raft.TimeoutNowResponse) { p.RPCHeader = getHeader(r) }
