package pattern

const (
	// MaxCaptures is the most captures one pattern may open (Lua's
	// LUA_MAXCAPTURES).
	MaxCaptures = 32
	// MaxDepth bounds the matcher's recursion (Lua 5.2's MAXCCALLS).
	MaxDepth = 200
	// CheckEvery is how many steps run between two calls of Check.
	CheckEvery = 1024
)

// esc is Lua's pattern escape character.
const esc = '%'

// Error is a pattern error; its message is Lua's ("malformed pattern
// (missing ']')"), which is what a Lua program sees.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Capture lengths that are not lengths.
const (
	capUnfinished = -1
	capPosition   = -2
)

type capture struct{ start, n int }

// Matcher matches one pattern against one subject; see the package doc.
type Matcher struct {
	// Check, when set, is called every CheckEvery steps; an error it
	// returns ends the match with that error.
	Check func() error

	src, pat string
	level    int // captures opened so far
	caps     [MaxCaptures]capture
	budget   int // steps until Check
	depth    int
}

// abort carries an error out of the recursion to MatchAt or Find.
type abort struct{ err error }

// Reset makes the matcher match pat against src.
func (m *Matcher) Reset(src, pat string) {
	m.src, m.pat = src, pat
	m.level, m.depth = 0, 0
}

// Find returns the first match starting at or after init (0-based, at most
// len(src)): its bounds, or start -1 when there is none. A leading '^'
// anchors the pattern at init.
func (m *Matcher) Find(init int) (start, end int, err error) {
	defer m.catch(&err)
	p, anchored := 0, len(m.pat) > 0 && m.pat[0] == '^'
	if anchored {
		p = 1
	}
	for s := init; ; s++ {
		m.level, m.depth = 0, 0
		if e := m.match(s, p); e >= 0 {
			return s, e, nil
		}
		if anchored || s >= len(m.src) {
			return -1, -1, nil
		}
	}
}

// MatchAt matches the pattern from its index p against the subject from
// index s, with no anchor handling, and returns where the match ends, or
// -1.
func (m *Matcher) MatchAt(s, p int) (end int, err error) {
	defer m.catch(&err)
	m.level, m.depth = 0, 0
	return m.match(s, p), nil
}

func (m *Matcher) catch(err *error) {
	if r := recover(); r != nil {
		a, ok := r.(abort)
		if !ok {
			panic(r)
		}
		*err = a.err
	}
}

// Captures returns how many captures the last match made.
func (m *Matcher) Captures() int { return m.level }

// Capture returns capture i (< Captures()) of the last match: its bounds
// in the subject, or, for a position capture, pos true and start the
// 0-based position.
func (m *Matcher) Capture(i int) (start, end int, pos bool, err error) {
	c := m.caps[i]
	switch c.n {
	case capUnfinished:
		return 0, 0, false, &Error{"unfinished capture"}
	case capPosition:
		return c.start, c.start, true, nil
	}
	return c.start, c.start + c.n, false, nil
}

func (m *Matcher) fail(msg string) { panic(abort{&Error{msg}}) }

// step counts one step and calls Check when the budget is spent.
func (m *Matcher) step() {
	if m.budget--; m.budget > 0 {
		return
	}
	m.budget = CheckEvery
	if m.Check != nil {
		if err := m.Check(); err != nil {
			panic(abort{err})
		}
	}
}

// match matches the pattern from p against the subject from s and returns
// the end of the match, or -1.
func (m *Matcher) match(s, p int) int {
	if m.depth++; m.depth > MaxDepth {
		m.fail("pattern too complex")
	}
	r := m.items(s, p)
	m.depth--
	return r
}

// items matches pattern items one after another; an item that needs
// backtracking (a quantifier, a capture) recurses through match.
func (m *Matcher) items(s, p int) int {
	for {
		m.step()
		if p == len(m.pat) {
			return s
		}
		switch m.pat[p] {
		case '(':
			if p+1 < len(m.pat) && m.pat[p+1] == ')' {
				return m.open(s, p+2, capPosition)
			}
			return m.open(s, p+1, capUnfinished)
		case ')':
			return m.close(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case esc:
			if next, ok := m.escape(s, p); ok {
				if next.s < 0 {
					return -1
				}
				s, p = next.s, next.p
				continue
			}
		}
		ep := m.classEnd(p)
		hit := s < len(m.src) && m.single(m.src[s], p, ep)
		if ep < len(m.pat) {
			switch m.pat[ep] {
			case '?':
				if hit {
					if r := m.match(s+1, ep+1); r >= 0 {
						return r
					}
				}
				p = ep + 1
				continue
			case '*':
				return m.maxExpand(s, p, ep)
			case '+':
				if !hit {
					return -1
				}
				return m.maxExpand(s+1, p, ep)
			case '-':
				return m.minExpand(s, p, ep)
			}
		}
		if !hit {
			return -1
		}
		s, p = s+1, ep
	}
}

type pos struct{ s, p int }

// escape handles the items that start with '%' and are not a class:
// %bxy, %f[set] and back-references. ok is false for a class (%a, %%).
func (m *Matcher) escape(s, p int) (next pos, ok bool) {
	if p+1 >= len(m.pat) {
		return pos{}, false
	}
	switch c := m.pat[p+1]; {
	case c == 'b':
		return pos{m.balance(s, p+2), p + 4}, true
	case c == 'f':
		p += 2
		if p >= len(m.pat) || m.pat[p] != '[' {
			m.fail("missing '[' after '%f' in pattern")
		}
		ep := m.classEnd(p)
		var prev, cur byte
		if s > 0 {
			prev = m.src[s-1]
		}
		if s < len(m.src) {
			cur = m.src[s]
		}
		if m.bracket(prev, p, ep-1) || !m.bracket(cur, p, ep-1) {
			return pos{-1, 0}, true
		}
		return pos{s, ep}, true
	case c >= '0' && c <= '9':
		return pos{m.backref(s, c), p + 2}, true
	}
	return pos{}, false
}

// maxExpand matches as many repetitions of the item p..ep as possible,
// then backs off one at a time until the rest matches.
func (m *Matcher) maxExpand(s, p, ep int) int {
	i := 0
	for s+i < len(m.src) && m.single(m.src[s+i], p, ep) {
		i++
		m.step()
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r >= 0 {
			return r
		}
	}
	return -1
}

// minExpand matches as few repetitions of the item as possible.
func (m *Matcher) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r >= 0 {
			return r
		}
		if s >= len(m.src) || !m.single(m.src[s], p, ep) {
			return -1
		}
		s++
	}
}

