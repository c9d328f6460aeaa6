package transport

import (
	"bytes"
	"errors"
	"testing"
)

func testKeys(t testing.TB) sealKeys {
	t.Helper()
	ks, err := newSealKeys(transportKey(bytes.Repeat([]byte{3}, 32)), []byte("hello body"), []byte("welcome body"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// frames builds back-to-back data frames with payloads of the given sizes.
func frames(sizes ...int) []byte {
	var b []byte
	for i, n := range sizes {
		b = appendData(b, uint64(i), StreamCluster, bytes.Repeat([]byte{byte(i)}, n))
	}
	return b
}

func TestRecordCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		first int // bytes in the first record
	}{
		{"small", frames(10, 20), len(frames(10, 20))},
		{"exactly the bound", frames(sealChunk - 11), sealChunk}, // 11: header, array, seq, stream, bin16
		{"two over the bound", frames(10<<10, 10<<10), len(frames(10 << 10))},
		{"one big frame", frames(100 << 10), len(frames(100 << 10))},
		{"big frame after small", frames(10, 100<<10), len(frames(10))},
	} {
		if got := recordCut(tc.in); got != tc.first {
			t.Errorf("%s: first record %d bytes, want %d (of %d)", tc.name, got, tc.first, len(tc.in))
		}
	}
}

// Sealing and opening give back the frames, records cut at frame
// boundaries; each direction's key opens only its own records, in order.
func TestSealOpen(t *testing.T) {
	ks := testKeys(t)
	in := frames(1, 70<<10, 5, 5, 200<<10, 3)
	s := newSealer(ks.dialer)
	var wire []byte
	wire = s.appendSealed(wire, in[:len(frames(1, 70<<10))])
	wire = s.appendSealed(wire, in[len(frames(1, 70<<10)):])
	src := frameSource{fr: &frameReader{r: bytes.NewReader(wire), max: sealedMax(1 << 20)}, open: &opener{aead: ks.dialer, max: 1 << 20}}
	var got []byte
	for {
		typ, body, err := src.read()
		if err != nil {
			break
		}
		got = appendFrame(got, typ, body)
	}
	if !bytes.Equal(got, in) {
		t.Fatalf("frames differ after sealing: %d bytes in, %d out", len(in), len(got))
	}
	if src.open.seq < 4 {
		t.Fatalf("%d records for 285 KiB", src.open.seq)
	}
	// The other direction's key does not open them.
	src = frameSource{fr: &frameReader{r: bytes.NewReader(wire), max: sealedMax(1 << 20)}, open: &opener{aead: ks.acceptor, max: 1 << 20}}
	if _, _, err := src.read(); !errors.Is(err, ErrSealBroken) {
		t.Fatalf("opened with the wrong direction's key: %v", err)
	}
}

// FuzzOpener feeds arbitrary plaintext through a sealed record (what a
// peer holding the key may send) and arbitrary bytes as a record (what
// anyone may): no panic, typed errors, nothing outside the record.
func FuzzOpener(f *testing.F) {
	f.Add(frames(3, 0, 7))
	f.Add(appendHeader(nil, frameSealed, 40))
	f.Add([]byte{0, 0, 0, 9, 5, 1})
	f.Fuzz(func(t *testing.T, plain []byte) {
		ks := testKeys(t)
		for _, wire := range [][]byte{
			newSealer(ks.dialer).appendSealed(nil, plain),
			appendFrame(nil, frameSealed, plain),
		} {
			src := frameSource{fr: &frameReader{r: bytes.NewReader(wire), max: sealedMax(4096)}, open: &opener{aead: ks.dialer, max: 4096}}
			for {
				typ, body, err := src.read()
				if err != nil {
					if !errors.Is(err, ErrSealBroken) && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrFrameTooLarge) && err.Error() != "EOF" {
						t.Fatalf("untyped error %v", err)
					}
					break
				}
				if typ == frameSealed || len(body) == 0 || len(body) > 4096 || len(body) > len(plain) {
					t.Fatalf("%v frame of %d bytes from %d bytes", typ, len(body), len(plain))
				}
			}
		}
	})
}

// BenchmarkSealOpen: sealing and opening one record of 64-byte data frames
// (up to sealChunk), per byte of frames.
func BenchmarkSealOpen(b *testing.B) {
	ks := testKeys(b)
	var batch []byte
	for i := 0; len(batch) < sealChunk-80; i++ {
		batch = appendData(batch, uint64(i), StreamCluster, make([]byte, 64))
	}
	s := newSealer(ks.dialer)
	o := &opener{aead: ks.dialer, max: 1 << 20}
	var wire []byte
	b.SetBytes(int64(len(batch)))
	for b.Loop() {
		wire = s.appendSealed(wire[:0], batch)
		if err := o.open(wire[headerSize:]); err != nil {
			b.Fatal(err)
		}
		o.rec = nil
	}
}

// read returns the next frame, reading as needed.
func (s *frameSource) read() (frameType, []byte, error) {
	for {
		t, body, ok, err := s.next()
		if err != nil || ok {
			return t, body, err
		}
		if _, err := s.fr.fill(); err != nil {
			return 0, nil, err
		}
	}
}
