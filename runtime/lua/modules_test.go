package lua

import (
	"maps"
	"slices"
	"testing"
)

// The lists the entry loader checks modules: against are what the engine
// builds: a module added to the engine must be added to Modules (or the
// loader refuses entries that list it), and every one is Wippy's.
func TestModuleListsMatchTheEngine(t *testing.T) {
	eng, err := New(Config{Catalog: newCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(eng.lib.required)); !slices.Equal(got, Modules()) {
		t.Errorf("the engine's modules are %v, Modules() says %v", got, Modules())
	}
	built := slices.Sorted(maps.Keys(eng.lib.globals))
	for _, g := range Globals() {
		if !slices.Contains(built, g) {
			t.Errorf("Globals() lists %s, which the engine does not build (it has %v)", g, built)
		}
	}
	for _, g := range built {
		if !slices.Contains(Globals(), g) {
			t.Errorf("the engine builds the global %s, which Globals() does not list", g)
		}
	}
	for _, m := range Modules() {
		if !slices.Contains(WippyModules(), m) {
			t.Errorf("module %s is not one of Wippy's", m)
		}
	}
	for _, list := range [][]string{Modules(), Globals(), WippyModules()} {
		if !slices.IsSorted(list) {
			t.Errorf("not sorted: %v", list)
		}
	}
}
