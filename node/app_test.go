package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// LoadApp reports a Lua syntax error at its file and line, together with
// the tree's other problems, and hands the engine the compiled chunks.
func TestLoadAppCompilesLua(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"app.yaml": "version: \"1.0\"\nnamespace: app\nentries:\n" +
			"  - {name: bad, kind: process.lua, source: file://bad.lua}\n" +
			"  - {name: good, kind: process.lua, source: file://good.lua, modulez: [json]}\n",
		"bad.lua":  "local x = 1\nlocal function f(\n  return x\nend\n",
		"good.lua": "return {main = function() return 1 end}\n",
	}
	writeTree(t, dir, files)
	_, err := LoadApp(dir)
	want := []string{
		filepath.Join(dir, "app.yaml") + ":5: app:good: unknown field modulez (did you mean modules?)",
		filepath.Join(dir, "bad.lua") + ":3: app:bad: lua syntax error: syntax error near 'return'",
	}
	if err == nil || strings.Join(want, "\n") != err.Error() {
		t.Fatalf("LoadApp: %v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	files["app.yaml"] = strings.Replace(files["app.yaml"], "modulez", "modules", 1)
	files["bad.lua"] = files["good.lua"]
	writeTree(t, dir, files)
	app, err := LoadApp(dir)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := app.Get("app:good")
	if src := luaSource(good, good.Lua.Source); src.Chunk == nil {
		t.Fatal("the engine's source carries no compiled chunk")
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
