package lua

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Sources shaped to make gopher-lua's parser or compiler take minutes or
// gigabytes are refused at once with a SyntaxError; the same shapes within
// the bounds compile.
func TestCompileRefusesDeepShapes(t *testing.T) {
	const n = 200_000
	nest := func(open, mid, close string, k int) string {
		return strings.Repeat(open, k) + mid + strings.Repeat(close, k)
	}
	cases := []struct {
		name, code, msg string
	}{
		{"blocks", nest("do ", "", "end ", n), "nested more than 200 levels"},
		{"functions", "local f = " + nest("function() return ", "1", " end", n), "nested more than 200 levels"},
		{"brackets", "local x = " + nest("(", "1", ")", n), "nested more than 200 levels"},
		{"tables", "local x = " + nest("{", "", "}", n), "nested more than 200 levels"},
		{"unary minus", "local x = " + strings.Repeat("- ", n) + "1", "nested more than 200 levels"},
		{"not", "local x = " + strings.Repeat("not ", n) + "true", "nested more than 200 levels"},
		{"concat chain", `local x = "a"` + strings.Repeat(`.."a"`, n), "more than 1000 operators"},
		{"sum chain", "local x = a" + strings.Repeat("+a", n), "more than 1000 operators"},
		{"repeat", nest("repeat ", "", " until true", n), "nested more than 200 levels"},
		{"distinct strings", "local t = {" + distinct(`"s%d",`, 100_000) + "}", "too many constants"},
		{"distinct numbers", "local t = {" + distinct(`%d,`, 100_000) + "}", "too many constants"},
		{"many functions", strings.Repeat("local function f() local t = {"+distinct(`"s%d",`, 15_000)+"} end ", 5), "too many constants"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			begin := time.Now()
			ch, err := Compile([]byte(c.code+"\nreturn {}\n"), "deep.lua")
			se, ok := errors.AsType[*SyntaxError](err)
			if ch != nil || !ok || se.Line != 1 || !strings.Contains(se.Message, c.msg) {
				t.Fatalf("Compile = %v, %v; want a SyntaxError at line 1 with %q", ch, err, c.msg)
			}
			if el := time.Since(begin); el > 2*time.Second {
				t.Fatalf("refusing took %v", el)
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
