package lua

import (
	"strings"
	"testing"
)

// formatCases are the arguments of string.format calls with what Lua 5.1.5
// returns for them, checked with
// the lua5.1 interpreter. Where this implementation deliberately differs
// (docs/lua-decisions.md) the 5.1 result is noted.
var formatCases = []struct{ call, want string }{
	{`"%d", 42`, "42"},
	{`"%d", "10"`, "10"},
	{`"%d", 3.7`, "3"},
	{`"%d", -3.7`, "-3"},
	{`"%i", -0.5`, "0"},
	{`"%5.2f|%-8d|%+d|% d|%05d", 3.14159, 42, 5, 5, -42`, " 3.14|42      |+5| 5|-0042"},
	{`"%x %X %o", 255, 255, 8`, "ff FF 10"},
	{`"%x", -1`, "ffffffffffffffff"},
	{`"%u", -1`, "18446744073709551615"},
	{`"%#x %#X %#o %#o", 255, 255, 8, 0`, "0xff 0XFF 010 0"},
	{`"%c%c%c", 65, 66, 321`, "ABA"},
	{`"%5c|%-3c|", 65, 66`, "    A|B  |"},
	{`"%e %E", 12345.678, 0.000123`, "1.234568e+04 1.230000E-04"},
	{`"%.0e %#.0e %.10e", 5, 5, 1/3`, "5e+00 5.e+00 3.3333333333e-01"},
	{`"%g %g %g %g %g", 0.1, 1/3, 1e20, 1e-5, 100000`, "0.1 0.333333 1e+20 1e-05 100000"},
	{`"%g %g %g", 1e6, 123456789, 0.0001`, "1e+06 1.23457e+08 0.0001"},
	{`"%G %g", 1e-10, 0`, "1E-10 0"},
	{`"%#g %#g %#.3g", 1, 0.5, 100`, "1.00000 0.500000 100."},
	{`"%.0g %.1g %.20g", 123, 0.15, 0.1`, "1e+02 0.1 0.10000000000000000555"},
	{`"%10.3g|%-10.3g|%010.3g", 3.14159, 3.14159, -3.14159`, "      3.14|3.14      |-000003.14"},
	{`"%q", 'a"b\\c\nd\re\0f'`, "\"a\\\"b\\\\c\\\nd\\re\\000f\""},
	{`"%q", 12`, `"12"`},
	{`"%s %s", 1, 1.5`, "1 1.5"},
	{`"%10s|%-10s|%.2s|%5.1s|", "abc", "abc", "abc", "xyz"`, "       abc|abc       |ab|    x|"},
	{`"%s", "a\0b"`, "a\x00b"}, // 5.1: "a" (C's sprintf stops at the NUL)
	{`"%.3f|%10.4f|%-10.2f|%+.1f|% .1f", 2.0005, math.pi, 2.5, 1, 1`, "2.001|    3.1416|2.50      |+1.0| 1.0"},
	{`"%05.1f|%08.3e|%+05d|% 05d|%-05d|", -2.5, 12.5, 3, 3, 3`, "-02.5|1.250e+01|+0003| 0003|3    |"},
	{`"%.3d|%.0d|%5.3d|%-5.3d|%05.3d|", 7, 0, 7, 7, 7`, "007||  007|007  |  007|"},
	{`"%.3x|%#.3x|%#5x|%#05x|", 10, 10, 10, 10`, "00a|0x00a|  0xa|0x00a|"},
	{`"%f %f %e", 1/0, -1/0, 1e300`, "inf -inf 1.000000e+300"},
	{`"%5.1f|%-6f|%05f|", 1/0, -1/0, 1/0`, "  inf|-inf  |  inf|"},
	{`"%.14g", 0.1`, "0.1"},
	{`"%d", 2^53`, "9007199254740992"},
	{`"%x", 2^40`, "10000000000"},
	{`"%d", -2^63`, "-9223372036854775808"},
	{`"%.0f %.0f %.0f", 0.5, 1.5, 2.5`, "0 2 2"},
	{`"%f", "1e2"`, "100.000000"},
	{`"%x", 3.9`, "3"},
	{`"[%s]", ""`, "[]"},
	{`"%s", "%d"`, "%d"},
	{`"%-+5d|%+-5d|% +d", 1, 1, 1`, "+1   |+1   |+1"},
	{`"%10.2s|", "hello"`, "        he|"},
	{`"%99d", 1`, strings.Repeat(" ", 98) + "1"},
	{`"%.99f", 1`, "1." + strings.Repeat("0", 99)},
	{`"%s|%s|%s", true, nil, errors.new("boom")`, "true|nil|boom"}, // 5.1 raises (string expected)
	{`"%5s|%-6s|", false, nil`, "false|nil   |"},
	{`"no verbs"`, "no verbs"},
	{`"%%|%d%%", 5`, "%|5%"},
	{`"%d", 1, 2, 3`, "1"},
}

