package node

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/entry"
)

// TestDebounce: a burst is acted on once the tree has been quiet for
// watchQuiet, or watchMax after its first change, whichever comes first.
func TestDebounce(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var d debounce
	if fire, wait := d.due(at(0)); fire || wait != 0 {
		t.Fatalf("nothing pending: %v %v", fire, wait)
	}
	d.change(at(0))
	d.change(at(50))
	if fire, wait := d.due(at(60)); fire || wait != 90*time.Millisecond {
		t.Fatalf("during the burst: %v %v", fire, wait)
	}
	if fire, _ := d.due(at(150)); !fire {
		t.Fatal("quiet for 100ms: not due")
	}
	if fire, wait := d.due(at(151)); fire || wait != 0 {
		t.Fatalf("after firing: %v %v", fire, wait)
	}
	// Changes every 50ms: due watchMax after the first.
	for ms := 0; ms < 2000; ms += 50 {
		d.change(at(1000 + ms))
		if fire, _ := d.due(at(1000 + ms)); fire {
			if ms != 1000 {
				t.Fatalf("a continuous burst fired after %dms, want %v", ms, watchMax)
			}
			return
		}
	}
	t.Fatal("a continuous burst never fired")
}

// TestReloadDiff: what a reload tells, from two trees.
func TestReloadDiff(t *testing.T) {
	base := map[string]string{
		"app.yaml": `version: "1.0"
namespace: app
entries:
  - {name: a, kind: library.lua, source: file://a.lua}
  - {name: b, kind: library.lua, source: file://b.lua, imports: {a: a}}
  - {name: top, kind: process.lua, source: file://top.lua, imports: {b: b}}
  - {name: alone, kind: process.lua, source: file://alone.lua}
  - {name: gone, kind: process.lua, source: file://alone.lua}
  - {name: h, kind: process.host}
`,
		"a.lua": "return 1", "b.lua": "return 2", "top.lua": "return {main = function() end}",
		"alone.lua": "return {main = function() end}",
	}
	load := func(change map[string]string) *entry.Registry {
		files := map[string]string{}
		for k, v := range base {
			files[k] = v
		}
		for k, v := range change {
			files[k] = v
		}
		dir := t.TempDir()
		for k, v := range files {
			writeFile(t, dir, k, v)
		}
		reg, err := entry.Load(dir, compileLua)
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	old := load(nil)
	ch := diff(old, load(map[string]string{
		"a.lua": "return 10",
		"app.yaml": base["app.yaml"][:len(base["app.yaml"])-len("  - {name: gone, kind: process.lua, source: file://alone.lua}\n  - {name: h, kind: process.host}\n")] +
			"  - {name: h, kind: process.host, host: {max_processes: 5}}\n",
	}))
	want := map[string]string{"app:a": "app:a", "app:b": "app:a app:b", "app:top": "app:a app:b app:top", "app:gone": "app:gone"}
	if len(ch.sources) != len(want) {
		t.Fatalf("sources %v", ch.sources)
	}
	for id, w := range want {
		if got := joinSpace(ch.sources[id]); got != w {
			t.Errorf("%s: %q, want %q", id, got, w)
		}
	}
	if len(ch.inactive) != 1 || ch.inactive[0] != "app:h" {
		t.Errorf("inactive %v", ch.inactive)
	}
	if ch := diff(old, load(nil)); len(ch.sources) != 0 || len(ch.inactive) != 0 {
		t.Errorf("the same tree again: %+v", ch)
	}
}

func joinSpace(l []string) string {
	s := ""
	for i, x := range l {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}
