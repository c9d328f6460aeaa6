package fsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/registry"
	"github.com/wippyd/wippyd/runtime/pid"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n got %q\nwant %q", path, got, want)
	}
}

// sampleCommands has one command of each kind, and the size extremes.
func sampleCommands() []Command {
	big := pid.PID{
		Node: strings.Repeat("n", registry.MaxNodeLen),
		Host: strings.Repeat("h", registry.MaxHostLen),
		Seq:  ^uint64(0),
	}
	return []Command{
		Register{"cache", a1},
		Register{strings.Repeat("x", registry.MaxNameLen), big},
		Register{strings.Repeat("y", 31), pid.PID{Node: "n", Host: "h", Seq: 127}},
		Register{strings.Repeat("y", 32), pid.PID{Node: "n", Host: "h", Seq: 128}},
		Register{strings.Repeat("y", 255), pid.PID{Node: "n", Host: "h", Seq: 1 << 16}},
		Register{strings.Repeat("y", 256), pid.PID{Node: "n", Host: "h", Seq: 1 << 32}},
		Unregister{"cache", a2},
		UnregisterIfOwned{"leader", b1},
		ReleasePID{a3},
		ReleaseNode{"n1"},
		Reserve{"lock", a1, 1_700_000_000_000_000_000},
		Reserve{strings.Repeat("x", registry.MaxNameLen), big, ^uint64(0)},
		Activate{"lock", a1},
		Abort{"lock", a2},
		UnregisterStrong{"lock", b1},
		LockAcquire{"orders.migration", a1},
		LockAcquire{strings.Repeat("l", registry.MaxNameLen), big},
		LockRelease{"orders.migration", a2},
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range sampleCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatalf("EncodeCommand(%v): %v", c.Op(), err)
		}
		if Op(b[0]) != c.Op() {
			t.Errorf("%v: first byte %d", c.Op(), b[0])
		}
		if len(b) > MaxCommandSize {
			t.Errorf("%v: %d bytes, over MaxCommandSize %d", c.Op(), len(b), MaxCommandSize)
		}
		back, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("DecodeCommand(%v): %v", c.Op(), err)
		}
		if back != c {
			t.Errorf("round trip: got %#v, want %#v", back, c)
		}
	}
}

func TestCommandGolden(t *testing.T) {
	var out bytes.Buffer
	for _, c := range sampleCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		h := hex.EncodeToString(b)
		if len(b) > 64 { // keep the file readable: show both ends of long commands
			h = fmt.Sprintf("%s..%s (%d bytes)", h[:48], h[len(h)-48:], len(b))
		}
		fmt.Fprintf(&out, "%-20s %s\n", c.Op(), h)
	}
	golden(t, "commands.golden", out.Bytes())
}

func TestEncodeCommandRejects(t *testing.T) {
	cases := []struct {
		cmd  Command
		want error
	}{
		{nil, ErrBadCommand},
		{&Register{"a", a1}, ErrBadCommand},
		{(*ReleaseNode)(nil), ErrBadCommand},
		{Register{"", a1}, registry.ErrInvalidName},
		{Register{strings.Repeat("x", registry.MaxNameLen+1), a1}, registry.ErrInvalidName},
		{Register{"a", pid.PID{}}, registry.ErrInvalidPID},
		{Unregister{"a", pid.PID{Node: "n", Host: "h"}}, registry.ErrInvalidPID},
		{UnregisterIfOwned{"a", pid.PID{Host: "h", Seq: 1}}, registry.ErrInvalidPID},
		{ReleasePID{pid.PID{Node: "n", Seq: 1}}, registry.ErrInvalidPID},
		{ReleaseNode{strings.Repeat("n", registry.MaxNodeLen+1)}, registry.ErrInvalidPID},
	}
	for _, c := range cases {
		b, err := EncodeCommand(c.cmd)
		if !errors.Is(err, ErrBadCommand) || !errors.Is(err, c.want) || b != nil {
			t.Errorf("EncodeCommand(%#v) = %x, %v; want %v", c.cmd, b, err, c.want)
		}
	}
}

// enc builds test inputs byte by byte.
func enc(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case int:
			b = append(b, byte(p))
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		default:
			panic(fmt.Sprintf("enc: %T", p))
		}
	}
	return b
}

// fixstr is the shortest msgpack form of a string under 32 bytes.
func fixstr(s string) []byte { return append([]byte{0xa0 | byte(len(s))}, s...) }

