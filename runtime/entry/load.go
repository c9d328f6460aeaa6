package entry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads every *.yaml and *.yml file under dir, recursively, skipping
// files and directories whose name starts with a dot, and compiles each Lua
// source file once with compile (nil: Lua code is read, not checked; bad
// code then fails where it is run). On any problem it returns a nil
// Registry and a *LoadErrors listing all of them.
//
// Nothing outside dir is read: a symbolic link is followed only while it
// stays inside dir (an entry file or a Lua source reached through one that
// leads out is an error), and a link to a directory is not walked (a
// warning says so). Only regular files are read (not pipes or devices),
// YAML files up to MaxYAMLFile bytes, Lua files up to MaxLuaFile.
func Load(dir string, compile CompileLua, opts ...Option) (*Registry, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &LoadErrors{Problems: []Problem{{File: dir, Message: err.Error()}}}
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, &LoadErrors{Problems: []Problem{{File: dir, Message: "cannot read: " + unwrapPath(err).Error()}}}
	}
	// The root stays open for Registry.Reload, for the registry's life.
	l := newLoader(root.FS(), compile,
		func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) },
		func(p string) string { return filepath.Join(abs, filepath.FromSlash(p)) }, opts)
	return l.run(".")
}

// LoadFS is Load for a file system: it reads the tree under root. Paths in
// problems and Source.Path are paths inside fsys.
func LoadFS(fsys fs.FS, root string, compile CompileLua, opts ...Option) (*Registry, error) {
	same := func(p string) string { return p }
	return newLoader(fsys, compile, same, same, opts).run(root)
}

// Option adjusts what a load checks.
type Option func(*loader)

// ModuleNames says what the modules: list of a Lua entry may name.
type ModuleNames struct {
	// Known names may be listed: require() loads them, or they are
	// always global and listing them changes nothing.
	Known []string
	// Unimplemented are modules of Wippy's Lua API the engine does not
	// have: listing one is a warning (require of it fails).
	Unimplemented []string
}

// WithModules checks every modules: list against names: a name neither
// Known nor Unimplemented is an error at the list's line, with the nearest
// Known name when it looks like a typo. Without it the lists are not
// checked (this package does not know the engine's modules).
func WithModules(names ModuleNames) Option {
	return func(l *loader) { l.modules = &names }
}

// declared is one entry declaration seen in the tree, implemented or not.
type declared struct {
	id, kind   string
	file       string
	line       int
	skipped    bool
	entry      *Entry // nil when skipped
	duplicated bool
}

// ref is a reference from an entry to another, checked once the whole tree
// is known.
type ref struct {
	from  *Entry
	line  int
	what  string // field path, e.g. "lifecycle.requires[1]"
	id    string
	kinds []string
}

// groupRef is a use of a policy group name.
type groupRef struct {
	from *Entry
	line int
	what string
	name string
}

type sourceResult struct {
	src Source
	err error
}

type loader struct {
	fsys    fs.FS
	compile CompileLua
	display func(string) string
	abs     func(string) string

	modules *ModuleNames // nil: modules: lists are not checked

	probs   []Problem
	warns   []Problem
	decls   []*declared
	refs    []ref
	groups  []groupRef
	inGroup map[string]bool
	sources map[string]sourceResult
}

func newLoader(fsys fs.FS, compile CompileLua, display, abs func(string) string, opts []Option) *loader {
	l := &loader{fsys: fsys, compile: compile, display: display, abs: abs,
		inGroup: map[string]bool{}, sources: map[string]sourceResult{}}
	for _, o := range opts {
		o(l)
	}
	return l
}

func (l *loader) run(root string) (*Registry, error) {
	err := fs.WalkDir(l.fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			l.probs = append(l.probs, Problem{File: l.display(p), Message: "cannot read: " + unwrapPath(err).Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := fs.Stat(l.fsys, p); err == nil && st.IsDir() {
				l.warns = append(l.warns, Problem{File: l.display(p), Message: "a symbolic link to a directory: not walked"})
				return nil
			}
		}
		ext := strings.ToLower(path.Ext(p))
		if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		l.file(p)
		return nil
	})
	if err != nil {
		l.probs = append(l.probs, Problem{File: l.display(root), Message: err.Error()})
	}
	l.check()
	if len(l.probs) > 0 {
		return nil, &LoadErrors{Problems: sortProblems(l.probs), Warnings: sortProblems(l.warns)}
	}
	return l.registry(), nil
}

// yamlLine matches the position yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^line (\d+): `)

func (l *loader) file(p string) {
	c := &checker{file: l.display(p), probs: &l.probs, budget: maxNodes}
	data, err := ReadFile(l.fsys, p, MaxYAMLFile)
	if err != nil {
		c.errorf(0, "cannot read: %v", unwrapPath(err))
		return
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := decode(dec, &doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			line, msg := yamlError(err)
			if at := problemLine(data, msg); at > 0 && at != line {
				msg = fmt.Sprintf("%s (in the block from line %d)", msg, line)
				line = at
			}
			c.errorf(line, "bad YAML: %s", strings.ReplaceAll(msg, "\n", "; "))
			return
		}
		l.document(c, p, &doc)
	}
}

// yamlError splits a yaml.v3 error into its line (0 when it gives none)
// and message.
func yamlError(err error) (int, string) {
	line, msg := 0, strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	return line, msg
}

