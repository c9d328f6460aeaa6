package lua

import (
	"math"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/pattern"
)

// The string functions that match patterns or build large strings, in
// place of gopher-lua's: its matcher cannot be interrupted (a backtracking
// pattern held a worker for minutes, deaf to terminate), and its rep and
// table.concat allocate whatever they are asked to. Semantics are Lua
// 5.1's; see package pattern for the matcher.

// specials are the characters that make a find pattern more than plain text.
const specials = "^$*+?.([%-"

// matcher returns a pooled matcher for pat against s that polls p.
func (p *process) matcher(s, pat string) *pattern.Matcher {
	m := p.eng.matchers.Get().(*pattern.Matcher)
	m.Check = p.poll
	m.Reset(s, pat)
	return m
}

func (p *process) putMatcher(m *pattern.Matcher) {
	m.Check = nil
	m.Reset("", "")
	p.eng.matchers.Put(m)
}

// raisePattern raises a pattern error, or the process's stop, as a Lua
// error.
func raisePattern(L *glua.LState, err error) {
	L.RaiseError("%s", err.Error())
}

// startIndex converts Lua's 1-based, possibly negative init argument to a
// 0-based index in s, clamped to 0..len(s) as Lua 5.1 does.
func startIndex(L *glua.LState, n, size int) int {
	init := L.OptInt(n, 1)
	if init < 0 {
		init += size + 1
	}
	switch {
	case init <= 0:
		return 0
	case init > size:
		return size
	}
	return init - 1
}

func strFind(L *glua.LState) int { return findAux(L, true) }

func strMatch(L *glua.LState) int { return findAux(L, false) }

// findAux is string.find (find) and string.match.
func findAux(L *glua.LState, find bool) int {
	s, pat := L.CheckString(1), L.CheckString(2)
	init := startIndex(L, 3, len(s))
	if find && (L.ToBool(4) || !strings.ContainsAny(pat, specials)) {
		if i := strings.Index(s[init:], pat); i >= 0 {
			L.Push(glua.LNumber(init + i + 1))
			L.Push(glua.LNumber(init + i + len(pat)))
			return 2
		}
		L.Push(glua.LNil)
		return 1
	}
	p := procOf(L)
	m := p.matcher(s, pat)
	defer p.putMatcher(m)
	start, end, err := m.Find(init)
	if err != nil {
		raisePattern(L, err)
	}
	if start < 0 {
		L.Push(glua.LNil)
		return 1
	}
	if find {
		L.Push(glua.LNumber(start + 1))
		L.Push(glua.LNumber(end))
		return 2 + pushCaptures(L, m, s, -1, -1)
	}
	return pushCaptures(L, m, s, start, end)
}

// pushCaptures pushes the captures of m's last match, or the whole match
// (start..end) when it has none and start >= 0; it returns how many.
func pushCaptures(L *glua.LState, m *pattern.Matcher, s string, start, end int) int {
	n := m.Captures()
	if n == 0 && start >= 0 {
		L.Push(glua.LString(s[start:end]))
		return 1
	}
	for i := 0; i < n; i++ {
		L.Push(capture(L, m, s, i, start, end))
	}
	return n
}

// capture returns capture i of m's last match (start..end): a string, or
// a number for a position capture. Capture 0 of a pattern without
// captures is the whole match.
func capture(L *glua.LState, m *pattern.Matcher, s string, i, start, end int) glua.LValue {
	if i >= m.Captures() {
		if i == 0 {
			return glua.LString(s[start:end])
		}
		L.RaiseError("invalid capture index")
	}
	a, b, pos, err := m.Capture(i)
	if err != nil {
		raisePattern(L, err)
	}
	if pos {
		return glua.LNumber(a + 1)
	}
	return glua.LString(s[a:b])
}

// strGmatch is string.gmatch: an iterator over the matches of a pattern.
// As in Lua 5.1, '^' has no special meaning here.
func strGmatch(L *glua.LState) int {
	s, pat := L.CheckString(1), L.CheckString(2)
	at := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		p := procOf(L)
		m := p.matcher(s, pat)
		defer p.putMatcher(m)
		for src := at; src <= len(s); src++ {
			end, err := m.MatchAt(src, 0)
			if err != nil {
				raisePattern(L, err)
			}
			if end >= 0 {
				at = end
				if end == src {
					at++ // an empty match: move on at least one character
				}
				return pushCaptures(L, m, s, src, end)
			}
		}
		return 0
	}))
	return 1
}

