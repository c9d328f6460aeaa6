package msg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// array32 is a msgpack array of n elements, each the bytes elem.
func array32(n int, elem []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(n))
	return append(b, bytes.Repeat(elem, n)...)
}

// Decode bombs: inputs made of one-byte elements that cost a Value each
// (and an empty container its boxed slice header too) are refused once
// they would pass the budget, before the memory is taken.
func TestDecodeBudgetRefusesBombs(t *testing.T) {
	const n = 1 << 18
	bombs := []struct {
		name  string
		input []byte
	}{
		{"empty lists", array32(n, []byte{0x90})},
		{"empty maps", array32(n, []byte{0x80})},
		{"empty strings", array32(n, []byte{0xa0})},
		{"nils", array32(n, []byte{0xc0})},
		{"lists of one empty list", array32(n/2, []byte{0x91, 0x90})},
		{"nested tiny maps", append(binary.BigEndian.AppendUint32([]byte{0xdf}, 1), append([]byte{0x00}, array32(n/2, []byte{0x81, 0x00, 0x80})...)...)},
		{"map of empty maps", func() []byte {
			// keys 0..127 are one byte: a map of 128 {} values, in a list.
			m := []byte{0xde, 0, 128}
			for k := range 128 {
				m = append(m, byte(k), 0x80)
			}
			return array32(n/len(m), m)
		}()},
	}
	for _, tc := range bombs {
		var err error
		used := allocated(func() { _, err = Unmarshal(tc.input) })
		if !errors.Is(err, ErrBudget) {
			t.Errorf("%s: err = %v, want ErrBudget", tc.name, err)
		}
		if limit := uint64(DecodeBudget(len(tc.input))) * 5 / 4; used > limit {
			t.Errorf("%s: %d bytes allocated for %d input bytes, budget %d", tc.name, used, len(tc.input), DecodeBudget(len(tc.input)))
		}
		_, derr := Decode(msgpack.NewDecoder(bytes.NewReader(tc.input)))
		if !errors.Is(derr, ErrBudget) {
			t.Errorf("%s: Decode err = %v, want ErrBudget", tc.name, derr)
		}
	}
}

// Ordinary data of the same size decodes, within its budget.
func TestDecodeBudgetAdmitsOrdinaryData(t *testing.T) {
	point, err := Map(Pair{String("x"), Int(1)}, Pair{String("y"), Float(2.5)})
	if err != nil {
		t.Fatal(err)
	}
	row, err := Map(Pair{String("name"), String("a user name")}, Pair{String("age"), Int(4000)}, Pair{String("tags"), List(String("one"), String("two"))})
	if err != nil {
		t.Fatal(err)
	}
	small := make([]Value, 30000) // one-byte integers: 48 bytes each, within the base
	for i := range small {
		small[i] = Int(int64(i % 100))
	}
	for _, tc := range []struct {
		name string
		v    Value
	}{
		{"points", List(repeat(point, 20000)...)},
		{"rows", List(repeat(row, 10000)...)},
		{"small ints", List(small...)},
		{"one big string", String(string(bytes.Repeat([]byte("x"), 2<<20)))},
	} {
		b, err := Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		var got Value
		used := allocated(func() { got, err = Unmarshal(b) })
		if err != nil {
			t.Fatalf("%s (%d bytes): %v", tc.name, len(b), err)
		}
		if !Equal(got, tc.v) {
			t.Fatalf("%s: decoded value differs", tc.name)
		}
		if limit := uint64(DecodeBudget(len(b))) * 5 / 4; used > limit {
			t.Errorf("%s: %d bytes allocated for %d input bytes, budget %d", tc.name, used, len(b), DecodeBudget(len(b)))
		}
	}
}

func repeat(v Value, n int) []Value {
	out := make([]Value, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// The encoders refuse what decoding would refuse, so a sender learns of
// it; what they accept decodes.
func TestEncodeBudget(t *testing.T) {
	tiny := make([]Value, 1<<18)
	for i := range tiny {
		tiny[i] = Int(int64(i % 100))
	}
	empties := make([]Value, 1<<17)
	for i := range empties {
		empties[i] = List()
	}
	for _, tc := range []struct {
		name string
		v    Value
		ok   bool
	}{
		{"small ints, within the base", List(tiny[:20000]...), true},
		{"small ints, too many", List(tiny...), false},
		{"empty lists, too many", List(empties...), false},
		{"nested too many", List(List(tiny...)), false},
		{"a big string", String(string(make([]byte, 4<<20))), true},
	} {
		b, err := Marshal(tc.v)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBudget)) {
			t.Errorf("%s: Marshal err = %v, want ok %v", tc.name, err, tc.ok)
			continue
		}
		var buf bytes.Buffer
		if eerr := Encode(msgpack.NewEncoder(&buf), tc.v); (eerr == nil) != tc.ok {
			t.Errorf("%s: Encode err = %v", tc.name, eerr)
		}
		if err == nil {
			if _, err := Unmarshal(b); err != nil {
				t.Errorf("%s: encoded, then refused by Unmarshal: %v", tc.name, err)
			}
		}
	}
}
