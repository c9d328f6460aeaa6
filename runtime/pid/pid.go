package pid

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrSyntax is returned by Parse for a string that is not a PID.
var ErrSyntax = errors.New("pid: invalid syntax")

// PID identifies a process. The zero PID identifies no process.
type PID struct {
	Node string // node name; empty for a PID written without one
	Host string // host id, e.g. "app:processes"
	Seq  uint64 // per-node sequence number, never reused within a node's life
}

// SplitHost splits a host address, "node@host" (a host of another node)
// or "host" (no node), into its node and host id.
func SplitHost(s string) (node, host string) {
	node, host, _ = cutHost(s)
	return node, host
}

func cutHost(s string) (node, host string, found bool) {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		return s[:at], s[at+1:], true
	}
	return "", s, false
}

// IsZero reports whether p is the zero PID.
func (p PID) IsZero() bool { return p.Seq == 0 && p.Node == "" && p.Host == "" }

// String formats p as {node@host|0x0004a}. The sequence has at least five
// hex digits. A PID without a node prints as {host|0x0004a}.
func (p PID) String() string {
	if p.IsZero() {
		return ""
	}
	var stack [96]byte // one allocation, the string, for typical names
	b := append(stack[:0], '{')
	if p.Node != "" {
		b = append(append(b, p.Node...), '@')
	}
	b = append(append(b, p.Host...), "|0x"...)
	var hex [16]byte
	h := strconv.AppendUint(hex[:0], p.Seq, 16)
	for i := len(h); i < 5; i++ {
		b = append(b, '0')
	}
	b = append(append(b, h...), '}')
	return string(b)
}

// Parse reads a PID in the form String writes. The node part is optional;
// node names may not contain '@', '|', '{' or '}', host ids may not contain
// '|', '{' or '}'.
func Parse(s string) (PID, error) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return PID{}, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	body := s[1 : len(s)-1]
	bar := strings.IndexByte(body, '|')
	if bar < 0 || strings.IndexByte(body[bar+1:], '|') >= 0 {
		return PID{}, fmt.Errorf("%w: %q", ErrSyntax, s)
	}
	left, seqs := body[:bar], body[bar+1:]
	if !strings.HasPrefix(seqs, "0x") || len(seqs) < 3 || len(seqs) > 18 {
		return PID{}, fmt.Errorf("%w: %q: sequence", ErrSyntax, s)
	}
	for _, c := range seqs[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return PID{}, fmt.Errorf("%w: %q: sequence", ErrSyntax, s)
		}
	}
	seq, err := strconv.ParseUint(seqs[2:], 16, 64)
	if err != nil {
		return PID{}, fmt.Errorf("%w: %q: sequence", ErrSyntax, s)
	}
	var p PID
	p.Seq = seq
	var node bool
	p.Node, p.Host, node = cutHost(left)
	if node && p.Node == "" {
		return PID{}, fmt.Errorf("%w: %q: empty node", ErrSyntax, s)
	}
	if p.Host == "" || strings.ContainsAny(p.Host, "{}@") || strings.ContainsAny(p.Node, "{}") {
		return PID{}, fmt.Errorf("%w: %q: host", ErrSyntax, s)
	}
	if p.Seq == 0 {
		return PID{}, fmt.Errorf("%w: %q: zero sequence", ErrSyntax, s)
	}
	// Only the canonical form parses, so String(Parse(s)) == s always holds.
	if p.String() != s {
		return PID{}, fmt.Errorf("%w: %q: not canonical", ErrSyntax, s)
	}
	return p, nil
}

// MustParse is Parse for constants in tests; it panics on a bad string.
func MustParse(s string) PID {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}
