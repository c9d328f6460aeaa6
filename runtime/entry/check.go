package entry

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// check runs the whole-tree checks: duplicate ids, references, policy
// groups and cycles.
func (l *loader) check() {
	index := map[string]*declared{}
	for _, d := range l.decls {
		if first, ok := index[d.id]; ok {
			d.duplicated = true
			l.probs = append(l.probs, Problem{File: d.file, Line: d.line, EntryID: d.id,
				Message: fmt.Sprintf("duplicate id, first defined at %s:%d", first.file, first.line)})
			continue
		}
		index[d.id] = d
	}
	for _, r := range l.refs {
		if msg := l.checkRef(index, r); msg != "" {
			l.probs = append(l.probs, Problem{File: r.from.File, Line: r.line, EntryID: r.from.ID,
				Message: r.what + ": " + msg})
		}
	}
	for _, g := range l.groups {
		if !l.inGroup[g.name] {
			l.probs = append(l.probs, Problem{File: g.from.File, Line: g.line, EntryID: g.from.ID,
				Message: fmt.Sprintf("%s: no security.policy is in group %q", g.what, clip(g.name))})
		}
	}
	entries := l.entries(index)
	l.cycles(entries, "requires", func(e *Entry) []string {
		if e.Service == nil {
			return nil
		}
		return e.Service.Requires
	})
	l.cycles(entries, "imports", func(e *Entry) []string {
		if e.Lua == nil {
			return nil
		}
		return slices.Sorted(maps.Values(e.Lua.Imports))
	})
}

func (l *loader) checkRef(index map[string]*declared, r ref) string {
	d, ok := index[r.id]
	switch {
	case !ok:
		ns, name, _ := strings.Cut(r.id, ":")
		var names []string
		for _, d := range index {
			if dns, dname, _ := strings.Cut(d.id, ":"); dns == ns && slices.Contains(r.kinds, d.kind) {
				names = append(names, dname)
			}
		}
		slices.Sort(names)
		if s := suggest(name, names); s != "" {
			return fmt.Sprintf("no entry %s (did you mean %s:%s?)", r.id, ns, s)
		}
		return "no entry " + r.id
	case d.skipped:
		return fmt.Sprintf("%s references skipped entry of kind %s", r.id, d.kind)
	case !slices.Contains(r.kinds, d.kind):
		return fmt.Sprintf("%s is a %s, want %s", r.id, d.kind, strings.Join(r.kinds, " or "))
	}
	return ""
}

// entries returns the implemented, non-duplicate entries by id.
func (l *loader) entries(index map[string]*declared) map[string]*Entry {
	out := make(map[string]*Entry, len(index))
	for id, d := range index {
		if d.entry != nil {
			out[id] = d.entry
		}
	}
	return out
}

// cycles reports each cycle of the graph edges draws over entries once,
// at its entry with the smallest id. Edges to unknown entries are ignored:
// they are reported as dangling references.
func (l *loader) cycles(entries map[string]*Entry, what string, edges func(*Entry) []string) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	seen := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, next := range edges(entries[id]) {
			if entries[next] == nil {
				continue
			}
			switch color[next] {
			case white:
				visit(next)
			case grey:
				cycle := slices.Clone(stack[slices.Index(stack, next):])
				start := slices.Index(cycle, slices.Min(cycle))
				cycle = append(cycle[start:], cycle[:start]...)
				cycle = append(cycle, cycle[0])
				key := strings.Join(cycle, " -> ")
				if !seen[key] {
					seen[key] = true
					e := entries[cycle[0]]
					l.probs = append(l.probs, Problem{File: e.File, Line: e.Line, EntryID: e.ID,
						Message: what + " cycle: " + key})
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, id := range slices.Sorted(maps.Keys(entries)) {
		if color[id] == white {
			visit(id)
		}
	}
}

// order lists entries so that each comes after everything edges names.
func order(entries map[string]*Entry, ids []string, edges func(*Entry) []string) []*Entry {
	done := map[string]bool{}
	var out []*Entry
	var visit func(id string)
	visit = func(id string) {
		if done[id] {
			return
		}
		done[id] = true
		for _, next := range edges(entries[id]) {
			if entries[next] != nil {
				visit(next)
			}
		}
		out = append(out, entries[id])
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}
