package raftreg

import (
	"time"

	"github.com/hashicorp/raft"

	"github.com/wippyd/wippyd/internal/msgp"
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

func putHeader(w *msgp.Writer, h raft.RPCHeader) {
	w.Int(int64(h.ProtocolVersion))
	w.Bin(h.ID)
	w.Bin(h.Addr)
}

func getHeader(r *msgp.Reader) raft.RPCHeader {
	return raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersion(r.Int()),
		ID:              r.BytesCopy(maxIDLen),
		Addr:            r.BytesCopy(maxIDLen),
	}
}

func putAppendEntriesRequest(w *msgp.Writer, q *raft.AppendEntriesRequest) {
	putHeader(w, q.RPCHeader)
	w.Uint(q.Term)
	w.Bin(q.Leader)
	w.Uint(q.PrevLogEntry)
	w.Uint(q.PrevLogTerm)
	w.Uint(q.LeaderCommitIndex)
	w.ArrayHeader(len(q.Entries))
	for _, l := range q.Entries {
		w.ArrayHeader(6)
		w.Uint(l.Index)
		w.Uint(l.Term)
		w.Uint(uint64(l.Type))
		w.Bin(l.Data)
		w.Bin(l.Extensions)
		var at int64
		if !l.AppendedAt.IsZero() {
			at = l.AppendedAt.UnixNano()
		}
		w.Int(at)
	}
}

func getAppendEntriesRequest(r *msgp.Reader) *raft.AppendEntriesRequest {
	q := &raft.AppendEntriesRequest{
		RPCHeader:         getHeader(r),
		Term:              r.Uint(),
		Leader:            r.BytesCopy(maxIDLen),
		PrevLogEntry:      r.Uint(),
		PrevLogTerm:       r.Uint(),
		LeaderCommitIndex: r.Uint(),
	}
	n := r.ArrayLen(maxEntries, 7)
	if n > 0 {
		q.Entries = make([]*raft.Log, 0, n)
		logs := make([]raft.Log, n)
		for i := range logs {
			l := &logs[i]
			if r.ArrayLen(6, 1) != 6 {
				r.Fail("log entry of the wrong size")
			}
			l.Index = r.Uint()
			l.Term = r.Uint()
			t := r.Uint()
			if t > 255 {
				r.Fail("log type %d", t)
			}
			l.Type = raft.LogType(t)
			l.Data = r.BytesCopy(maxEntryBytes)
			l.Extensions = r.BytesCopy(maxEntryBytes)
			if at := r.Int(); at != 0 {
				l.AppendedAt = time.Unix(0, at)
			}
			if r.Err() != nil {
				return q
			}
			q.Entries = append(q.Entries, l)
		}
	}
	return q
}

func putAppendEntriesResponse(w *msgp.Writer, p *raft.AppendEntriesResponse) {
	putHeader(w, p.RPCHeader)
	w.Uint(p.Term)
	w.Uint(p.LastLog)
	w.Bool(p.Success)
	w.Bool(p.NoRetryBackoff)
}

func getAppendEntriesResponse(r *msgp.Reader, p *raft.AppendEntriesResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.Uint()
	p.LastLog = r.Uint()
	p.Success = r.Bool()
	p.NoRetryBackoff = r.Bool()
}

func putRequestVoteRequest(w *msgp.Writer, q *raft.RequestVoteRequest) {
	putHeader(w, q.RPCHeader)
	w.Uint(q.Term)
	w.Bin(q.Candidate)
	w.Uint(q.LastLogIndex)
	w.Uint(q.LastLogTerm)
	w.Bool(q.LeadershipTransfer)
}

func getRequestVoteRequest(r *msgp.Reader) *raft.RequestVoteRequest {
	return &raft.RequestVoteRequest{
		RPCHeader:          getHeader(r),
		Term:               r.Uint(),
		Candidate:          r.BytesCopy(maxIDLen),
		LastLogIndex:       r.Uint(),
		LastLogTerm:        r.Uint(),
		LeadershipTransfer: r.Bool(),
	}
}

func putRequestVoteResponse(w *msgp.Writer, p *raft.RequestVoteResponse) {
	putHeader(w, p.RPCHeader)
	w.Uint(p.Term)
	w.Bin(p.Peers)
	w.Bool(p.Granted)
}

