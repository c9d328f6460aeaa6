package msgp

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// FuzzReader reads arbitrary input as a sequence of values of the types
// the first byte picks. It must never panic; every failure wraps one of
// the two errors; bytes handed out lie inside the input; a Reader never
// claims more elements than the bytes left could hold.
func FuzzReader(f *testing.F) {
	f.Add(writeAll())
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add(append([]byte{0x00}, bytes.Repeat([]byte{0x91}, 20)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		ops, body := in[0], in[1:]
		r := NewReader(body)
		for i := 0; r.Err() == nil && r.Len() > 0 && i < 64; i++ {
			left := r.Len()
			switch (ops + byte(i)) % 8 {
			case 0:
				r.Int()
			case 1:
				r.Uint()
			case 2:
				r.Bool()
			case 3:
				if p := r.Bytes(math.MaxInt); len(p) > left {
					t.Fatalf("%d bytes out of %d", len(p), left)
				}
			case 4:
				if n := r.ArrayLen(math.MaxInt, 1); n > left {
					t.Fatalf("array of %d in %d bytes", n, left)
				}
			case 5:
				if n := r.MapLen(math.MaxInt); 2*n > left {
					t.Fatalf("map of %d in %d bytes", n, left)
				}
			default:
				r.Skip()
			}
			if r.Len() > left {
				t.Fatal("the reader went back")
			}
		}
		if err := r.End(); err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
