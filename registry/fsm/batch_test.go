package fsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/registry"
)

func encodeAll(t testing.TB, cmds []Command) [][]byte {
	t.Helper()
	out := make([][]byte, len(cmds))
	for i, c := range cmds {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	cmds := sampleCommands()
	for n := 1; n <= len(cmds); n++ {
		b, err := EncodeBatch(encodeAll(t, cmds[:n]))
		if err != nil {
			t.Fatal(err)
		}
		if !IsBatch(b) || Op(b[0]) != OpBatch {
			t.Fatalf("batch of %d starts with %d", n, b[0])
		}
		back, err := DecodeBatch(b)
		if err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		if !slices.Equal(back, cmds[:n]) {
			t.Fatalf("batch of %d: got %#v", n, back)
		}
	}
	// A single command is not a batch, and a batch is not a command.
	one := encodeAll(t, cmds[:1])
	if IsBatch(one[0]) {
		t.Fatal("a command taken for a batch")
	}
	b, _ := EncodeBatch(one)
	if c, err := DecodeCommand(b); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("DecodeCommand of a batch = %#v, %v", c, err)
	}
}

func TestBatchGolden(t *testing.T) {
	var out bytes.Buffer
	for _, cmds := range [][]Command{
		{Register{"cache", a1}},
		{Register{"cache", a1}, Unregister{"cache", a2}, ReleaseNode{"n1"}},
		sampleCommands(),
	} {
		b, err := EncodeBatch(encodeAll(t, cmds))
		if err != nil {
			t.Fatal(err)
		}
		h := hex.EncodeToString(b)
		if len(b) > 64 {
			h = fmt.Sprintf("%s..%s (%d bytes)", h[:48], h[len(h)-48:], len(b))
		}
		fmt.Fprintf(&out, "%2d commands  %s\n", len(cmds), h)
	}
	golden(t, "batch.golden", out.Bytes())
}

func TestEncodeBatchRejects(t *testing.T) {
	good, _ := EncodeCommand(Register{"a", a1})
	big := make([][]byte, MaxBatchSize/MaxCommandSize+1)
	for i := range big {
		big[i] = make([]byte, MaxCommandSize)
	}
	for name, in := range map[string][][]byte{
		"no commands":                   nil,
		"an empty command":              {good, nil},
		"a command over MaxCommandSize": {good, make([]byte, MaxCommandSize+1)},
		"over MaxBatchSize":             big,
	} {
		if b, err := EncodeBatch(in); !errors.Is(err, ErrBadCommand) || b != nil {
			t.Errorf("%s: EncodeBatch = %d bytes, %v; want ErrBadCommand", name, len(b), err)
		}
	}
}

// bin8 is the shortest msgpack bin header for a short item.
func bin8(b []byte) []byte { return append([]byte{0xc4, byte(len(b))}, b...) }

func TestDecodeBatchRejects(t *testing.T) {
	reg := enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 1) // Register{"a", {n@h|1}}
	good := enc(6, 2, bin8(reg), bin8(reg))
	if _, err := DecodeBatch(good); err != nil {
		t.Fatalf("the valid base input fails: %v", err)
	}
	batchOfOne := enc(6, 1, bin8(reg))
	cases := map[string][]byte{
		"empty":                      nil,
		"a command":                  reg,
		"no count":                   enc(6),
		"zero commands":              enc(6, 0),
		"fewer commands than said":   enc(6, 3, bin8(reg), bin8(reg)),
		"more commands than said":    enc(6, 1, bin8(reg), bin8(reg)),
		"count beyond the input":     enc(6, 0xce, 0x7f, 0xff, 0xff, 0xff, bin8(reg)),
		"count not in shortest form": enc(6, 0xcc, 2, bin8(reg), bin8(reg)),
		"negative count":             enc(6, 0xff, bin8(reg)),
		"bin16 for a short item":     enc(6, 1, 0xc5, 0, byte(len(reg)), reg),
		"str instead of bin":         enc(6, 1, fixstr(string(reg))),
		"empty item":                 enc(6, 1, 0xc4, 0),
		"nil item":                   enc(6, 1, 0xc0),
		"item longer than the input": enc(6, 1, 0xc4, 200, reg),
		"item over MaxCommandSize":   enc(6, 1, 0xc5, 0x10, 0, make([]byte, 0x1000)),
		"item not a command":         enc(6, 1, bin8(enc(9, fixstr("a")))),
		"item with a bad name":       enc(6, 1, bin8(enc(1, fixstr(""), fixstr("n"), fixstr("h"), 1))),
		"nested batch":               enc(6, 1, bin8(batchOfOne)),
		"trailing byte":              enc(good, 0),
		"over MaxBatchSize":          enc(6, make([]byte, MaxBatchSize)),
	}
	for name, in := range cases {
		if got, err := DecodeBatch(in); !errors.Is(err, ErrBadCommand) || got != nil {
			t.Errorf("%s: DecodeBatch(%x) = %#v, %v; want ErrBadCommand", name, in, got, err)
		}
	}
	if _, err := DecodeBatch(enc(6, 1, bin8(enc(1, fixstr(""), fixstr("n"), fixstr("h"), 1)))); !errors.Is(err, registry.ErrInvalidName) {
		t.Errorf("a bad name in a batch: %v does not wrap ErrInvalidName", err)
	}
	b, _ := EncodeBatch(encodeAll(t, sampleCommands()))
	for n := range len(b) {
		if got, err := DecodeBatch(b[:n]); err == nil {
			t.Fatalf("batch cut to %d of %d bytes decodes to %d commands", n, len(b), len(got))
		}
	}
}

