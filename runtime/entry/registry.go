package entry

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
)

// Registry is a loaded, validated source tree. It does not change after
// Load and is safe for concurrent use.
type Registry struct {
	fsys     fs.FS
	compile  CompileLua // what Load compiled Lua sources with, for Reload
	byID     map[string]*Entry
	all      []*Entry // by id
	byKind   map[string][]*Entry
	services []*Entry // dependency order
	skipped  map[string]string
	warnings []Problem
}

func (l *loader) registry() *Registry {
	r := &Registry{fsys: l.fsys, compile: l.compile, byID: map[string]*Entry{}, byKind: map[string][]*Entry{},
		skipped: map[string]string{}, warnings: sortProblems(l.warns)}
	for _, d := range l.decls {
		if d.skipped {
			r.skipped[d.id] = d.kind
		} else {
			r.byID[d.id] = d.entry
		}
	}
	ids := slices.Sorted(maps.Keys(r.byID))
	var services []string
	for _, id := range ids {
		e := r.byID[id]
		r.all = append(r.all, e)
		r.byKind[e.Kind] = append(r.byKind[e.Kind], e)
		if e.Service != nil {
			services = append(services, id)
		}
	}
	r.services = order(r.byID, services, func(e *Entry) []string { return e.Service.Requires })
	return r
}

// Get returns the entry with the full id.
func (r *Registry) Get(id string) (*Entry, bool) {
	e, ok := r.byID[id]
	return e, ok
}

// All returns every entry, sorted by id.
func (r *Registry) All() []*Entry { return slices.Clone(r.all) }

// ByKind returns the entries of kind, sorted by id.
func (r *Registry) ByKind(kind string) []*Entry { return slices.Clone(r.byKind[kind]) }

// Services returns the process.service entries in dependency order: each
// after every service it requires; otherwise by id. Stop them in reverse.
func (r *Registry) Services() []*Entry { return slices.Clone(r.services) }

// Warnings lists what loads but will not work as written, sorted by file
// and line: entries skipped because wippyd does not implement their kind
// (one per entry), modules it does not implement (WithModules).
func (r *Registry) Warnings() []Problem { return slices.Clone(r.warnings) }

// Skipped returns the kind of a skipped entry.
func (r *Registry) Skipped(id string) (kind string, ok bool) {
	kind, ok = r.skipped[id]
	return kind, ok
}

// Reload reads the source of the Lua entry id again from where it was
// loaded, and compiles it with the CompileLua given to Load: the new code
// for a hot upgrade. It leaves the
// Registry unchanged. A syntax error, or a file that cannot be read, is a
// *LoadErrors with one problem.
func (r *Registry) Reload(id string) (Source, error) {
	e, ok := r.byID[id]
	if !ok {
		return Source{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if e.Lua == nil {
		return Source{}, fmt.Errorf("%w: %s is a %s", ErrNotLua, id, e.Kind)
	}
	old := e.Lua.Source
	src, err := readSource(r.fsys, r.compile, old.URI, old.fsPath, old.Name, old.Path)
	var ce *CodeError
	switch {
	case errors.As(err, &ce):
		return Source{}, &LoadErrors{Problems: sortProblems([]Problem{{File: old.Name, Line: ce.Line, EntryID: id, Message: ce.Message}})}
	case err != nil:
		return Source{}, &LoadErrors{Problems: sortProblems([]Problem{{File: e.File, Line: e.Line, EntryID: id, Message: err.Error()}})}
	}
	return src, nil
}