func getRequestVoteResponse(r *msgp.Reader, p *raft.RequestVoteResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.Uint()
	p.Peers = r.BytesCopy(maxConfBytes)
	p.Granted = r.Bool()
}

func putRequestPreVoteRequest(w *msgp.Writer, q *raft.RequestPreVoteRequest) {
	putHeader(w, q.RPCHeader)
	w.Uint(q.Term)
	w.Uint(q.LastLogIndex)
	w.Uint(q.LastLogTerm)
}

func getRequestPreVoteRequest(r *msgp.Reader) *raft.RequestPreVoteRequest {
	return &raft.RequestPreVoteRequest{
		RPCHeader:    getHeader(r),
		Term:         r.Uint(),
		LastLogIndex: r.Uint(),
		LastLogTerm:  r.Uint(),
	}
}

func putRequestPreVoteResponse(w *msgp.Writer, p *raft.RequestPreVoteResponse) {
	putHeader(w, p.RPCHeader)
	w.Uint(p.Term)
	w.Bool(p.Granted)
}

func getRequestPreVoteResponse(r *msgp.Reader, p *raft.RequestPreVoteResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.Uint()
	p.Granted = r.Bool()
}

// putInstallSnapshotRequest writes the request that closes a snapshot
// transfer; stream is the id its chunks carried.
func putInstallSnapshotRequest(w *msgp.Writer, stream uint64, q *raft.InstallSnapshotRequest) {
	w.Uint(stream)
	putHeader(w, q.RPCHeader)
	w.Int(int64(q.SnapshotVersion))
	w.Uint(q.Term)
	w.Bin(q.Leader)
	w.Uint(q.LastLogIndex)
	w.Uint(q.LastLogTerm)
	w.Bin(q.Peers)
	w.Bin(q.Configuration)
	w.Uint(q.ConfigurationIndex)
	w.Int(q.Size)
}

func getInstallSnapshotRequest(r *msgp.Reader) (uint64, *raft.InstallSnapshotRequest) {
	stream := r.Uint()
	return stream, &raft.InstallSnapshotRequest{
		RPCHeader:          getHeader(r),
		SnapshotVersion:    raft.SnapshotVersion(r.Int()),
		Term:               r.Uint(),
		Leader:             r.BytesCopy(maxIDLen),
		LastLogIndex:       r.Uint(),
		LastLogTerm:        r.Uint(),
		Peers:              r.BytesCopy(maxConfBytes),
		Configuration:      r.BytesCopy(maxConfBytes),
		ConfigurationIndex: r.Uint(),
		Size:               r.Int(),
	}
}

func putInstallSnapshotResponse(w *msgp.Writer, p *raft.InstallSnapshotResponse) {
	putHeader(w, p.RPCHeader)
	w.Uint(p.Term)
	w.Bool(p.Success)
}

func getInstallSnapshotResponse(r *msgp.Reader, p *raft.InstallSnapshotResponse) {
	p.RPCHeader = getHeader(r)
	p.Term = r.Uint()
	p.Success = r.Bool()
}

// putSnapshotChunk writes one piece of a snapshot in transfer.
func putSnapshotChunk(w *msgp.Writer, stream uint64, offset int64, data []byte) {
	w.Uint(stream)
	w.Int(offset)
	w.Bin(data)
}

func getSnapshotChunk(r *msgp.Reader, limit int) (stream uint64, offset int64, data []byte) {
	stream = r.Uint()
	offset = r.Int()
	data = r.Bytes(limit)
	return
}

func putTimeoutNowRequest(w *msgp.Writer, q *raft.TimeoutNowRequest)   { putHeader(w, q.RPCHeader) }
func putTimeoutNowResponse(w *msgp.Writer, p *raft.TimeoutNowResponse) { putHeader(w, p.RPCHeader) }

func getTimeoutNowRequest(r *msgp.Reader) *raft.TimeoutNowRequest {
	return &raft.TimeoutNowRequest{RPCHeader: getHeader(r)}
}

func getTimeoutNowResponse(r *msgp.Reader, p *raft.TimeoutNowResponse) { p.RPCHeader = getHeader(r) }
