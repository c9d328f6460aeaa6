package wire_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/cluster/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/messages.golden")

const goldenFile = "testdata/messages.golden"

// TestGolden pins the bytes of every sample message: a change to the wire
// format shows up here, and old bytes must keep decoding to the same
// message. Regenerate with -update only for a deliberate, versioned change.
func TestGolden(t *testing.T) {
	e, d := wire.NewEncoder(), wire.NewDecoder()
	var out bytes.Buffer
	out.WriteString("# cluster/wire sample messages: name, then the body in hex (nodes n1 -> n2).\n")
	for _, s := range samples() {
		body, err := encode(e, s.msg)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%s %s\n", s.name, hex.EncodeToString(body))
	}
	if *update {
		if err := os.WriteFile(goldenFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("encoding differs from %s:\n got:\n%s\nwant:\n%s", goldenFile, out.Bytes(), want)
	}
	golden := readGolden(t, want)
	for _, s := range samples() {
		body, ok := golden[s.name]
		if !ok {
			t.Errorf("%s missing from %s", s.name, goldenFile)
			continue
		}
		got, err := decode(d, body, s.msg)
		if err != nil {
			t.Errorf("%s: decode golden bytes: %v", s.name, err)
			continue
		}
		if !reflect.DeepEqual(got, s.msg) {
			t.Errorf("%s: golden bytes decode to\n%#v\nwant\n%#v", s.name, got, s.msg)
		}
	}
}

func readGolden(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad golden line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			t.Fatalf("bad golden hex for %s: %v", name, err)
		}
		out[name] = b
	}
	return out
}
