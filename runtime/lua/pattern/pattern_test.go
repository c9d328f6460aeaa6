package pattern

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/gopher-lua/pm"
)

// find runs Find and returns the match and its captures as Lua shows them
// (1-based positions for position captures).
func find(t testing.TB, m *Matcher, src, pat string) (start, end int, caps []string, err error) {
	m.Reset(src, pat)
	start, end, err = m.Find(0)
	if err != nil || start < 0 {
		return start, end, nil, err
	}
	for i := 0; i < m.Captures(); i++ {
		a, b, pos, err := m.Capture(i)
		if err != nil {
			return start, end, nil, err
		}
		if pos {
			caps = append(caps, "@"+string(rune('0'+a+1)))
		} else {
			caps = append(caps, src[a:b])
		}
	}
	return start, end, caps, nil
}

var errStop = errors.New("stop")

// TestCheckStopsBacktracking: a pattern that backtracks exponentially
// ends as soon as Check says so.
func TestCheckStopsBacktracking(t *testing.T) {
	calls := 0
	m := &Matcher{Check: func() error {
		if calls++; calls == 100 {
			return errStop
		}
		return nil
	}}
	_, _, _, err := find(t, m, strings.Repeat("a", 30), strings.Repeat("a*", 30)+"b")
	if !errors.Is(err, errStop) || calls != 100 {
		t.Fatalf("err %v after %d checks", err, calls)
	}
	// The matcher is usable again after an abandoned match.
	m.Check = nil
	if s, e, caps, err := find(t, m, "xaby", "(a)(b)"); s != 1 || e != 3 || strings.Join(caps, ",") != "a,b" || err != nil {
		t.Fatalf("after abort: %d %d %v %v", s, e, caps, err)
	}
}

func TestLimits(t *testing.T) {
	var m Matcher
	for _, c := range []struct{ src, pat, err string }{
		{strings.Repeat("a", 300), strings.Repeat("a?", 300), "pattern too complex"},
		{"a", strings.Repeat("()", 33), "too many captures"},
		{"abc", "(a", "unfinished capture"},
		{"abc", "%1", "invalid capture index"},
		{"abc", "[a", "malformed pattern (missing ']')"},
		{"abc", "a%", "malformed pattern (ends with '%')"},
		{"abc", "%b(", "unbalanced pattern"},
		{"abc", "%fx", "missing '[' after '%f' in pattern"},
		{"abc", "a)", "invalid pattern capture"},
	} {
		_, _, _, err := find(t, &m, c.src, c.pat)
		var pe *Error
		if !errors.As(err, &pe) || pe.Msg != c.err {
			t.Errorf("%q on %q: %v, want %q", c.pat, c.src, err, c.err)
		}
	}
	if s, e, _, err := find(t, &m, strings.Repeat("a", 100), strings.Repeat("a?", 100)); s != 0 || e != 100 || err != nil {
		t.Fatalf("100 items: %d %d %v", s, e, err)
	}
}

// knownDifference reports a pattern where gopher-lua is known to differ
// from Lua 5.1 (each checked with the lua5.1 interpreter):
//   - a back-reference to a position capture matches the empty string in
//     gopher-lua, never in Lua ("()%1");
//   - in a set, an escape next to '-' makes a range with the escaped
//     character in gopher-lua; in Lua an escape is an item of its own and
//     '%' may end a range ("[%0-0]" holds '0' and '-', "[0-%0]" only '0');
//   - in a set, a '-' right after a range starts another range in
//     gopher-lua; in Lua it is a '-' ("[0-0-0]" holds '0' and '-').
func knownDifference(pat string) bool {
	return strings.Contains(pat, "()") && strings.ContainsAny(pat, "123456789") ||
		strings.Contains(pat, "[") && (escapedDash.MatchString(pat) || strings.Count(pat, "-") > 1)
}

var escapedDash = regexp.MustCompile(`%.-|-%`)

// FuzzAgainstGopherLua compares Find with gopher-lua's matcher on small
// inputs. gopher-lua compiles a pattern before matching, so it reports
// some errors Lua (and this package) only meets when matching reaches
// them, and it has known differences; only cases both accept, and where
// its behaviour is Lua's, are compared.
func FuzzAgainstGopherLua(f *testing.F) {
	for _, s := range [][2]string{
		{"hello world", "o w"}, {"hello", "l+"}, {"key=val", "(%w+)=(%w+)"}, {"f(a(b))", "%b()"},
		{"THE end", "%f[%a]%a+"}, {"aaab", "a-b"}, {"abab", "(ab)%1"}, {"  x  ", "^%s*(.-)%s*$"},
		{"x[]y", "[]]"}, {"a.b", "%."}, {"hello", "()ll()"}, {"abc", "[^%a]"}, {"a1B2", "[%d%u]+"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, src, pat string) {
		if len(src) > 32 || len(pat) > 16 || strings.Count(pat, "*")+strings.Count(pat, "+")+strings.Count(pat, "-") > 3 ||
			strings.Contains(pat, "%f") || strings.Contains(pat, "\x00") || knownDifference(pat) {
			return
		}
		steps := 0
		m := &Matcher{Check: func() error {
			if steps++; steps > 100 {
				return errStop
			}
			return nil
		}}
		start, end, caps, err := find(t, m, src, pat)
		if err != nil {
			return
		}
		theirs, terr := pm.Find(pat, []byte(src), 0, 1)
		if terr != nil {
			return
		}
		if len(theirs) == 0 {
			if start >= 0 {
				t.Fatalf("%q on %q: match %d..%d %v, gopher-lua none", pat, src, start, end, caps)
			}
			return
		}
		md := theirs[0]
		if md.Capture(0) != start || md.Capture(1) != end {
			t.Fatalf("%q on %q: match %d..%d, gopher-lua %d..%d", pat, src, start, end, md.Capture(0), md.Capture(1))
		}
		var tc []string
		for i := 2; i+1 < md.CaptureLength(); i += 2 {
			if md.IsPosCapture(i) {
				tc = append(tc, "@"+string(rune('0'+md.Capture(i))))
			} else {
				tc = append(tc, src[md.Capture(i):md.Capture(i+1)])
			}
		}
		if strings.Join(tc, "\x00") != strings.Join(caps, "\x00") {
			t.Fatalf("%q on %q: captures %q, gopher-lua %q", pat, src, caps, tc)
		}
	})
}
