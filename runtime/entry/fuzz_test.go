package entry

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wippyd/wippyd/runtime/security"
)

// FuzzLoad loads one fuzzed YAML file beside fixed Lua files and a fixed
// library file. It must not panic; a failure must be a well-formed
// *LoadErrors; a success must satisfy the Registry invariants.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(fullApp))
	f.Add([]byte(head + hostEntry + procEntry))
	f.Add([]byte(head + "  - {name: s, kind: process.service, process: p, host: h, input: &a [*a]}\n"))
	f.Add([]byte(head + "  - {<<: [{name: x}, {kind: env.variable}], default: 1}\n"))
	for _, name := range []string{"testdata/broken/app/main.yaml", "testdata/broken/app/workers/pool.yaml"} {
		if b, err := os.ReadFile(filepath.FromSlash(name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"app/app.yaml":     {Data: data},
			"app/worker.lua":   {Data: []byte(goodLua)},
			"app/p.lua":        {Data: []byte("return {}\n")},
			"app/lib/util.lua": {Data: []byte("return {}\n")},
			"app/bad.lua":      {Data: []byte("local x = \n")},
			"lib/lib.yml":      {Data: []byte(libApp)},
			"lib/strings.lua":  {Data: []byte("return {}\n")},
		}
		r, err := LoadFS(fsys, ".", compileLua)
		if err != nil {
			checkLoadErrors(t, fsys, err)
			return
		}
		checkRegistry(t, r)
	})
}

func checkLoadErrors(t *testing.T, fsys fstest.MapFS, err error) {
	var le *LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("error %T %v, want *LoadErrors", err, err)
	}
	if len(le.Problems) == 0 {
		t.Fatal("LoadErrors with no problems")
	}
	for _, ps := range [][]Problem{le.Problems, le.Warnings} {
		if !slices.IsSortedFunc(ps, compareProblems) {
			t.Errorf("problems not sorted: %v", ps)
		}
		for _, p := range ps {
			if _, ok := fsys[p.File]; !ok {
				t.Errorf("problem in unknown file: %q", p)
			}
			if p.Line < 0 || p.Message == "" || strings.ContainsAny(p.String(), "\n\r") {
				t.Errorf("malformed problem %q", p)
			}
		}
	}
	if got := strings.Count(le.Error(), "\n") + 1; got != len(le.Problems) {
		t.Errorf("Error() has %d lines for %d problems", got, len(le.Problems))
	}
}

func checkRegistry(t *testing.T, r *Registry) {
	kindOf := func(id string) string {
		if e, ok := r.Get(id); ok {
			return e.Kind
		}
		return ""
	}
	for _, e := range r.All() {
		if e.ID != e.Namespace+":"+e.Name || e.Line <= 0 {
			t.Errorf("bad entry header %+v", e)
		}
		var sec []Security
		switch {
		case e.Lua != nil:
			if e.Lua.Source.Compiled == nil || len(e.Lua.Source.Hash) != 64 {
				t.Errorf("%s: source not compiled", e.ID)
			}
			for alias, id := range e.Lua.Imports {
				if kindOf(id) != KindLibraryLua {
					t.Errorf("%s: import %s -> %s (%s)", e.ID, alias, id, kindOf(id))
				}
			}
		case e.Service != nil:
			s := e.Service
			if kindOf(s.Process) != KindProcessLua || (kindOf(s.Host) != KindProcessHost && kindOf(s.Host) != KindTerminalHost) {
				t.Errorf("%s: process %s host %s", e.ID, s.Process, s.Host)
			}
			for _, id := range s.Requires {
				if kindOf(id) != KindService {
					t.Errorf("%s: requires %s", e.ID, id)
				}
			}
			if s.StartTimeout <= 0 || s.StopTimeout <= 0 || s.Restart.MaxDelay < s.Restart.InitialDelay ||
				s.Restart.BackoffFactor < 1 || s.Restart.Jitter < 0 || s.Restart.Jitter > 1 {
				t.Errorf("%s: bad lifecycle %+v", e.ID, s)
			}
			sec = append(sec, s.Security)
		case e.Host != nil:
			sec = append(sec, e.Host.Security)
		case e.Policy != nil:
			if eff := e.Policy.Effect(); eff != security.Allow && eff != security.Deny || e.Policy.ID() != e.ID {
				t.Errorf("%s: effect %q, id %q", e.ID, eff, e.Policy.ID())
			}
		case e.Env != nil:
		default:
			t.Errorf("%s: no kind data", e.ID)
		}
		for _, s := range sec {
			for _, id := range s.Policies {
				if kindOf(id) != KindPolicy {
					t.Errorf("%s: policy %s", e.ID, id)
				}
			}
		}
	}
	pos := map[string]int{}
	for i, e := range r.Services() {
		pos[e.ID] = i
	}
	if len(pos) != len(r.ByKind(KindService)) {
		t.Errorf("Services() has %d entries, ByKind %d", len(pos), len(r.ByKind(KindService)))
	}
	for _, e := range r.Services() {
		for _, dep := range e.Service.Requires {
			if pos[dep] >= pos[e.ID] {
				t.Errorf("%s before its requirement %s", e.ID, dep)
			}
		}
	}
	for _, w := range r.Warnings() {
		if w.EntryID == "" || w.Line <= 0 || strings.ContainsAny(w.String(), "\n\r") {
			t.Errorf("malformed warning %q", w)
		}
	}
}
