package security

import (
	"fmt"
	"strings"
)

// pattern is a compiled action or resource pattern: text in which "*"
// stands for any run of characters, the empty one included ("*" alone is
// anything, "process.*" is every action under process., "*.read" every
// action ending in .read, "app:*:cache" what lies between). The two common
// shapes, an exact name and a prefix, are matched without the general
// loop.
type pattern struct {
	text   string // the exact name, or the prefix before a final "*"
	prefix bool
	// parts is the pattern split at each "*" when it has a "*" other than
	// a final one; text and prefix are then unused.
	parts []string
}

func compilePattern(s string) pattern {
	inner := strings.TrimSuffix(s, "*")
	if !strings.Contains(inner, "*") {
		return pattern{text: inner, prefix: len(inner) < len(s)}
	}
	return pattern{parts: strings.Split(s, "*")}
}

func (p pattern) match(s string) bool {
	if p.parts == nil {
		if p.prefix {
			return strings.HasPrefix(s, p.text)
		}
		return s == p.text
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	// Each middle part at its leftmost place leaves the most room for the
	// rest: with "*" as the only wildcard, leftmost is never wrong.
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

func compilePatterns(what string, list []string) ([]pattern, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("no %s", what)
	}
	out := make([]pattern, 0, len(list))
	for _, s := range list {
		if s == "" {
			return nil, fmt.Errorf("empty pattern in %s", what)
		}
		out = append(out, compilePattern(s))
	}
	return out, nil
}

func matchAny(ps []pattern, s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}
