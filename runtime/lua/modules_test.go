package lua

import (
	"slices"
	"testing"
)

// Every module the engine has is one of Wippy's, and the globals are the
// docs' (SPEC: process, channel, errors, payload always global).
func TestModules(t *testing.T) {
	modules, globals := Modules()
	for _, m := range modules {
		if !slices.Contains(WippyModules(), m) {
			t.Errorf("module %s is not one of Wippy's", m)
		}
	}
	for _, m := range []string{"io", "json", "time"} {
		if !slices.Contains(modules, m) {
			t.Errorf("no module %s in %v", m, modules)
		}
	}
	for _, g := range []string{"process", "channel", "errors", "payload", "string", "table", "math", "coroutine", "os"} {
		if !slices.Contains(globals, g) {
			t.Errorf("no global %s in %v", g, globals)
		}
	}
	if !slices.IsSorted(WippyModules()) {
		t.Errorf("not sorted: %v", WippyModules())
	}
}