func TestDecodeCommandRejects(t *testing.T) {
	good := enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 1) // Register{"a", {n@h|1}}
	if _, err := DecodeCommand(good); err != nil {
		t.Fatalf("the valid base input fails: %v", err)
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, nil},
		{"unknown op 0", enc(0, fixstr("a")), nil},
		{"unknown op 6", enc(6, fixstr("a")), nil},
		{"trailing byte", enc(good, 0), nil},
		{"str8 for a short string", enc(1, 0xd9, 1, "a", fixstr("n"), fixstr("h"), 1), nil},
		{"str16 for a short string", enc(1, 0xda, 0, 1, "a", fixstr("n"), fixstr("h"), 1), nil},
		{"uint8 for a small seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0xcc, 5), nil},
		{"uint64 for a small seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0xcf, 0, 0, 0, 0, 0, 0, 0, 9), nil},
		{"negative seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0xff), nil},
		{"int8 seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0xd0, 5), nil},
		{"nil seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0xc0), nil},
		{"bin name", enc(1, 0xc4, 1, "a", fixstr("n"), fixstr("h"), 1), nil},
		{"nil name", enc(1, 0xc0, fixstr("n"), fixstr("h"), 1), nil},
		{"integer name", enc(1, 1, fixstr("n"), fixstr("h"), 1), nil},
		{"array instead of fields", enc(1, 0x94, fixstr("a"), fixstr("n"), fixstr("h"), 1), nil},
		{"string longer than the input", enc(1, 0xda, 0x03, 0xff, "abc"), nil},
		{"str32 claiming 4 GiB", enc(1, 0xdb, 0xff, 0xff, 0xff, 0xff, "abc"), nil},
		{"name over the limit", enc(1, 0xda, 0x04, 0x01, strings.Repeat("x", 1025), fixstr("n"), fixstr("h"), 1), nil},
		{"over MaxCommandSize", make([]byte, MaxCommandSize+1), nil},
		{"empty name", enc(1, fixstr(""), fixstr("n"), fixstr("h"), 1), registry.ErrInvalidName},
		{"zero seq", enc(1, fixstr("a"), fixstr("n"), fixstr("h"), 0), registry.ErrInvalidPID},
		{"empty node", enc(4, fixstr(""), fixstr("h"), 1), registry.ErrInvalidPID},
		{"empty node to release", enc(5, fixstr("")), registry.ErrInvalidPID},
	}
	for _, c := range cases {
		got, err := DecodeCommand(c.in)
		if !errors.Is(err, ErrBadCommand) || got != nil {
			t.Errorf("%s: DecodeCommand(%x) = %#v, %v; want ErrBadCommand", c.name, c.in, got, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.want)
		}
	}
	// Every strict prefix of every valid command is refused.
	for _, cmd := range sampleCommands() {
		b, _ := EncodeCommand(cmd)
		for n := range len(b) {
			if got, err := DecodeCommand(b[:n]); err == nil {
				t.Fatalf("%v cut to %d of %d bytes decodes to %#v", cmd.Op(), n, len(b), got)
			}
		}
	}
}

// TestDecodeCommandHostileAlloc checks that a length claim is checked
// against the input before anything of that size is allocated.
func TestDecodeCommandHostileAlloc(t *testing.T) {
	inputs := [][]byte{
		enc(1, 0xdb, 0x7f, 0xff, 0xff, 0xff, "abc"),
		enc(1, 0xda, 0x04, 0x00, "abc"),
		enc(1, fixstr("a"), 0xd9, 0xff, "abc"),
	}
	const rounds = 200
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rounds {
		for _, in := range inputs {
			if _, err := DecodeCommand(in); err == nil {
				t.Fatal("hostile input accepted")
			}
		}
	}
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / (rounds * uint64(len(inputs)))
	if per > 1024 {
		t.Fatalf("%d bytes allocated per hostile decode, want well under the claimed lengths", per)
	}
}

func TestOpString(t *testing.T) {
	want := map[Op]string{
		OpRegister: "register", OpUnregister: "unregister", OpUnregisterIfOwned: "unregister-if-owned",
		OpReleasePID: "release-pid", OpReleaseNode: "release-node", OpBatch: "batch", 0: "Op(0)", 200: "Op(200)",
	}
	for op, s := range want {
		if op.String() != s {
			t.Errorf("Op(%d).String() = %q, want %q", op, op.String(), s)
		}
	}
}
