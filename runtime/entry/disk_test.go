package entry

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, s := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDiskAndReload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app.yaml":         head + "  - {name: w, kind: process.lua, source: file://lua/w.lua}\n  - {name: port, kind: env.variable, variable: PORT}\n",
		"lua/w.lua":        "return {main = function() return 1 end}\n",
		".git/cfg.yaml":    "not: [valid",
		"notes/readme.txt": "hello",
	})
	r, err := Load(dir, compileLua)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	w, ok := r.Get("app:w")
	if !ok {
		t.Fatal("app:w missing")
	}
	old := w.Lua.Source
	wantPath := filepath.Join(dir, "lua", "w.lua")
	if old.Path != wantPath || !filepath.IsAbs(old.Path) || old.Name != wantPath {
		t.Errorf("path = %q name = %q, want %q", old.Path, old.Name, wantPath)
	}

	// Unchanged file: same hash.
	same, err := r.Reload("app:w")
	if err != nil || same.Hash != old.Hash || same.Compiled == nil || same.URI != old.URI || same.Path != old.Path {
		t.Fatalf("Reload unchanged = %+v, %v", same, err)
	}

	// New code: new hash, registry untouched.
	writeFiles(t, dir, map[string]string{"lua/w.lua": "return {main = function() return 2 end}\n"})
	src, err := r.Reload("app:w")
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if src.Hash == old.Hash || !strings.Contains(string(src.Code), "return 2") || src.Compiled == nil {
		t.Errorf("Reload = %+v", src)
	}
	if w2, _ := r.Get("app:w"); w2.Lua.Source.Hash != old.Hash {
		t.Error("Reload changed the registry")
	}

	// Broken code: a problem at the Lua line.
	writeFiles(t, dir, map[string]string{"lua/w.lua": "return {\nmain = function( return 2 end}\n"})
	_, err = r.Reload("app:w")
	var le *LoadErrors
	if !errors.As(err, &le) || len(le.Problems) != 1 {
		t.Fatalf("Reload broken: %v", err)
	}
	want := wantPath + ":2: app:w: lua syntax error: syntax error near 'return'"
	if got := le.Error(); got != want {
		t.Errorf("Reload broken = %q, want %q", got, want)
	}

	// Missing file: a problem at the entry.
	if err := os.Remove(filepath.Join(dir, "lua", "w.lua")); err != nil {
		t.Fatal(err)
	}
	_, err = r.Reload("app:w")
	want = filepath.Join(dir, "app.yaml") + ":4: app:w: source file " + wantPath + " not found"
	if err == nil || err.Error() != want {
		t.Errorf("Reload missing = %v, want %s", err, want)
	}

	if _, err := r.Reload("app:nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Reload unknown = %v, want ErrNotFound", err)
	}
	if _, err := r.Reload("app:port"); !errors.Is(err, ErrNotLua) {
		t.Errorf("Reload env = %v, want ErrNotLua", err)
	}
}

func TestLoadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load(dir, compileLua)
	var le *LoadErrors
	if !errors.As(err, &le) || len(le.Problems) != 1 || !strings.HasPrefix(le.Error(), dir+": cannot read: ") {
		t.Fatalf("Load missing dir = %v", err)
	}
}

func TestLoadShapes(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		ids   []string
	}{
		{name: "empty tree", files: map[string]string{"x.txt": "hi"}},
		{name: "empty and comment-only files", files: map[string]string{"a.yaml": "", "b.yaml": "# nothing\n", "c.yaml": "---\n"}},
		{
			name: "multiple documents",
			files: map[string]string{"a.yaml": head + "  - {name: a, kind: env.variable, default: x}\n---\n" +
				"version: \"1.0\"\nnamespace: other\nentries:\n  - {name: a, kind: env.variable, default: y}\n"},
			ids: []string{"app:a", "other:a"},
		},
		{
			name: "anchors and merge keys",
			files: map[string]string{"a.yaml": head +
				"  - name: h\n    kind: process.host\n    lifecycle: &auto {auto_start: true}\n" +
				"  - {name: p, kind: process.lua, source: file://p.lua, modules: &mods [time, json]}\n" +
				"  - &svc\n    name: s1\n    kind: process.service\n    process: p\n    host: h\n    lifecycle:\n      <<: *auto\n      stop_timeout: 1s\n" +
				"  - <<: *svc\n    name: s2\n    input: *mods\n",
				"p.lua": "return {}"},
			ids: []string{"app:h", "app:p", "app:s1", "app:s2"},
		},
		{
			name:  "version forms",
			files: map[string]string{"a.yaml": "version: 1.0\nnamespace: a\nentries: []\n", "b.yaml": "namespace: b\nentries: []\n"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustLoad(t, tree(tc.files))
			if got := ids(r.All()); !slices.Equal(got, tc.ids) && (len(got) != 0 || len(tc.ids) != 0) {
				t.Errorf("ids = %v, want %v", got, tc.ids)
			}
		})
	}
}

