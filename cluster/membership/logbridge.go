package membership

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// newLogBridge returns a *log.Logger for memberlist that hands every line
// to l at debug level. memberlist's own level ("[WARN]", "[ERR]", ...) is
// kept as the attribute memberlist_level: memberlist logs routine events
// (a failed probe of a crashed node, a refuted suspicion) as warnings and
// errors, and this package logs what an operator must see itself.
func newLogBridge(l *slog.Logger) *log.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return log.New(logBridge{l}, "", 0)
}

type logBridge struct{ log *slog.Logger }

func (b logBridge) Write(p []byte) (int, error) {
	if !b.log.Enabled(context.Background(), slog.LevelDebug) {
		return len(p), nil
	}
	line := strings.TrimRight(string(p), "\r\n")
	level := ""
	if strings.HasPrefix(line, "[") {
		if i := strings.IndexByte(line, ']'); i > 0 {
			level, line = line[1:i], strings.TrimLeft(line[i+1:], " ")
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	b.log.Debug(line, "memberlist_level", level)
	return len(p), nil
}
