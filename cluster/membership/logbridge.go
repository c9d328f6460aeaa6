package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newLogBridge returns a *log.Logger for memberlist that hands every line
// to l at debug level. memberlist's own level ("[WARN]", "[ERR]", ...) is
// kept as the attribute memberlist_level: memberlist logs routine events
// (a failed probe of a crashed node, a refuted suspicion) as warnings and
// errors, and this package logs what an operator must see itself.
//
// One line is also a signal. memberlist tells no delegate that a probe by
// this node failed; it only logs "Suspect <name> has failed, no acks
// received" just before it suspects the node (probeNode, memberlist
// v0.7.0), on every level. probeFailed, when not nil, gets that name. The
// membership tests see suspicion only through this line, so they fail if
// a memberlist upgrade rewords it.
func newLogBridge(l *slog.Logger, probeFailed func(name string)) *log.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return log.New(logBridge{log: l, probeFailed: probeFailed}, "", 0)
}

type logBridge struct {
	log         *slog.Logger
	probeFailed func(name string)
}

const (
	memberlistPrefix = "memberlist: "
	// Around the node name in memberlist's failed-probe line.
	failedProbePrefix = "Suspect "
	failedProbeSuffix = " has failed, no acks received"
)

func (b logBridge) Write(p []byte) (int, error) {
	level, line := splitLogLine(p)
	if b.probeFailed != nil {
		if name, ok := failedProbeNode(line); ok {
			b.probeFailed(name)
		}
	}
	if b.log.Enabled(context.Background(), slog.LevelDebug) {
		b.log.Debug(string(line), "memberlist_level", string(level))
	}
	return len(p), nil
}

// splitLogLine splits a memberlist log line, "[LEVEL] memberlist: text",
// into its level and its text. Either part may be missing.
func splitLogLine(p []byte) (level, line []byte) {
	line = bytes.TrimRight(p, "\r\n")
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.IndexByte(line, ']'); i > 0 {
			level, line = line[1:i], bytes.TrimLeft(line[i+1:], " ")
		}
	}
	return level, bytes.TrimPrefix(line, []byte(memberlistPrefix))
}

// failedProbeNode returns the node named by memberlist's failed-probe
// line, if line is one.
func failedProbeNode(line []byte) (string, bool) {
	name, ok := bytes.CutPrefix(line, []byte(failedProbePrefix))
	if !ok {
		return "", false
	}
	if name, ok = bytes.CutSuffix(name, []byte(failedProbeSuffix)); !ok || len(name) == 0 {
		return "", false
	}
	return string(name), true
}
