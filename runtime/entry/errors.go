package entry

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

var (
	// ErrNotFound: no entry with that id.
	ErrNotFound = errors.New("entry: not found")
	// ErrNotLua: the entry is not a process.lua or library.lua.
	ErrNotLua = errors.New("entry: not a lua entry")
	// ErrNotRegular: a file to read is a directory, device, pipe or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrFileTooLarge: a file to read is larger than its bound.
	ErrFileTooLarge = errors.New("file too large")
)

// Problem is one error or warning found in a source tree.
type Problem struct {
	File    string // path as shown to the user
	Line    int    // 1-based; 0 when unknown
	EntryID string // "" for problems of a whole file
	Message string
}

// String formats p as "file:line: entry-id: message", leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	if p.EntryID != "" {
		b.WriteString(": ")
		b.WriteString(p.EntryID)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

func compareProblems(a, b Problem) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.EntryID, b.EntryID), cmp.Compare(a.Message, b.Message))
}

// sortProblems sorts ps, drops repeats, and escapes control characters
// (a newline in a key or a file name) so each problem prints as one line.
func sortProblems(ps []Problem) []Problem {
	for i := range ps {
		ps[i].File, ps[i].Message = oneLine(ps[i].File), oneLine(ps[i].Message)
	}
	slices.SortFunc(ps, compareProblems)
	return slices.Compact(ps)
}

func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// LoadErrors is every problem found in a source tree. Nothing of the tree
// is usable when a load returns it.
type LoadErrors struct {
	Problems []Problem // sorted by file, then line
	Warnings []Problem // skipped entries, as Registry.Warnings would list them
}

// Error prints one problem per line.
func (e *LoadErrors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