// open starts capture number m.level at s (n: unfinished or position)
// and matches the rest of the pattern.
func (m *Matcher) open(s, p, n int) int {
	if m.level >= MaxCaptures {
		m.fail("too many captures")
	}
	m.caps[m.level] = capture{s, n}
	m.level++
	r := m.match(s, p)
	if r < 0 {
		m.level--
	}
	return r
}

// close ends the innermost unfinished capture at s.
func (m *Matcher) close(s, p int) int {
	l := m.level - 1
	for l >= 0 && m.caps[l].n != capUnfinished {
		l--
	}
	if l < 0 {
		m.fail("invalid pattern capture")
	}
	m.caps[l].n = s - m.caps[l].start
	r := m.match(s, p)
	if r < 0 {
		m.caps[l].n = capUnfinished
	}
	return r
}

// balance matches %bxy (x, y at p, p+1) at s: x, then text up to the y
// that balances it.
func (m *Matcher) balance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("unbalanced pattern")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	open, end, depth := m.pat[p], m.pat[p+1], 1
	for s++; s < len(m.src); s++ {
		m.step()
		switch m.src[s] {
		case end:
			if depth--; depth == 0 {
				return s + 1
			}
		case open:
			depth++
		}
	}
	return -1
}

// backref matches the text of capture %c (a digit) again at s.
func (m *Matcher) backref(s int, c byte) int {
	l := int(c - '1')
	if l < 0 || l >= m.level || m.caps[l].n == capUnfinished {
		m.fail("invalid capture index")
	}
	n := m.caps[l].n
	if n < 0 || len(m.src)-s < n {
		return -1 // a position capture never matches as text
	}
	start := m.caps[l].start
	if m.src[start:start+n] != m.src[s:s+n] {
		return -1
	}
	return s + n
}

// classEnd returns the index after the single-character class at p.
func (m *Matcher) classEnd(p int) int {
	c := m.pat[p]
	p++
	switch c {
	case esc:
		if p >= len(m.pat) {
			m.fail("malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if p < len(m.pat) && m.pat[p] == '^' {
			p++
		}
		// The first character of a set is never its end: "[]]" is a set
		// holding ']'.
		for {
			if p >= len(m.pat) {
				m.fail("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == esc && p < len(m.pat) {
				p++
			}
			if p < len(m.pat) && m.pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

// single reports whether c matches the class p..ep.
func (m *Matcher) single(c byte, p, ep int) bool {
	switch m.pat[p] {
	case '.':
		return true
	case esc:
		return class(c, m.pat[p+1])
	case '[':
		return m.bracket(c, p, ep-1)
	}
	return m.pat[p] == c
}

// bracket reports whether c is in the set from '[' at p to ']' at end.
func (m *Matcher) bracket(c byte, p, end int) bool {
	in := true
	if m.pat[p+1] == '^' {
		in = false
		p++
	}
	for p++; p < end; p++ {
		switch {
		case m.pat[p] == esc:
			p++
			if class(c, m.pat[p]) {
				return in
			}
		case m.pat[p+1] == '-' && p+2 < end:
			if m.pat[p] <= c && c <= m.pat[p+2] {
				return in
			}
			p += 2
		case m.pat[p] == c:
			return in
		}
	}
	return !in
}

// class reports whether c is in class %cl; a letter that names no class,
// and any other character, matches itself.
func class(c, cl byte) bool {
	lower := cl
	if cl >= 'A' && cl <= 'Z' {
		lower = cl + 'a' - 'A'
	}
	var in bool
	switch lower {
	case 'a':
		in = isAlpha(c)
	case 'c':
		in = c < 32 || c == 127
	case 'd':
		in = c >= '0' && c <= '9'
	case 'l':
		in = c >= 'a' && c <= 'z'
	case 'p':
		in = c > 32 && c < 127 && !isAlnum(c)
	case 's':
		in = c == ' ' || (c >= '\t' && c <= '\r')
	case 'u':
		in = c >= 'A' && c <= 'Z'
	case 'w':
		in = isAlnum(c)
	case 'x':
		in = (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
	case 'z':
		in = c == 0
	default:
		return cl == c
	}
	if cl != lower {
		return !in
	}
	return in
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isAlnum(c byte) bool { return isAlpha(c) || (c >= '0' && c <= '9') }
