package node

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Timing of the watcher: a reload waits until the tree has been quiet for
// watchQuiet after a change (an editor's save is several events), but
// never longer than watchMax after the first one (a tree that changes
// all the time still reloads).
const (
	watchQuiet = 100 * time.Millisecond
	watchMax   = time.Second
)

// debounce decides when a burst of changes is over: a pure core, time
// given.
type debounce struct {
	first, last time.Time // of the pending burst; zero when none
}

// change records a change at now.
func (d *debounce) change(now time.Time) {
	if d.first.IsZero() {
		d.first = now
	}
	d.last = now
}

// due reports whether the pending burst should be acted on at now, and
// how long to wait otherwise (0: nothing is pending).
func (d *debounce) due(now time.Time) (bool, time.Duration) {
	if d.first.IsZero() {
		return false, 0
	}
	at := d.last.Add(watchQuiet)
	if limit := d.first.Add(watchMax); limit.Before(at) {
		at = limit
	}
	if !now.Before(at) {
		*d = debounce{}
		return true, 0
	}
	return false, at.Sub(now)
}

// watcher watches a source tree and calls reload after each burst of
// changes to its YAML or Lua files. One goroutine owns everything; stop
// ends it and waits.
type watcher struct {
	fs     *fsnotify.Watcher
	dir    string
	log    *slog.Logger
	reload func()
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// startWatcher watches dir and everything under it.
func startWatcher(dir string, log *slog.Logger, reload func()) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{fs: fw, dir: dir, log: log, reload: reload, quit: make(chan struct{}), done: make(chan struct{})}
	if err := w.addTree(dir); err != nil {
		fw.Close()
		return nil, err
	}
	go w.run()
	return w, nil
}

// addTree watches dir and the directories under it (fsnotify watches one
// directory at a time). Hidden directories are left out, as the loader
// leaves them out.
func (w *watcher) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.fs.Add(p)
	})
}

// relevant reports whether a change to path can change what the loader
// reads: a YAML or Lua file, or a directory (which may hold some).
func relevant(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".lua":
		return true
	}
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func (w *watcher) run() {
	defer close(w.done)
	defer w.fs.Close()
	var d debounce
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.quit:
			timer.Stop()
			return
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					if err := w.addTree(ev.Name); err != nil {
						w.log.Warn("watch: a new directory is not watched", "dir", ev.Name, "err", err)
					}
				}
			}
			// A removed or renamed path is gone: it may have been a
			// directory of sources.
			gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
			if ev.Op == fsnotify.Chmod || !gone && !relevant(ev.Name) {
				continue
			}
			d.change(time.Now())
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.log.Warn("watch: the source tree watcher reported an error", "err", err)
		case <-timer.C:
		}
		if fire, wait := d.due(time.Now()); fire {
			w.reload()
		} else if wait > 0 {
			timer.Reset(wait)
		}
	}
}

// stop ends the watcher and waits for it; later calls return at once.
func (w *watcher) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
}

// startWatch starts hot reload when node.watch asks for it.
func (n *Node) startWatch() {
	switch {
	case !n.cfg.Node.Watch:
		return
	case n.luaCat == nil || n.srcDir == "":
		n.log.Warn("node.watch: the app was not loaded from a directory; nothing is watched")
		return
	}
	cache := &compileCache{}
	w, err := startWatcher(n.srcDir, n.log, func() { _ = n.reload(cache) })
	if err != nil {
		n.log.Error("node.watch: the source tree cannot be watched", "dir", n.srcDir, "err", err)
		return
	}
	n.watch = w
	n.log.Info("watching the source tree for changes", "dir", n.srcDir)
}
