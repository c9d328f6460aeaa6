package node

import (
	"crypto/sha256"
	"errors"
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/wippyd/wippyd/runtime/entry"
)

// Hot reload (`wippyd run --watch`, node.watch): the source tree is loaded
// again with the entry loader, and when it loads, its Lua entries are
// served from then on and every upgradable process running code that
// changed (or imports code that changed) is told with an OUTDATED event.
// A tree that does not load changes nothing: the running code stays and
// each problem is logged as file:line. Entries of other kinds (hosts,
// services, policies, env) are read but not applied; a change to one is
// logged as taking effect at the next start.

// changes is what one reload found: per Lua entry of the new tree whose
// code, or code it imports, changed, the ids of its import closure that
// changed or are affected (the OUTDATED event's sources); and the entries
// of other kinds whose definition changed.
type changes struct {
	sources  map[string][]string
	inactive []string
}

// diff compares two loaded trees (a pure function of the two).
func diff(old, cur *entry.Registry) changes {
	changed := map[string]bool{}
	var inactive []string
	for _, e := range cur.All() {
		was, ok := old.Get(e.ID)
		switch {
		case e.Lua != nil && ok && !sameLua(was, e):
			changed[e.ID] = true
		case e.Lua == nil && (!ok || !sameEntry(was, e)):
			inactive = append(inactive, e.ID)
		}
	}
	for _, e := range old.All() {
		if _, ok := cur.Get(e.ID); !ok {
			if e.Lua != nil {
				changed[e.ID] = true
			} else {
				inactive = append(inactive, e.ID)
			}
		}
	}
	return changes{sources: outdatedSources(cur, changed), inactive: inactive}
}

// sameLua reports whether two versions of a Lua entry run the same code.
func sameLua(a, b *entry.Entry) bool {
	return a.Kind == b.Kind && b.Lua != nil && a.Lua.Source.Hash == b.Lua.Source.Hash &&
		a.Lua.Method == b.Lua.Method && slices.Equal(a.Lua.Modules, b.Lua.Modules) &&
		maps.Equal(a.Lua.Imports, b.Lua.Imports)
}

// sameEntry reports whether an entry of another kind is unchanged.
func sameEntry(a, b *entry.Entry) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Policy != nil && b.Policy != nil {
		return reflect.DeepEqual(a.Policy.Spec(), b.Policy.Spec())
	}
	return reflect.DeepEqual(a.Host, b.Host) && reflect.DeepEqual(a.Service, b.Service) && reflect.DeepEqual(a.Env, b.Env)
}

// outdatedSources maps every Lua entry of reg that changed or imports
// (transitively) one that did to the ids of its import closure, itself
// included, that did either: what its OUTDATED event lists. Removed
// entries (changed, not in reg) map to themselves.
func outdatedSources(reg *entry.Registry, changed map[string]bool) map[string][]string {
	closure := map[string][]string{}
	var walk func(id string, seen map[string]bool)
	walk = func(id string, seen map[string]bool) {
		if seen[id] {
			return
		}
		seen[id] = true
		if e, ok := reg.Get(id); ok && e.Lua != nil {
			for _, imp := range e.Lua.Imports {
				walk(imp, seen)
			}
		}
	}
	affected := map[string]bool{}
	for _, e := range reg.All() {
		if e.Lua == nil {
			continue
		}
		seen := map[string]bool{}
		walk(e.ID, seen)
		ids := slices.Sorted(maps.Keys(seen))
		closure[e.ID] = ids
		for _, id := range ids {
			if changed[id] {
				affected[e.ID] = true
			}
		}
	}
	out := map[string][]string{}
	for id := range affected {
		for _, c := range closure[id] {
			if affected[c] || changed[c] {
				out[id] = append(out[id], c)
			}
		}
	}
	for id := range changed {
		if _, ok := reg.Get(id); !ok {
			out[id] = []string{id}
		}
	}
	return out
}

// compileCache keeps the compiled chunk of every source of the last load,
// keyed by its name and content: a reload compiles only what changed.
type compileCache struct {
	mu   sync.Mutex
	last map[[sha256.Size]byte]any // chunks of the last load
	next map[[sha256.Size]byte]any // chunks of the load in progress
}

// compile is an entry.CompileLua that reuses the last load's chunks.
func (c *compileCache) compile(code []byte, name string) (any, error) {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write(code)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	ch, ok := c.last[key]
	c.mu.Unlock()
	if !ok {
		var err error
		if ch, err = compileLua(code, name); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	if c.next != nil { // nil outside a load (process.upgrade(nil) re-reading one file)
		c.next[key] = ch
	}
	c.mu.Unlock()
	return ch, nil
}

// begin starts a load; end keeps its chunks (ok) or the last load's.
func (c *compileCache) begin() {
	c.mu.Lock()
	c.next = map[[sha256.Size]byte]any{}
	c.mu.Unlock()
}

func (c *compileCache) end(ok bool) {
	c.mu.Lock()
	if ok {
		c.last = c.next
	}
	c.next = nil
	c.mu.Unlock()
}

// reload loads the source tree again and applies it (see the top of this
// file). It runs on the watcher's goroutine, never on a worker: what it
// tells processes only takes a lock and queues a wake-up.
func (n *Node) reload(cache *compileCache) error {
	cache.begin()
	reg, err := entry.Load(n.srcDir, cache.compile)
	cache.end(err == nil)
	if err != nil {
		var le *entry.LoadErrors
		if errors.As(err, &le) {
			for _, p := range le.Problems {
				n.log.Error("reload: the source tree has a problem; the running code stays", "problem", p.String())
			}
		} else {
			n.log.Error("reload: the source tree could not be read; the running code stays", "err", err)
		}
		return err
	}
	ch := diff(n.luaCat.registry(), reg)
	n.luaCat.swap(reg)
	for _, id := range ch.inactive {
		n.log.Warn("reload: only Lua code is reloaded; this change takes effect at the next start", "entry", id)
	}
	woken := n.lua.Outdate(ch.sources)
	for _, p := range woken {
		n.rt.Wake(p)
	}
	n.log.Info("reload: source tree loaded", "changed", len(ch.sources), "notified", len(woken))
	return nil
}
