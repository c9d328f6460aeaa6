package groups

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func sampleOps() []Op {
	k1, k2 := Key{"app:pg", "workers"}, Key{"app:pg", "all"}
	p1, p2 := pidOf("a", 1), pidOf("a", 0x1234567)
	p2.Host = "app:other"
	return []Op{{k1, p1, 1}, {k1, p2, -2}, {k2, p1, 3}, {Key{"x:y", "workers"}, p2, 1}, {k1, p1, 1}}
}

func TestCodecRoundTrip(t *testing.T) {
	ops := sampleOps()
	for _, c := range []struct {
		body []byte
		want Frame
	}{
		{AppendDelta(nil, &Delta{Boot: 9, Seq: 3, Ops: ops}), Frame{Type: FrameDelta, Boot: 9, Seq: 3, Ops: ops}},
		{AppendStatePart(nil, 9, 3, 2, true, ops[2:4]), Frame{Type: FrameState, Boot: 9, Seq: 3, Part: 2, Last: true, Ops: ops[2:4]}},
		{AppendStatePart(nil, 9, 0, 0, false, nil), Frame{Type: FrameState, Boot: 9}},
		{AppendDigest(nil, 1<<63, 77), Frame{Type: FrameDigest, Boot: 1 << 63, Seq: 77}},
		{AppendStateRequest(nil), Frame{Type: FrameStateRequest}},
	} {
		got, err := Decode(c.body, "a")
		if err != nil {
			t.Fatalf("%v: %v", c.want.Type, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%v:\n got %+v\nwant %+v", c.want.Type, got, c.want)
		}
	}
}

func TestCodecRefusesBadFrames(t *testing.T) {
	good := AppendDelta(nil, &Delta{Boot: 1, Seq: 1, Ops: sampleOps()})
	neg := AppendStatePart(nil, 1, 1, 0, true, []Op{{Key{"s", "g"}, pidOf("a", 1), -1}})
	for name, body := range map[string][]byte{
		"empty":          nil,
		"unknown type":   {9, 0x90},
		"truncated":      good[:len(good)-1],
		"trailing":       append(bytes.Clone(good), 0),
		"seq 0":          AppendDelta(nil, &Delta{Boot: 1}),
		"negative state": neg,
		"zero count":     AppendDelta(nil, &Delta{Boot: 1, Seq: 1, Ops: []Op{{Key{"s", "g"}, pidOf("a", 1), 0}}}),
		"zero pid":       AppendDelta(nil, &Delta{Boot: 1, Seq: 1, Ops: []Op{{Key{"s", "g"}, pidOf("a", 0), 1}}}),
		"long group":     AppendDelta(nil, &Delta{Boot: 1, Seq: 1, Ops: []Op{{Key{"s", string(make([]byte, MaxName+1))}, pidOf("a", 1), 1}}}),
		"host index":     {byte(FrameDelta), 0x93, 1, 1, 0x92, 0x90, 0x91, 0x92, 0xa1, 's', 0x91, 0x92, 0xa1, 'g', 0x91, 0x93, 0, 1, 1},
	} {
		if _, err := Decode(body, "a"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func TestSplitStateKeepsEveryMemberInOrder(t *testing.T) {
	var ops []Op
	for i := range 1000 {
		ops = append(ops, Op{Key{"app:pg", fmt.Sprint("g", i%7)}, pidOf("a", uint64(i+1)), 1})
	}
	parts := splitState(ops, 4096)
	var again []Op
	for i, p := range parts {
		body := AppendStatePart(nil, 1, 1, uint64(i), i == len(parts)-1, p)
		if len(body) > 4096+512 {
			t.Fatalf("part %d is %d bytes", i, len(body))
		}
		f, err := Decode(body, "a")
		if err != nil {
			t.Fatal(err)
		}
		again = append(again, f.Ops...)
	}
	if len(parts) < 5 || !reflect.DeepEqual(again, ops) {
		t.Fatalf("%d parts; members kept: %v", len(parts), reflect.DeepEqual(again, ops))
	}
	if got := splitState(nil, 10); len(got) != 1 || len(got[0]) != 0 {
		t.Fatalf("empty state: %v", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendDelta(nil, &Delta{Boot: 9, Seq: 3, Ops: sampleOps()}))
	f.Add(AppendStatePart(nil, 9, 3, 2, true, sampleOps()))
	f.Add(AppendDigest(nil, 1, 2))
	f.Add(AppendStateRequest(nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := Decode(body, "a")
		if err != nil {
			return
		}
		// What decodes encodes back to something that decodes the same.
		var again []byte
		switch fr.Type {
		case FrameDelta:
			again = AppendDelta(nil, &Delta{Boot: fr.Boot, Seq: fr.Seq, Ops: fr.Ops})
		case FrameState:
			again = AppendStatePart(nil, fr.Boot, fr.Seq, fr.Part, fr.Last, fr.Ops)
		case FrameDigest:
			again = AppendDigest(nil, fr.Boot, fr.Seq)
		case FrameStateRequest:
			again = AppendStateRequest(nil)
		}
		fr2, err := Decode(again, "a")
		if err != nil || !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("re-encoded frame: %v\n%+v\n%+v", err, fr, fr2)
		}
		for _, op := range fr.Ops {
			if op.PID.Node != "a" || op.N == 0 || len(op.Group) > MaxName {
				t.Fatalf("decoded a bad op %+v", op)
			}
		}
	})
}