func TestApplyBatchStaleIndex(t *testing.T) {
	f := New()
	f.Apply(5, Register{"a", a1})
	res := f.ApplyBatch(5, []Command{Register{"b", a1}, Unregister{"a", a1}})
	if len(res) != 2 || !errors.Is(res[0].Err, ErrStaleIndex) || !errors.Is(res[1].Err, ErrStaleIndex) {
		t.Fatalf("stale batch: %+v", res)
	}
	if f.Index() != 5 || !reflect.DeepEqual(f.List(), []registry.Entry{entry("a", a1, 5)}) {
		t.Fatalf("a stale batch changed the table: index %d, %v", f.Index(), f.List())
	}
}

// TestModelBatches is TestModel with the commands grouped in batches of 1
// to 8, each going through the wire form and applied at one index: every
// result, every change and the table after each batch must match the
// model applying the same commands one by one at that index.
func TestModelBatches(t *testing.T) {
	for seed := range uint64(20) {
		f, m := New(), model{}
		cmds := randomCommands(seed, 400)
		index := uint64(0)
		for len(cmds) > 0 {
			n := min(len(cmds), 1+int(seed+index)%8)
			batch := cmds[:n]
			cmds = cmds[n:]
			index += 1 + index%2
			wire, err := EncodeBatch(encodeAll(t, batch))
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := DecodeBatch(wire)
			if err != nil {
				t.Fatal(err)
			}
			res := f.ApplyBatch(index, decoded)
			if len(res) != n {
				t.Fatalf("seed %d index %d: %d results for %d commands", seed, index, len(res), n)
			}
			for i, c := range batch {
				wantErr, gone := m.apply(index, c)
				if res[i].Err != wantErr {
					t.Fatalf("seed %d index %d item %d %#v: err %v, model %v", seed, index, i, c, res[i].Err, wantErr)
				}
				var got []string
				for _, ev := range res[i].Changes {
					if ev.Index != index {
						t.Fatalf("seed %d index %d: event index %d", seed, index, ev.Index)
					}
					if ev.Kind == registry.EventUnregistered {
						got = append(got, ev.Name)
					}
				}
				if !slices.Equal(got, gone) {
					t.Fatalf("seed %d index %d item %d %#v: released %v, model %v", seed, index, i, c, got, gone)
				}
			}
			if f.Index() != index || !reflect.DeepEqual(f.List(), m.list()) {
				t.Fatalf("seed %d index %d: table at %d\n got %v\nwant %v", seed, index, f.Index(), f.List(), m.list())
			}
			checkInvariants(t, f)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	cmds := sampleCommands()
	for n := 1; n <= len(cmds); n += 3 {
		var items [][]byte
		for _, c := range cmds[:n] {
			b, _ := EncodeCommand(c)
			items = append(items, b)
		}
		b, _ := EncodeBatch(items)
		f.Add(b)
	}
	f.Add([]byte{6})
	f.Add([]byte{6, 0xce, 0x7f, 0xff, 0xff, 0xff, 0xc4, 1, 1})
	f.Add([]byte(strings.Repeat("\x06\x01", 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds, err := DecodeBatch(data)
		if err != nil {
			if cmds != nil || !errors.Is(err, ErrBadCommand) {
				t.Fatalf("DecodeBatch = %#v, %v; want nil and ErrBadCommand", cmds, err)
			}
			return
		}
		// Only the canonical form is accepted: re-encoding gives the input
		// back.
		items := make([][]byte, len(cmds))
		for i, c := range cmds {
			if items[i], err = EncodeCommand(c); err != nil {
				t.Fatalf("decoded %#v does not encode: %v", c, err)
			}
		}
		again, err := EncodeBatch(items)
		if err != nil {
			t.Fatalf("decoded batch does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("batch re-encodes to %x, input was %x", again, data)
		}
		for i, res := range New().ApplyBatch(1, cmds) {
			if errors.Is(res.Err, ErrBadCommand) {
				t.Fatalf("decoded %#v is refused by ApplyBatch: %v", cmds[i], res.Err)
			}
		}
	})
}
