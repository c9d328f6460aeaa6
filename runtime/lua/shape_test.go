package lua

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Sources shaped to make gopher-lua's parser or compiler take minutes or
// gigabytes are refused with a SyntaxError by the token scan, which stops
// where a bound is passed: each token of these sources is on a line of
// its own, so the error's line is how far the scan read (200 levels of
// 200,000, not the whole source, let alone a parse of it).
func TestCompileRefusesDeepShapes(t *testing.T) {
	const n = 200_000
	nest := func(open, mid, close string, k int) string {
		return strings.Repeat(open+"\n", k) + mid + strings.Repeat(close, k)
	}
	// The chunk is a level of its own, and so is the bracket of a
	// function's parameters.
	const levels, ops = MaxSyntaxLevels, MaxExprOperators + 1
	cases := []struct {
		name, code, msg string
		line            int // where the scan stops; < 0: at most -line
	}{
		{"blocks", nest("do", "", "end ", n), "nested more than 200 levels", levels},
		{"functions", "local f = " + nest("function() return", "1", " end", n), "nested more than 200 levels", levels - 1},
		{"brackets", "local x = " + nest("(", "1", ")", n), "nested more than 200 levels", levels},
		{"tables", "local x = " + nest("{", "", "}", n), "nested more than 200 levels", levels},
		{"repeat", nest("repeat", "", " until true", n), "nested more than 200 levels", levels},
		{"unary minus", "local x = " + strings.Repeat("-\n", n) + "1", "nested more than 200 levels", levels},
		{"not", "local x = " + strings.Repeat("not\n", n) + "true", "nested more than 200 levels", levels},
		{"concat chain", "local x = " + strings.Repeat(`"a"..`+"\n", n) + `"a"`, "more than 1000 operators", ops},
		{"sum chain", "local x = " + strings.Repeat("a+\n", n) + "a", "more than 1000 operators", ops},
		// uses × distinct passes MaxConstantWork about √5e8 = 22,400
		// constants into one function; in the third of five functions
		// of 15,000 (lines 30,000 to 45,000).
		{"distinct strings", "local t = {" + distinct(`"s%d",`+"\n", 100_000) + "}", "too many constants", -23_000},
		{"distinct numbers", "local t = {" + distinct(`%d,`+"\n", 100_000) + "}", "too many constants", -23_000},
		{"many functions", strings.Repeat("local function f() local t = {"+distinct(`"s%d",`+"\n", 15_000)+"} end ", 5), "too many constants", -45_000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch, err := Compile([]byte(c.code+"\nreturn {}\n"), "deep.lua")
			se, ok := errors.AsType[*SyntaxError](err)
			if ch != nil || !ok || !strings.Contains(se.Message, c.msg) {
				t.Fatalf("Compile = %v, %v; want a SyntaxError with %q", ch, err, c.msg)
			}
			if c.line > 0 && se.Line != c.line || c.line < 0 && se.Line > -c.line {
				t.Fatalf("refused at line %d; want the scan to stop at line %d (negative: at most)", se.Line, c.line)
			}
		})
	}
}

// distinct repeats format with 0..n-1.
func distinct(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

func TestCompileAcceptsShapesWithinBounds(t *testing.T) {
	for name, code := range map[string]string{
		"10,000 distinct strings": "local t = {" + distinct(`"s%d",`, 10_000) + "}",
		"a long function":         "local function f(a, b)\n  local x\n" + strings.Repeat("  x = a.field + b.other * 3\n  if x > 10 then a.count = x end\n", 3000) + "end",
		"199 blocks":              strings.Repeat("do ", 199) + strings.Repeat("end ", 199),
		"1000 operators":          "local x = a" + strings.Repeat("+a", 1000),
		"sums per line":           strings.Repeat("x = a"+strings.Repeat("+a", 900)+"\n", 3),
		"sums by commas":          "local x, y = a" + strings.Repeat("+a", 900) + ", b" + strings.Repeat("+b", 900),
		"minus as binary":         "local x = 1" + strings.Repeat(" - 1", 300) + " - (- - 1)",
		"calls and fields":        "local x = a.b.c:d(1, 2)[3]" + strings.Repeat(" + f(x + 1, y - 2).z", 500),
		"strings and comments":    "-- (((((\nlocal s = \"(((((((\" .. [[ do do do ]] --[[ end end ]]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Compile([]byte(code+"\nreturn {}\n"), "ok.lua"); err != nil {
				t.Fatalf("Compile: %v", err)
			}
		})
	}
}

// FuzzCompile feeds arbitrary source to Compile: it must not panic, and
// an error must be a SyntaxError at a line of the source.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"return {main = function() return 1 end}", "local x = - - 1", "do do end end", "x = a..b..c",
		"local t = {[1] = {2, {3}}}", "repeat until x", "if a then b() elseif c then d() else e() end"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		ch, err := Compile(code, "f.lua")
		if err == nil {
			if ch == nil {
				t.Fatal("no chunk and no error")
			}
			return
		}
		se, ok := errors.AsType[*SyntaxError](err)
		// The scanner counts a lone \r as a line break too.
		lines := strings.Count(string(code), "\n") + strings.Count(string(code), "\r") + 1
		if !ok || se.Line < 1 || se.Line > lines {
			t.Fatalf("error %v (%T) for %q", err, err, code)
		}
	})
}
