package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// logRing is a slog.Handler keeping the first and the last lines of
// every node's logs (how a problem started, and where it ended), printed
// when a test fails.
type logRing struct {
	mu      sync.Mutex
	head    []string
	lines   []string // ring of the lines after head
	next    int
	full    bool
	skipped int
}

// Bounds of the lines kept.
const (
	logHeadSize = 2000
	logRingSize = 3000
)

func newLogRing() *logRing { return &logRing{lines: make([]string, logRingSize)} }

func (r *logRing) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.head) < logHeadSize {
		r.head = append(r.head, s)
		return
	}
	if r.full {
		r.skipped++
	}
	r.lines[r.next] = s
	r.next = (r.next + 1) % len(r.lines)
	r.full = r.full || r.next == 0
}

// dump returns the kept lines, oldest first.
func (r *logRing) dump() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.head...)
	if r.skipped > 0 {
		out = append(out, fmt.Sprintf("... %d lines skipped ...", r.skipped))
	}
	if r.full {
		out = append(out, r.lines[r.next:]...)
	}
	return append(out, r.lines[:r.next]...)
}

// handler returns a handler for one node's logs.
func (r *logRing) handler() slog.Handler { return &ringHandler{r: r} }

type ringHandler struct {
	r     *logRing
	attrs string
}

func (h *ringHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *ringHandler) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s%s", rec.Time.Format("15:04:05.000000"), rec.Level, rec.Message, h.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	h.r.add(b.String())
	return nil
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s", a)
	}
	return &ringHandler{r: h.r, attrs: b.String()}
}

func (h *ringHandler) WithGroup(string) slog.Handler { return h }