func TestStringFormat(t *testing.T) {
	var code strings.Builder
	code.WriteString("return {main = function()\n  local out = {}\n")
	for _, c := range formatCases {
		code.WriteString("  table.insert(out, string.format(" + c.call + "))\n")
	}
	code.WriteString("  return out\nend}")
	got := value(t, code.String()).Items()
	if len(got) != len(formatCases) {
		t.Fatalf("%d results for %d cases", len(got), len(formatCases))
	}
	for i, c := range formatCases {
		if s, _ := got[i].AsString(); s != c.want {
			t.Errorf("string.format(%s) = %q, want %q", c.call, s, c.want)
		}
	}
}

// formatErrors are calls Lua 5.1 refuses, with its message.
var formatErrors = []struct{ call, want string }{
	{`"%d", nil`, "bad argument #2 to format (number expected, got nil)"},
	{`"%d"`, "bad argument #2 to format (no value)"},
	{`"%5%"`, "bad argument #2 to format (no value)"},
	{`"%f", {}`, "bad argument #2 to format (number expected, got table)"},
	{`"%x", "zz"`, "bad argument #2 to format (number expected, got string)"},
	{`"%c", true`, "bad argument #2 to format (number expected, got boolean)"},
	{`"%q", {}`, "bad argument #2 to format (string expected, got table)"},
	{`"%s"`, "bad argument #2 to format (no value)"},
	{`"%y", 1`, "invalid option '%y' to 'format'"},
	{`"%a", 1`, "invalid option '%a' to 'format'"},
	{`"%", 1`, "invalid option '%' to 'format'"},
	{`"%5", 1`, "invalid option '%' to 'format'"},
	{`"%123d", 1`, "invalid format (width or precision too long)"},
	{`"%1.123f", 1`, "invalid format (width or precision too long)"},
	{`"%------d", 1`, "invalid format (repeated flags)"},
	{`"%d", 0/0`, "bad argument #2 to format (number has no integer representation)"}, // 5.1: junk
	{`"%d", 1/0`, "bad argument #2 to format (number has no integer representation)"},
	{`"%x", 2^64`, "bad argument #2 to format (number has no integer representation)"},
	{`"%s %d", "a", "b"`, "bad argument #3 to format (number expected, got string)"},
	{`nil`, "bad argument #1 to format (string expected, got nil)"},
	{``, "bad argument #1 to format (string expected, got nil)"},
}

func TestStringFormatErrors(t *testing.T) {
	for _, c := range formatErrors {
		t.Run(c.call, func(t *testing.T) {
			v := value(t, `return {main = function()
  local ok, e = pcall(function() return string.format(`+c.call+`) end)
  return {ok, tostring(e)}
end}`).Items()
			if ok, _ := v[0].AsBool(); ok {
				t.Fatalf("no error, got %v", v[1])
			}
			if s, _ := v[1].AsString(); !strings.Contains(s, c.want) {
				t.Fatalf("error %q, want it to contain %q", s, c.want)
			}
		})
	}
}

func TestTableUnpack(t *testing.T) {
	expect(t, `return {main = function()
  local a, b, c = table.unpack({1, 2, 3})
  return {a, b, c, select("#", table.unpack({1, 2, 3}, 2)), table.unpack == unpack}
end}`, `[1, 2, 3, 2, true]`)
}
