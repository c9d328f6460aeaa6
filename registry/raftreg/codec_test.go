package raftreg

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/wippyd/wippyd/runtime/pid"
)

func TestWireValues(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, -1, -32, -33, math.MinInt64}
	strs := []string{"", "a", string(bytes.Repeat([]byte("x"), 31)), string(bytes.Repeat([]byte("y"), 32)), string(bytes.Repeat([]byte("z"), 300)), string(bytes.Repeat([]byte("w"), 70000))}
	var w wbuf
	for _, v := range ints {
		w.int(v)
	}
	for _, s := range strs {
		w.str(s)
		w.bin([]byte(s))
	}
	w.bool(true)
	w.bool(false)
	w.arr(3)
	w.arr(20)
	w.arr(70000)
	w.uint(math.MaxUint64)
	// A general msgpack library reads the same values.
	dec := msgpack.NewDecoder(bytes.NewReader(w.b))
	for _, v := range ints {
		got, err := dec.DecodeInt64()
		if err != nil || got != v {
			t.Fatalf("msgpack int %d: %d %v", v, got, err)
		}
	}
	for _, s := range strs {
		if got, err := dec.DecodeString(); err != nil || got != s {
			t.Fatalf("msgpack str of %d: %v", len(s), err)
		}
		if got, err := dec.DecodeBytes(); err != nil || string(got) != s {
			t.Fatalf("msgpack bin of %d: %v", len(s), err)
		}
	}
	r := rbuf{b: w.b}
	for _, v := range ints {
		if got := r.int(); got != v {
			t.Fatalf("int %d: %d (%v)", v, got, r.err)
		}
	}
	for _, s := range strs {
		if got := r.str(1 << 20); got != s {
			t.Fatalf("str of %d: %v", len(s), r.err)
		}
		if got := r.bin(1 << 20); string(got) != s {
			t.Fatalf("bin of %d: %v", len(s), r.err)
		}
	}
	if !r.bool() || r.bool() {
		t.Fatal("bool")
	}
	r.b = append(r.b[:0:0], r.b...) // arrays need the bytes they announce
	if n := r.arr(1<<20, 0); n != 3 {
		t.Fatalf("arr %d %v", n, r.err)
	}
	if n := r.arr(1<<20, 0); n != 20 {
		t.Fatalf("arr %d %v", n, r.err)
	}
	if n := r.arr(1<<20, 0); n != 70000 {
		t.Fatalf("arr %d %v", n, r.err)
	}
	if v := r.uint(); v != math.MaxUint64 {
		t.Fatalf("uint %d %v", v, r.err)
	}
	if err := r.end(); err != nil {
		t.Fatal(err)
	}
}

