package lua

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// The gopher-lua the module builds with is the one frame.go mirrors: an
// upgrade must move pinnedGopherLua after checking the mirror, not slip in
// with go get. (A test binary carries no dependency versions in its build
// info, so the go command is asked.)
func TestGopherLuaPinned(t *testing.T) {
	const path = "github.com/yuin/gopher-lua"
	out, err := exec.Command("go", "list", "-m", "-json", path).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	var m struct {
		Version string
		Replace *struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("go list -m: %v\n%s", err, out)
	}
	if m.Replace != nil {
		t.Fatalf("%s is replaced by %s %s: frame.go is checked against %s only", path, m.Replace.Path, m.Replace.Version, pinnedGopherLua)
	}
	if m.Version != pinnedGopherLua {
		t.Fatalf("%s is %s, frame.go is checked against %s: read callFrame and LState of the new version, then move pinnedGopherLua", path, m.Version, pinnedGopherLua)
	}
}

// The startup check accepts the pinned version.
func TestLayoutMatches(t *testing.T) {
	if err := checkLayout(); err != nil {
		t.Fatal(err)
	}
}
