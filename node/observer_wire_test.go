package node

import (
	"bytes"
	"errors"
	"maps"
	"testing"
)

func TestObsFrameRoundTrip(t *testing.T) {
	q := obsRequest{ID: 7, Kind: obsKindProcesses, Args: map[string]string{"name": "worker", "page": "2"}}
	gq, gr, err := decodeObsFrame(q.encode())
	if err != nil || gr != nil || gq.ID != 7 || gq.Kind != q.Kind || !maps.Equal(gq.Args, q.Args) {
		t.Fatalf("request: %+v %+v %v", gq, gr, err)
	}
	r := obsReply{ID: 1 << 40, Status: 404, Body: []byte(`{"error":"x"}`)}
	gq, gr, err = decodeObsFrame(r.encode())
	if err != nil || gq != nil || gr.ID != r.ID || gr.Status != 404 || !bytes.Equal(gr.Body, r.Body) {
		t.Fatalf("reply: %+v %+v %v", gq, gr, err)
	}
	for name, b := range map[string][]byte{
		"empty":      nil,
		"not array":  {0x01},
		"three":      {0x93, 0x01, 0x01, 0xa0},
		"bad type":   {0x94, 0x09, 0x01, 0xa0, 0x80},
		"bad status": obsReply{ID: 1, Status: 42}.encode(),
		"trailing":   append(q.encode(), 0),
		"truncated":  q.encode()[:5],
		"huge kind":  append([]byte{0x94, 0x01, 0x01, 0xd9, 0x40}, bytes.Repeat([]byte("k"), 64)...),
	} {
		if _, _, err := decodeObsFrame(b); !errors.Is(err, errObsFrame) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzObsFrame: a frame from a peer never panics the decoder, and what it
// accepts encodes back to a frame that decodes to the same.
func FuzzObsFrame(f *testing.F) {
	f.Add(obsRequest{ID: 1, Kind: "node"}.encode())
	f.Add(obsRequest{ID: 2, Kind: "processes", Args: map[string]string{"page": "3"}}.encode())
	f.Add(obsReply{ID: 3, Status: 200, Body: []byte("{}")}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		q, r, err := decodeObsFrame(b)
		if err != nil {
			return
		}
		var again []byte
		if q != nil {
			again = q.encode()
		} else {
			again = r.encode()
		}
		q2, r2, err := decodeObsFrame(again)
		if err != nil {
			t.Fatalf("re-encoded frame refused: %v", err)
		}
		if q != nil && (q2 == nil || q2.ID != q.ID || q2.Kind != q.Kind || !maps.Equal(q2.Args, q.Args)) {
			t.Fatalf("request %+v became %+v", q, q2)
		}
		if r != nil && (r2 == nil || r2.ID != r.ID || r2.Status != r.Status || !bytes.Equal(r2.Body, r.Body)) {
			t.Fatalf("reply %+v became %+v", r, r2)
		}
	})
}
