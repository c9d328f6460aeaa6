package security

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestActionTable: every Action constant of action.go has exactly one row
// in the table, and every row is a constant.
func TestActionTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "action.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []Action
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
				continue
			}
			for _, v := range vs.Values {
				text, err := strconv.Unquote(v.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				consts = append(consts, Action(text))
			}
		}
	}
	if len(consts) < 20 {
		t.Fatalf("found %d Action constants in action.go, too few to be right", len(consts))
	}
	var rows []Action
	for _, r := range Actions() {
		if r.Resource == 0 {
			t.Errorf("%s: no resource", r.Action)
		}
		rows = append(rows, r.Action)
	}
	slices.Sort(consts)
	slices.Sort(rows)
	if !slices.Equal(consts, rows) {
		t.Fatalf("constants %v\ntable     %v", consts, rows)
	}
	if len(slices.Compact(rows)) != len(consts) {
		t.Fatal("an action has two rows")
	}
}

// TestActionsDocumented: docs/security.md lists every action in its table.
func TestActionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Actions() {
		if !strings.Contains(string(doc), "`"+string(r.Action)+"`") {
			t.Errorf("docs/security.md does not mention `%s`", r.Action)
		}
	}
}

// TestImportsLittle: the package is the bottom of the security stack; of
// this module it uses only PIDs, so the runtime, the Lua library, the test
// kit and the cluster can all use it.
func TestImportsLittle(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/wippyd/wippyd/"
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, module) && d != module+"runtime/security" && d != module+"runtime/pid" {
			t.Errorf("runtime/security depends on %s", d)
		}
	}
}