// problemLine returns the line of data a YAML error with message msg is
// on, or 0. yaml.v3 reports the line where the block around the problem
// began (libyaml's context mark): a key indented one space too few on
// line 7 of an entries list is reported at line 3. The problem is on the
// first line whose end, when the file is cut there, makes the same error:
// a binary search, a few parses of the file. Past maxLineSearch bytes
// yaml.v3's line stands (a 4 MiB file took 5 s of CPU).
func problemLine(data []byte, msg string) int {
	if len(data) > maxLineSearch {
		return 0
	}
	ends := lineEnds(data)
	fails := func(k int) bool { // the first k lines fail with msg
		err := parseAll(data[:ends[k-1]])
		if err == nil {
			return false
		}
		_, m := yamlError(err)
		return m == msg
	}
	if len(ends) == 0 || !fails(len(ends)) {
		return 0
	}
	lo, hi := 1, len(ends) // fails(hi)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// maxLineSearch is the largest YAML file problemLine searches: about 20
// parses of it, a fraction of a second at 512 KiB.
const maxLineSearch = 512 << 10

// lineEnds returns the offset just past each line of data.
func lineEnds(data []byte) []int {
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// parseAll parses every document of data and returns the first error.
func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := decode(dec, &doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// decode runs the YAML decoder, turning a panic inside it into an error.
func decode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failure: %v", r)
		}
	}()
	return dec.Decode(n)
}

// namePattern is what namespaces and entry names may look like.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

func (l *loader) document(c *checker, p string, doc *yaml.Node) {
	root := deref(doc)
	if root == nil || root.Kind == yaml.DocumentNode || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return // an empty document
	}
	f := c.mapping(root, "")
	if f == nil {
		return
	}
	if v, line := f.str("version", false); f.has("version") && v != "1.0" && v != "1" {
		c.errorf(line, "unsupported version %q, want \"1.0\"", clip(v))
	}
	ns, line := f.str("namespace", true)
	if ns != "" && !namePattern.MatchString(ns) {
		c.errorf(line, "bad namespace %q (letters, digits, '_', '-', '.')", clip(ns))
		ns = ""
	}
	list, listLine := f.node("entries")
	if list == nil {
		f.missing("entries")
	} else if list.Kind != yaml.SequenceNode {
		f.wrongType("entries", listLine, "a list", list)
		list = nil
	}
	f.done()
	if ns == "" || list == nil {
		return
	}
	for _, item := range list.Content {
		l.entry(c, ns, p, item)
	}
}

// Wippy kinds are dot-separated lower-case words, e.g. db.sql.postgres.
var wippyKind = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

func implemented(kind string) bool {
	return slices.Contains(Kinds(), kind)
}

func (l *loader) entry(c *checker, ns, p string, node *yaml.Node) {
	c.id = ""
	defer func() { c.id = "" }()
	// The id goes on every problem of the entry, those found while
	// reading its mapping included.
	if name := peekName(node); namePattern.MatchString(name) {
		c.id = ns + ":" + name
	}
	f := c.mapping(node, "")
	if f == nil {
		return
	}
	name, nameLine := f.str("name", true)
	if name != "" && !namePattern.MatchString(name) {
		c.errorf(nameLine, "bad entry name %q (letters, digits, '_', '-', '.')", clip(name))
		return
	}
	if name != "" {
		c.id = ns + ":" + name // the name may come from a merge key
	}
	kind, kindLine := f.str("kind", true)
	if name == "" {
		return
	}
	d := &declared{id: c.id, kind: kind, file: c.file, line: f.line}
	switch {
	case kind == "":
		return
	case !implemented(kind) && !IsWippyKind(kind) && suggest(kind, Kinds()) != "":
		c.errorf(kindLine, "unknown kind %s (did you mean %s?)", kind, suggest(kind, Kinds()))
		return
	case !implemented(kind) && wippyKind.MatchString(kind):
		msg := fmt.Sprintf("kind %s is not implemented by wippyd; entry skipped", kind)
		if s := suggest(kind, wippyKinds); s != "" && !IsWippyKind(kind) {
			msg = fmt.Sprintf("kind %s is not implemented by wippyd (did you mean %s?); entry skipped", kind, s)
		}
		l.warns = append(l.warns, Problem{File: c.file, Line: kindLine, EntryID: c.id, Message: msg})
		d.skipped = true
		l.decls = append(l.decls, d)
		return
	case !implemented(kind):
		c.errorf(kindLine, "unknown kind %q", clip(kind))
		return
	}
	e := &Entry{ID: c.id, Namespace: ns, Name: name, Kind: kind, File: c.file, Line: f.line}
	e.Meta, _, _ = f.value("meta")
	d.entry = e
	l.decls = append(l.decls, d)
	k := kindReader{l: l, c: c, f: f, e: e, ns: ns, yamlPath: p}
	switch kind {
	case KindProcessLua, KindLibraryLua:
		k.lua()
	case KindProcessHost, KindTerminalHost:
		k.host()
	case KindService:
		k.service()
	case KindPolicy, KindPolicyExpr:
		k.policy()
	case KindEnvVariable:
		k.env()
	case KindPGScope:
		k.pgScope()
	}
	f.done()
}

// resolve turns a reference into a full id: a bare name means ns.
func resolve(ns, r string) (string, bool) {
	if before, after, ok := strings.Cut(r, ":"); ok {
		return r, namePattern.MatchString(before) && namePattern.MatchString(after)
	}
	return ns + ":" + r, namePattern.MatchString(r)
}

// peekName returns the scalar under key "name" of a mapping node, or "".
func peekName(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := deref(n.Content[i]), deref(n.Content[i+1]); k != nil && v != nil &&
			k.Kind == yaml.ScalarNode && k.Value == "name" && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}
