package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wippyd/wippyd"

// goList runs go list with template f over pattern and returns one line per
// package, failing on fewer than least lines (too little to be right).
func goList(t *testing.T, least int, f string, pattern ...string) []string {
	t.Helper()
	args := append([]string{"list", "-f", f}, pattern...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < least {
		t.Fatalf("go list returned too little to be right: %v", lines)
	}
	return lines
}

// under reports whether package p is path or inside it.
func under(p, path string) bool { return p == path || strings.HasPrefix(p, path+"/") }

// The runtime is a complete single-node runtime: nothing under runtime/
// may import membership, Raft, the benchmarks, or this module's cluster,
// transport, registry or node packages (DESIGN.md section 1).
func TestRuntimeImportsNoClusterCode(t *testing.T) {
	forbidden := []string{
		"github.com/hashicorp/memberlist", "github.com/hashicorp/raft",
		module + "/cluster", module + "/transport", module + "/registry", module + "/node", module + "/bench",
	}
	for _, d := range goList(t, 10, "{{.ImportPath}}", "-deps", module+"/runtime/...") {
		for _, f := range forbidden {
			if under(d, f) {
				t.Errorf("runtime/... depends on %s", d)
			}
		}
	}
}

// Only the Lua engine (runtime/lua/...) imports gopher-lua: the loader and
// everything else reach Lua through it, so the unsafe reads of
// gopher-lua's internals (runtime/lua/frame.go) have one owner.
func TestOnlyLuaEngineImportsGopherLua(t *testing.T) {
	for _, line := range goList(t, 10, "{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}", module+"/...") {
		p, imports, _ := strings.Cut(line, ":")
		if under(p, module+"/runtime/lua") {
			continue
		}
		for _, i := range strings.Fields(imports) {
			if under(i, "github.com/yuin/gopher-lua") {
				t.Errorf("%s imports %s", p, i)
			}
		}
	}
}

// The benchmark suite sits above the product: no package depends on it
// but the command that runs it (`wippyd bench`).
func TestNothingDependsOnBench(t *testing.T) {
	for _, line := range goList(t, 10, "{{.ImportPath}}:{{range .Deps}} {{.}}{{end}}", module+"/...") {
		p, deps, _ := strings.Cut(line, ":")
		if under(p, module+"/bench") || p == module+"/cmd/wippyd" {
			continue
		}
		for _, d := range strings.Fields(deps) {
			if under(d, module+"/bench") {
				t.Errorf("%s depends on %s", p, d)
			}
		}
	}
}

// The registry packages use the runtime's value types (pid, msg, proc) and
// not the runtime itself: package node asserts that raftreg's registries
// are runtime.NameServices.
func TestRegistryDoesNotImportRuntime(t *testing.T) {
	for _, d := range goList(t, 10, "{{.ImportPath}}", "-deps", module+"/registry/...") {
		if d == module+"/runtime" {
			t.Errorf("registry/... depends on %s", d)
		}
	}
}

// The module's internal packages are leaves every layer may use: they
// import nothing else of the module.
func TestInternalIsALeaf(t *testing.T) {
	for _, line := range goList(t, 1, "{{.ImportPath}}:{{range .Deps}} {{.}}{{end}}", module+"/internal/...") {
		p, deps, _ := strings.Cut(line, ":")
		for _, d := range strings.Fields(deps) {
			if under(d, module) && !under(d, module+"/internal") {
				t.Errorf("%s depends on %s", p, d)
			}
		}
	}
}
