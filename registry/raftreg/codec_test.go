package raftreg

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/wippyd/wippyd/internal/msgp"
	"github.com/wippyd/wippyd/runtime/pid"
)

// Entries of every kind, empty fields among them, and the snapshot stream
// id survive the round trip (TestRaftCodecCarriesEveryField sets every
// field of every RPC; this one the values real traffic has).
func TestRaftCodecRoundTrip(t *testing.T) {
	hdr := raft.RPCHeader{ProtocolVersion: 3, ID: []byte("n1"), Addr: []byte("n1")}
	at := time.Unix(0, 1_700_000_000_123_456_789)
	ae := &raft.AppendEntriesRequest{
		RPCHeader: hdr, Term: 7, Leader: []byte("n1"), PrevLogEntry: 10, PrevLogTerm: 6, LeaderCommitIndex: 9,
		Entries: []*raft.Log{
			{Index: 11, Term: 7, Type: raft.LogCommand, Data: []byte{1, 2, 3}, Extensions: []byte{0, 0, 0, 0, 0, 0, 0, 1}, AppendedAt: at},
			{Index: 12, Term: 7, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{9}, 1000)},
			{Index: 13, Term: 7, Type: raft.LogBarrier},
		},
	}
	var w msgp.Writer
	putAppendEntriesRequest(&w, ae)
	r := msgp.NewReader(w.B)
	if got := getAppendEntriesRequest(&r); r.End() != nil || !reflect.DeepEqual(got, ae) {
		t.Fatalf("append entries: %+v %v", got, r.Err())
	}
	is := &raft.InstallSnapshotRequest{RPCHeader: hdr, SnapshotVersion: 1, Term: 9, Leader: []byte("n1"), LastLogIndex: 100,
		LastLogTerm: 9, Configuration: []byte("conf"), ConfigurationIndex: 50, Size: 4096}
	w = msgp.Writer{}
	putInstallSnapshotRequest(&w, 77, is)
	r = msgp.NewReader(w.B)
	if stream, got := getInstallSnapshotRequest(&r); r.End() != nil || stream != 77 || !reflect.DeepEqual(got, is) {
		t.Fatalf("install snapshot: stream %d, %+v %v", stream, got, r.Err())
	}
}

// An acknowledgement request with a name or PID the registry refuses does
// not decode.
func TestForwardAckRefused(t *testing.T) {
	for _, q := range []request{
		{op: opAck, name: "", pid: pid.PID{Node: "n1", Host: "app", Seq: 3}},
		{op: opAck, name: "x", pid: pid.PID{Node: "n1", Host: "app"}},
	} {
		var w msgp.Writer
		putRequest(&w, q)
		r := msgp.NewReader(w.B)
		if getRequest(&r); r.End() == nil {
			t.Fatalf("%+v decoded", q)
		}
	}
}

func TestForwardCodecRoundTrip(t *testing.T) {
	for _, q := range []request{
		{op: opApply, deadline: 123456789, data: []byte{1, 0xa1, 'x'}},
		{op: opLookup, deadline: -1, name: "svc"},
		{op: opReadIndex},
		{op: opStatus},
		{op: opAck, deadline: 5, name: "lock", pid: pid.PID{Node: "n1", Host: "app", Seq: 3}, index: 1 << 40},
		{op: opApplied, deadline: 5, index: 77},
	} {
		var w msgp.Writer
		putRequest(&w, q)
		r := msgp.NewReader(w.B)
		if got := getRequest(&r); r.End() != nil || !reflect.DeepEqual(got, q) {
			t.Fatalf("request %+v: %+v %v", q, got, r.Err())
		}
	}
	rep := reply{code: codeExists, pid: pid.PID{Node: "n1", Host: "app", Seq: 99}, leader: "n2", index: 42, flag: true}
	var w msgp.Writer
	putReply(&w, rep)
	if got, err := decodeReply(w.B); err != nil || got != rep {
		t.Fatalf("reply: %+v %v", got, err)
	}
}

// FuzzRaftRPC feeds arbitrary bodies to the raft stream's decoders: no
// panic, no allocation beyond the input's size.
func FuzzRaftRPC(f *testing.F) {
	var w msgp.Writer
	putAppendEntriesRequest(&w, &raft.AppendEntriesRequest{Term: 1, Entries: []*raft.Log{{Index: 1, Data: []byte("x")}}})
	f.Add(append([]byte{rpcAppendEntries}, w.B...))
	w = msgp.Writer{}
	putInstallSnapshotRequest(&w, 1, &raft.InstallSnapshotRequest{Size: 3})
	f.Add(append([]byte{rpcInstallSnapshot}, w.B...))
	f.Add([]byte{rpcSnapshotChunk, 1, 0, 0xc4, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		r := msgp.NewReader(b[1:])
		switch b[0] % 7 {
		case 0:
			getAppendEntriesRequest(&r)
		case 1:
			getRequestVoteRequest(&r)
		case 2:
			getRequestPreVoteRequest(&r)
		case 3:
			getInstallSnapshotRequest(&r)
		case 4:
			getSnapshotChunk(&r, 1<<20)
		case 5:
			var p raft.AppendEntriesResponse
			getAppendEntriesResponse(&r, &p)
		case 6:
			getTimeoutNowRequest(&r)
		}
		_ = r.End()
	})
}

// FuzzForward feeds arbitrary bodies to the registry stream's decoders.
func FuzzForward(f *testing.F) {
	var w msgp.Writer
	putRequest(&w, request{op: opApply, deadline: 1, data: []byte{1}})
	f.Add(w.B)
	w = msgp.Writer{}
	putReply(&w, reply{code: codeOK, leader: "n1"})
	f.Add(w.B)
	w = msgp.Writer{}
	putRequest(&w, request{op: opAck, deadline: 1, name: "lock", pid: pid.PID{Node: "n1", Host: "app", Seq: 3}, index: 7})
	f.Add(w.B)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := msgp.NewReader(b)
		getRequest(&r)
		_ = r.End()
		_, _ = decodeReply(b)
	})
}
