package entry

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/lua"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenBrokenTree loads a tree with many kinds of mistakes from disk
// and compares everything reported with testdata/broken.golden.
func TestGoldenBrokenTree(t *testing.T) {
	dir := filepath.Join("testdata", "broken")
	modules, globals := lua.Modules()
	_, err := Load(dir, compileLua, WithModules(ModuleNames{Known: append(modules, globals...), Unimplemented: lua.WippyModules()}))
	var le *LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("Load: %v, want *LoadErrors", err)
	}
	var b strings.Builder
	b.WriteString(le.Error())
	b.WriteString("\n-- warnings --\n")
	for _, w := range le.Warnings {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	got := b.String()
	golden := filepath.Join("testdata", "broken.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (-update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}