func TestLoadAnchorsValues(t *testing.T) {
	r := mustLoad(t, tree(map[string]string{"a.yaml": head +
		"  - name: h\n    kind: process.host\n    lifecycle: &auto {auto_start: true}\n" +
		"  - {name: p, kind: process.lua, source: file://p.lua}\n" +
		"  - &svc\n    name: s1\n    kind: process.service\n    process: p\n    host: h\n    lifecycle:\n      <<: *auto\n      stop_timeout: 1s\n" +
		"  - <<: *svc\n    name: s2\n    input: [!!binary aGk=, 2024-01-02, 0x10]\n",
		"p.lua": "return {}"}))
	s1, _ := r.Get("app:s1")
	s2, _ := r.Get("app:s2")
	if !s1.Service.AutoStart || s1.Service.StopTimeout.Seconds() != 1 {
		t.Errorf("s1 = %+v", *s1.Service)
	}
	if !s2.Service.AutoStart || s2.Service.Process != "app:p" || s2.Line != 16 {
		t.Errorf("s2 = %+v line %d", *s2.Service, s2.Line)
	}
	if got := s2.Service.Input; len(got) != 3 {
		t.Fatalf("input = %v", got)
	}
	if b, ok := s2.Service.Input[0].AsBytes(); !ok || string(b) != "hi" {
		t.Errorf("binary = %v", s2.Service.Input[0])
	}
	if s, ok := s2.Service.Input[1].AsString(); !ok || s != "2024-01-02" {
		t.Errorf("timestamp = %v", s2.Service.Input[1])
	}
	if i, ok := s2.Service.Input[2].AsInt(); !ok || i != 16 {
		t.Errorf("hex int = %v", s2.Service.Input[2])
	}
}

func TestServicesOrder(t *testing.T) {
	svc := func(name string, requires ...string) string {
		return "  - {name: " + name + ", kind: process.service, process: p, host: h, lifecycle: {requires: [" +
			strings.Join(requires, ", ") + "]}}\n"
	}
	r := mustLoad(t, tree(map[string]string{
		"a.yaml": head + hostEntry + procEntry +
			svc("web", "api", "cache") + svc("api", "db", "queue") + svc("db") + svc("cache") +
			svc("queue", "db") + svc("batch", "queue") + svc("zeta"),
		"p.lua": "return {}",
	}))
	got := ids(r.Services())
	want := []string{"app:db", "app:queue", "app:api", "app:batch", "app:cache", "app:web", "app:zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	pos := map[string]int{}
	for i, id := range got {
		pos[id] = i
	}
	for _, e := range r.Services() {
		for _, dep := range e.Service.Requires {
			if pos[dep] >= pos[e.ID] {
				t.Errorf("%s comes before its requirement %s", e.ID, dep)
			}
		}
	}
}

// Nothing outside the tree is read: a symbolic link that leads out of it,
// to an entry file, a Lua source or through a directory, is an error; one
// inside it is followed; a link to a directory is not walked. Pipes and
// devices are refused instead of read forever, and so are files past
// their size bound.
func TestLoadStaysInsideTheTree(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{
		"evil.yaml": head + "  - {name: evil, kind: process.lua, source: file://evil.lua}\n",
		"evil.lua":  "return {main = function() return 'outside' end}\n",
		"lib/x.lua": "return {main = function() return 'outside' end}\n",
	})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app.yaml": head + "  - {name: a, kind: process.lua, source: file://a.lua}\n" +
			"  - {name: b, kind: process.lua, source: file://ext/x.lua}\n" +
			"  - {name: c, kind: process.lua, source: file://in.lua}\n",
		"real/in.lua": "return {main = function() return 'inside' end}\n",
	})
	links := map[string]string{
		"a.lua":       filepath.Join(outside, "evil.lua"),
		"ext":         filepath.Join(outside, "lib"),
		"in.lua":      "real/in.lua",
		"evil.yaml":   filepath.Join(outside, "evil.yaml"),
		"zero.yaml":   "/dev/zero",
		"shared":      "real",
		"sub/up.yaml": "../../" + filepath.Base(outside) + "/evil.yaml",
	}
	for name, target := range links {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"big.yaml": "# " + strings.Repeat("x", MaxYAMLFile) + "\n"})
	_, err := loadWithin(t, dir)
	var le *LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]string{}
	for _, p := range le.Problems {
		got[filepath.Base(p.File)] = p.Message
	}
	for file, want := range map[string]string{
		"app.yaml":  "escapes", // a.lua and ext/x.lua
		"evil.yaml": "cannot read: path escapes from parent",
		"up.yaml":   "cannot read: path escapes from parent",
		"zero.yaml": "cannot read: path escapes from parent",
		"pipe.yaml": "cannot read: not a regular file: a named pipe",
		"big.yaml":  "cannot read: file too large",
	} {
		if !strings.Contains(got[file], want) {
			t.Errorf("%s: problem %q, want %q", file, got[file], want)
		}
	}
	if n := strings.Count(le.Error(), "escapes from parent"); n != 5 {
		t.Errorf("%d escapes reported, want 5:\n%v", n, le)
	}
	if strings.Contains(le.Error(), "in.lua") || strings.Contains(le.Error(), "outside") {
		t.Errorf("a link inside the tree was refused, or code outside it read:\n%v", le)
	}
	if !slices.ContainsFunc(le.Warnings, func(p Problem) bool {
		return filepath.Base(p.File) == "shared" && strings.Contains(p.Message, "not walked")
	}) {
		t.Errorf("no warning for the directory link: %v", le.Warnings)
	}
}

// loadWithin runs Load with a deadline: a hostile tree must give errors
// promptly, never hang the loader.
func loadWithin(t *testing.T, dir string) (*Registry, error) {
	t.Helper()
	type result struct {
		r   *Registry
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := Load(dir, compileLua)
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		return r.r, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Load still running after 10s")
		return nil, nil
	}
}