// strGsub is string.gsub(s, pattern, repl [, n]).
func strGsub(L *glua.LState) int {
	s, pat := L.CheckString(1), L.CheckString(2)
	repl := L.Get(3)
	switch repl.Type() {
	case glua.LTNumber, glua.LTString, glua.LTTable, glua.LTFunction:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	limit := L.OptInt(4, len(s)+1)
	p := procOf(L)
	m := p.matcher(s, pat)
	defer p.putMatcher(m)
	start, anchored := 0, len(pat) > 0 && pat[0] == '^'
	if anchored {
		start = 1
	}
	g := gsub{L: L, p: p, m: m, s: s, repl: repl, size: sizer{what: "string.gsub"}}
	src, n := 0, 0
loop:
	for n < limit {
		end, err := m.MatchAt(src, start)
		if err != nil {
			raisePattern(L, err)
		}
		if end >= 0 {
			n++
			g.add(src, end)
		}
		switch {
		case end > src:
			src = end
		case src < len(s):
			g.out = append(g.out, s[src])
			src++
		default:
			break loop
		}
		if anchored {
			break
		}
	}
	g.grow(len(s) - src)
	g.out = append(g.out, s[src:]...)
	L.Push(glua.LString(g.out))
	L.Push(glua.LNumber(n))
	return 2
}

// gsub is one string.gsub call in progress.
type gsub struct {
	L    *glua.LState
	p    *process
	m    *pattern.Matcher
	s    string
	repl glua.LValue
	out  []byte
	size sizer
}

// grow asks the memory account before the output grows by n.
func (g *gsub) grow(n int) { g.size.grow(g.p, g.L, len(g.out)+n) }

// sizer asks the memory account as a Go buffer grows. The buffer is no Lua
// value, so a measure cannot see it: each ask is for its whole size, once
// it has doubled since the last ask, so a large result is asked for a few
// times rather than per piece.
type sizer struct {
	what  string
	asked int
}

func (z *sizer) grow(p *process, L *glua.LState, size int) {
	if size > bigPiece && size > 2*z.asked {
		z.asked = size
		p.need(L, size, z.what)
	}
}

// add appends the replacement of the match src..end.
func (g *gsub) add(src, end int) {
	L := g.L
	var v glua.LValue
	switch r := g.repl.(type) {
	case *glua.LTable:
		v = L.GetTable(r, capture(L, g.m, g.s, 0, src, end))
	case *glua.LFunction:
		L.Push(r)
		n := pushCaptures(L, g.m, g.s, src, end)
		L.Call(n, 1)
		v = L.Get(-1)
		L.Pop(1)
	default:
		g.template(glua.LVAsString(r), src, end)
		return
	}
	switch v.Type() {
	case glua.LTNil:
		v = glua.LString(g.s[src:end])
	case glua.LTBool:
		if v == glua.LFalse {
			v = glua.LString(g.s[src:end])
		} else {
			L.RaiseError("invalid replacement value (a %s)", v.Type().String())
		}
	case glua.LTString, glua.LTNumber:
	default:
		L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	}
	text := glua.LVAsString(v)
	g.grow(len(text))
	g.out = append(g.out, text...)
}

// template appends a replacement string: %0 is the match, %1-%9 its
// captures, '%' before any other character stands for that character.
func (g *gsub) template(t string, src, end int) {
	g.grow(len(t))
	for {
		i := strings.IndexByte(t, '%')
		if i < 0 {
			g.out = append(g.out, t...)
			return
		}
		g.out = append(g.out, t[:i]...)
		if i+1 == len(t) {
			g.L.RaiseError("%s", "invalid use of '%' in replacement string")
		}
		switch c := t[i+1]; {
		case c == '0':
			g.grow(end - src)
			g.out = append(g.out, g.s[src:end]...)
		case c >= '1' && c <= '9':
			text := glua.LVAsString(capture(g.L, g.m, g.s, int(c-'1'), src, end))
			g.grow(len(text))
			g.out = append(g.out, text...)
		default:
			g.out = append(g.out, c)
		}
		t = t[i+2:]
	}
}

// strRep is string.rep(s, n [, sep]) (sep as in Lua 5.2).
func strRep(L *glua.LState) int {
	s, n, sep := L.CheckString(1), L.CheckInt(2), L.OptString(3, "")
	if n <= 0 || len(s)+len(sep) == 0 {
		L.Push(glua.LString(""))
		return 1
	}
	unit := len(s) + len(sep)
	if n > math.MaxInt/unit {
		procOf(L).need(L, math.MaxInt, "string.rep")
	}
	size := n*unit - len(sep)
	if size > bigPiece {
		procOf(L).need(L, size, "string.rep")
	}
	if sep == "" {
		L.Push(glua.LString(strings.Repeat(s, n)))
	} else {
		L.Push(glua.LString(strings.Repeat(s+sep, n-1) + s))
	}
	return 1
}

// tabConcat is table.concat(t [, sep [, i [, j]]]), Lua 5.1's: the items
// t[i]..t[j] (raw), which must be strings or numbers. The result's size is
// known, and approved by the memory account, before it is built.
func tabConcat(L *glua.LState) int {
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, t.Len())
	if i > j {
		L.Push(glua.LString(""))
		return 1
	}
	size := 0
	for k := i; k <= j; k++ {
		v := t.RawGetInt(k)
		if v.Type() != glua.LTString && v.Type() != glua.LTNumber {
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		size += len(glua.LVAsString(v)) + len(sep)
		if size > 1<<62 {
			break
		}
	}
	size -= len(sep)
	if size > bigPiece {
		procOf(L).need(L, size, "table.concat")
	}
	b := make([]byte, 0, size)
	for k := i; k <= j; k++ {
		if k > i {
			b = append(b, sep...)
		}
		b = append(b, glua.LVAsString(t.RawGetInt(k))...)
	}
	L.Push(glua.LString(b))
	return 1
}