func TestWireRefusals(t *testing.T) {
	cases := map[string]func(r *rbuf){
		"truncated int":  func(r *rbuf) { r.b = []byte{0xcd, 1}; r.int() },
		"negative uint":  func(r *rbuf) { r.b = []byte{0xff}; r.uint() },
		"not a bool":     func(r *rbuf) { r.b = []byte{0x01}; r.bool() },
		"str over limit": func(r *rbuf) { r.b = []byte{0xa3, 'a', 'b', 'c'}; r.str(2) },
		"str truncated":  func(r *rbuf) { r.b = []byte{0xa3, 'a'}; r.str(10) },
		"huge array":     func(r *rbuf) { r.b = []byte{0xdd, 0xff, 0xff, 0xff, 0xff}; r.arr(1<<30, 1) },
		"trailing":       func(r *rbuf) { r.b = []byte{0x01, 0x02}; r.int(); _ = r.end() },
		"int out of range": func(r *rbuf) {
			r.b = []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
			r.int()
		},
	}
	for name, f := range cases {
		r := rbuf{}
		f(&r)
		if r.end() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// roundTrip encodes with put, decodes with get and compares.
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
	var w wbuf
	putAppendEntriesRequest(&w, ae)
	r := rbuf{b: w.b}
	if got := getAppendEntriesRequest(&r); r.end() != nil || !reflect.DeepEqual(got, ae) {
		t.Fatalf("append entries: %+v %v", got, r.err)
	}
	check := func(name string, put func(*wbuf), get func(*rbuf) any, want any) {
		t.Helper()
		var w wbuf
		put(&w)
		r := rbuf{b: w.b}
		got := get(&r)
		if err := r.end(); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %+v %v, want %+v", name, got, err, want)
		}
	}
	aer := &raft.AppendEntriesResponse{RPCHeader: hdr, Term: 7, LastLog: 13, Success: true, NoRetryBackoff: true}
	check("ae response", func(w *wbuf) { putAppendEntriesResponse(w, aer) },
		func(r *rbuf) any { var p raft.AppendEntriesResponse; getAppendEntriesResponse(r, &p); return &p }, aer)
	rv := &raft.RequestVoteRequest{RPCHeader: hdr, Term: 8, Candidate: []byte("n2"), LastLogIndex: 13, LastLogTerm: 7, LeadershipTransfer: true}
	check("vote", func(w *wbuf) { putRequestVoteRequest(w, rv) }, func(r *rbuf) any { return getRequestVoteRequest(r) }, rv)
	rvr := &raft.RequestVoteResponse{RPCHeader: hdr, Term: 8, Peers: []byte("p"), Granted: true}
	check("vote response", func(w *wbuf) { putRequestVoteResponse(w, rvr) },
		func(r *rbuf) any { var p raft.RequestVoteResponse; getRequestVoteResponse(r, &p); return &p }, rvr)
	pv := &raft.RequestPreVoteRequest{RPCHeader: hdr, Term: 9, LastLogIndex: 3, LastLogTerm: 2}
	check("prevote", func(w *wbuf) { putRequestPreVoteRequest(w, pv) }, func(r *rbuf) any { return getRequestPreVoteRequest(r) }, pv)
	pvr := &raft.RequestPreVoteResponse{RPCHeader: hdr, Term: 9, Granted: true}
	check("prevote response", func(w *wbuf) { putRequestPreVoteResponse(w, pvr) },
		func(r *rbuf) any { var p raft.RequestPreVoteResponse; getRequestPreVoteResponse(r, &p); return &p }, pvr)
	is := &raft.InstallSnapshotRequest{RPCHeader: hdr, SnapshotVersion: 1, Term: 9, Leader: []byte("n1"), LastLogIndex: 100,
		LastLogTerm: 9, Configuration: []byte("conf"), ConfigurationIndex: 50, Size: 4096}
	check("install snapshot", func(w *wbuf) { putInstallSnapshotRequest(w, 77, is) },
		func(r *rbuf) any {
			stream, q := getInstallSnapshotRequest(r)
			if stream != 77 {
				t.Fatalf("stream %d", stream)
			}
			return q
		}, is)
	isr := &raft.InstallSnapshotResponse{RPCHeader: hdr, Term: 9, Success: true}
	check("install snapshot response", func(w *wbuf) { putInstallSnapshotResponse(w, isr) },
		func(r *rbuf) any { var p raft.InstallSnapshotResponse; getInstallSnapshotResponse(r, &p); return &p }, isr)
	tn := &raft.TimeoutNowRequest{RPCHeader: hdr}
	check("timeout now", func(w *wbuf) { putTimeoutNowRequest(w, tn) }, func(r *rbuf) any { return getTimeoutNowRequest(r) }, tn)
	tnr := &raft.TimeoutNowResponse{RPCHeader: hdr}
	check("timeout now response", func(w *wbuf) { putTimeoutNowResponse(w, tnr) },
		func(r *rbuf) any { var p raft.TimeoutNowResponse; getTimeoutNowResponse(r, &p); return &p }, tnr)
}

func TestForwardCodecRoundTrip(t *testing.T) {
	for _, q := range []request{
		{op: opApply, deadline: 123456789, data: []byte{1, 0xa1, 'x'}},
		{op: opLookup, deadline: -1, name: "svc"},
		{op: opReadIndex},
		{op: opStatus},
	} {
		var w wbuf
		putRequest(&w, q)
		r := rbuf{b: w.b}
		if got := getRequest(&r); r.end() != nil || !reflect.DeepEqual(got, q) {
			t.Fatalf("request %+v: %+v %v", q, got, r.err)
		}
	}
	rep := reply{code: codeExists, pid: pid.PID{Node: "n1", Host: "app", Seq: 99}, leader: "n2", index: 42, flag: true}
	var w wbuf
	putReply(&w, rep)
	if got, err := decodeReply(w.b); err != nil || got != rep {
		t.Fatalf("reply: %+v %v", got, err)
	}
}

// FuzzRaftRPC feeds arbitrary bodies to the raft stream's decoders: no
// panic, no allocation beyond the input's size.
func FuzzRaftRPC(f *testing.F) {
	var w wbuf
	putAppendEntriesRequest(&w, &raft.AppendEntriesRequest{Term: 1, Entries: []*raft.Log{{Index: 1, Data: []byte("x")}}})
	f.Add(append([]byte{rpcAppendEntries}, w.b...))
	w = wbuf{}
	putInstallSnapshotRequest(&w, 1, &raft.InstallSnapshotRequest{Size: 3})
	f.Add(append([]byte{rpcInstallSnapshot}, w.b...))
	f.Add([]byte{rpcSnapshotChunk, 1, 0, 0xc4, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		r := rbuf{b: b[1:]}
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
		_ = r.end()
	})
}

// FuzzForward feeds arbitrary bodies to the registry stream's decoders.
func FuzzForward(f *testing.F) {
	var w wbuf
	putRequest(&w, request{op: opApply, deadline: 1, data: []byte{1}})
	f.Add(w.b)
	w = wbuf{}
	putReply(&w, reply{code: codeOK, leader: "n1"})
	f.Add(w.b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := rbuf{b: b}
		getRequest(&r)
		_ = r.end()
		_, _ = decodeReply(b)
	})
}
