package transport

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Repeated warnings are throttled: a peer (or anyone reaching the port)
// can cause one per connection, and a flood of connections must not
// become a flood of log lines. Per message, at most Config.WarnBurst
// lines are written in any logWindow; the rest are counted, and the next
// line written for that message says how many were suppressed.
const logWindow = 10 * time.Second

// logLimiter is the endpoint's throttled logger. Messages are constant
// strings, so its map stays as small as the set of messages.
type logLimiter struct {
	log   *slog.Logger
	burst int

	mu   sync.Mutex
	msgs map[string]*logCount
}

type logCount struct {
	since      time.Time // start of the current window
	written    int       // lines written in it
	suppressed int       // lines dropped since the last one written
}

func newLogLimiter(log *slog.Logger, burst int) *logLimiter {
	return &logLimiter{log: log, burst: burst, msgs: map[string]*logCount{}}
}

// Log writes msg at level unless msg has used its burst in this window.
func (l *logLimiter) Log(level slog.Level, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	n, ok := l.admit(msg, time.Now())
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.log.Log(context.Background(), level, msg, args...)
}

// admit counts a line for msg at now; it reports whether to write it and
// how many lines were suppressed before it.
func (l *logLimiter) admit(msg string, now time.Time) (suppressed int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.msgs[msg]
	if c == nil {
		c = &logCount{since: now}
		l.msgs[msg] = c
	}
	if now.Sub(c.since) >= logWindow {
		c.since, c.written = now, 0
	}
	if c.written >= l.burst {
		c.suppressed++
		return 0, false
	}
	c.written++
	suppressed, c.suppressed = c.suppressed, 0
	return suppressed, true
}
