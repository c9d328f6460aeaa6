package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wippyd/wippyd/node"
)

// tree is the loaded app and where it came from.
type tree struct {
	app      *node.App
	demo     bool
	implicit bool   // the demo, for want of --src and ./src
	where    string // for messages: "--src examples/hello", "./src", ...
	dir      string // the directory loaded; "" for the demo
}

// loadApp loads --src, else ./src, else the embedded demo (demo: the demo
// whatever there is).
func loadApp(src string, demo bool) (tree, error) {
	where := "--src " + src
	if src == "" && !demo {
		if st, err := os.Stat("src"); err == nil && st.IsDir() {
			src, where = "src", "./src (no --src given)"
		}
	}
	if src == "" {
		t := tree{demo: true, implicit: !demo, where: "the built-in demo app"}
		if t.implicit {
			t.where += " (no --src given, and no ./src here)"
		}
		var err error
		t.app, err = node.LoadDemoApp()
		return t, err
	}
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		return tree{}, fmt.Errorf("wippyd run: --src %s: not a directory", src)
	}
	app, err := node.LoadApp(src)
	return tree{app: app, where: where, dir: src}, err
}

// maxListed bounds the entries a hint lists.
const maxListed = 8

// explainExec says why -x id cannot run (err from node.CheckRunnable),
// what was loaded, and what may have been meant.
func explainExec(t tree, id string, err error) string {
	var b strings.Builder
	switch {
	case errors.Is(err, node.ErrBadEntryID):
		fmt.Fprintf(&b, "wippyd run: -x %s: not an entry id: write namespace:name, as in -x app:main\n", id)
	case errors.Is(err, node.ErrNoEntry):
		fmt.Fprintf(&b, "wippyd run: -x %s: no such entry in %s\n", id, t.where)
	default:
		fmt.Fprintf(&b, "wippyd run: -x %s: %s\n", id, strings.TrimPrefix(err.Error(), node.ErrNotRunnable.Error()+": "))
	}
	if s := node.SuggestEntry(t.app, id); s != "" {
		fmt.Fprintf(&b, "  did you mean -x %s?\n", s)
	}
	ids := node.Runnable(t.app)
	switch {
	case len(ids) == 0:
		fmt.Fprintf(&b, "  %s has no process.lua entry to run\n", t.where)
	case len(ids) > maxListed:
		fmt.Fprintf(&b, "  process.lua entries: %s and %d more\n", strings.Join(ids[:maxListed], ", "), len(ids)-maxListed)
	default:
		fmt.Fprintf(&b, "  process.lua entries: %s\n", strings.Join(ids, ", "))
	}
	if t.implicit {
		b.WriteString("  run your own app with --src DIR\n")
	}
	return b.String()
}
