package lua

import (
	"math"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// string.format with Lua 5.1's rules (gopher-lua hands its arguments to
// fmt.Sprintf, which prints Go's rendering of any value, or junk, where Lua
// raises). A conversion is %[flags][width][.precision]verb with flags from
// "-+ #0" (at most five), width and precision of at most two digits each.
//
// Deliberate differences from 5.1, documented in docs/lua-decisions.md:
// %s takes any value through tostring (as Lua 5.2+ does, so error objects
// and booleans print), and an integer verb given NaN, an infinity or a
// number beyond ±2^63 raises instead of printing what C's cast makes of it.

// fmtSpec is one parsed conversion.
type fmtSpec struct {
	width     int // -1: none
	prec      int // -1: none
	verb      byte
	minus     bool
	zero      bool
	plus      bool
	space     bool
	alternate bool
}

// strFormat implements string.format.
func strFormat(L *glua.LState) int {
	f := L.CheckString(1)
	p := procOf(L)
	out := make([]byte, 0, len(f)+16)
	size := sizer{what: "string.format"}
	arg := 1
	for i := 0; i < len(f); {
		k := strings.IndexByte(f[i:], '%')
		if k < 0 {
			out = append(out, f[i:]...)
			break
		}
		out = append(out, f[i:i+k]...)
		i += k + 1
		if i < len(f) && f[i] == '%' {
			out = append(out, '%')
			i++
			continue
		}
		var s fmtSpec
		i = parseSpec(L, f, i, &s)
		arg++
		out = s.format(L, out, arg)
		size.grow(p, L, len(out)) // a format may repeat one large string many times

	}
	L.Push(glua.LString(out))
	return 1
}

// parseSpec reads the conversion after a '%' at f[i:] into s and returns
// the index after it.
func parseSpec(L *glua.LState, f string, i int, s *fmtSpec) int {
	start := i
	for i < len(f) && isFlag(f[i]) {
		i++
	}
	if i-start > 5 {
		L.RaiseError("invalid format (repeated flags)")
	}
	for _, c := range []byte(f[start:i]) {
		switch c {
		case '-':
			s.minus = true
		case '0':
			s.zero = true
		case '+':
			s.plus = true
		case ' ':
			s.space = true
		case '#':
			s.alternate = true
		}
	}
	s.width, i = digits(L, f, i)
	s.prec = -1
	if i < len(f) && f[i] == '.' {
		s.prec, i = digits(L, f, i+1)
		if s.prec < 0 {
			s.prec = 0
		}
	}
	if i >= len(f) {
		L.RaiseError("%s", "invalid option '%' to 'format'")
	}
	s.verb = f[i]
	return i + 1
}

func isFlag(c byte) bool { return c == '-' || c == '+' || c == ' ' || c == '#' || c == '0' }

// digits reads at most two decimal digits at f[i:]; -1 when there are none.
func digits(L *glua.LState, f string, i int) (int, int) {
	n, k := 0, 0
	for i < len(f) && f[i] >= '0' && f[i] <= '9' {
		if k == 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
		n = n*10 + int(f[i]-'0')
		i++
		k++
	}
	if k == 0 {
		return -1, i
	}
	return n, i
}

// format appends argument arg formatted by s.
func (s *fmtSpec) format(L *glua.LState, out []byte, arg int) []byte {
	if arg > L.GetTop() {
		L.ArgError(arg, "no value")
	}
	switch s.verb {
	case 'd', 'i':
		n := intArg(L, arg)
		return s.pad(out, s.signed(strconv.AppendUint(nil, abs64(n), 10), n < 0), true)
	case 'u':
		return s.pad(out, s.unsigned(strconv.AppendUint(nil, uint64(intArg(L, arg)), 10), ""), true)
	case 'o':
		return s.pad(out, s.unsigned(strconv.AppendUint(nil, uint64(intArg(L, arg)), 8), "0"), true)
	case 'x', 'X':
		n := uint64(intArg(L, arg))
		d := strconv.AppendUint(nil, n, 16)
		prefix := ""
		if s.alternate && n != 0 {
			prefix = "0x"
		}
		if s.verb == 'X' {
			d, prefix = upper(d), upperString(prefix)
		}
		return s.pad(out, s.unsigned(d, prefix), true)
	case 'c':
		return s.pad(out, []byte{byte(intArg(L, arg))}, false)
	case 'e', 'E', 'f', 'g', 'G':
		v := float64(L.CheckNumber(arg))
		return s.pad(out, s.float(v), !math.IsInf(v, 0) && !math.IsNaN(v))
	case 'q':
		return quote(out, L.CheckString(arg))
	case 's':
		L.CheckAny(arg)
		v := []byte(L.ToStringMeta(L.Get(arg)).String())
		if s.prec >= 0 && s.prec < len(v) {
			v = v[:s.prec]
		}
		return s.pad(out, v, false)
	}
	L.RaiseError("invalid option '%%%c' to 'format'", s.verb)
	return out
}

// intArg is argument n as an integer: a number or a numeric string,
// truncated toward zero; one that has no integer value raises.
func intArg(L *glua.LState, n int) int64 {
	v := float64(L.CheckNumber(n))
	if math.IsNaN(v) || v >= 1<<63 || v < -(1<<63) {
		L.ArgError(n, "number has no integer representation")
	}
	return int64(v)
}

func abs64(n int64) uint64 {
	if n < 0 {
		return uint64(-n)
	}
	return uint64(n)
}

// signed applies precision (minimum digits) and the sign to decimal digits.
func (s *fmtSpec) signed(d []byte, neg bool) []byte { return s.sign(s.minDigits(d), neg) }

// unsigned applies precision and the '#' prefix (C ignores '+' and ' '
// for unsigned conversions).
func (s *fmtSpec) unsigned(d []byte, prefix string) []byte {
	d = s.minDigits(d)
	if s.alternate && prefix != "" && !(prefix == "0" && d[0] == '0') {
		d = append([]byte(prefix), d...)
	}
	return d
}

// minDigits pads d with zeros to the precision; precision 0 prints zero as
// nothing, as C does.
func (s *fmtSpec) minDigits(d []byte) []byte {
	if s.prec < 0 {
		return d
	}
	if s.prec == 0 && len(d) == 1 && d[0] == '0' {
		return d[:0]
	}
	for len(d) < s.prec {
		d = append([]byte{'0'}, d...)
	}
	return d
}

// float formats a number for e, E, f, g and G as C's printf does.
func (s *fmtSpec) float(v float64) []byte {
	var d []byte
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		d = []byte("inf")
		if math.IsNaN(v) {
			d = []byte("nan")
		}
		if s.verb == 'E' || s.verb == 'G' {
			d = upper(d)
		}
		neg := math.Signbit(v)
		return s.sign(d, neg)
	case s.verb == 'g' || s.verb == 'G':
		d = s.general(math.Abs(v))
	default:
		prec := s.prec
		if prec < 0 {
			prec = 6
		}
		d = strconv.AppendFloat(nil, math.Abs(v), s.verb|0x20, prec, 64)
		if s.alternate && prec == 0 {
			if i := indexByte(d, 'e'); i >= 0 {
				d = append(d[:i:i], append([]byte{'.'}, d[i:]...)...)
			} else {
				d = append(d, '.')
			}
		}
		d = cExponent(d)
	}
	if s.verb == 'E' || s.verb == 'G' {
		d = upper(d)
	}
	return s.sign(d, math.Signbit(v))
}

// general is C's %g: precision P significant digits (6 by default, 0 taken
// as 1); the %e style when the exponent is below -4 or at least P, else
// %f; trailing zeros removed unless '#'.
func (s *fmtSpec) general(v float64) []byte {
	p := s.prec
	if p < 0 {
		p = 6
	}
	if p == 0 {
		p = 1
	}
	e := strconv.AppendFloat(nil, v, 'e', p-1, 64)
	exp := 0
	if i := indexByte(e, 'e'); i >= 0 {
		exp, _ = strconv.Atoi(string(e[i+1:]))
	}
	var d []byte
	if exp < -4 || exp >= p {
		d = e
		if !s.alternate {
			i := indexByte(d, 'e')
			d = append(trimZeros(d[:i:i]), d[i:]...)
		}
		d = cExponent(d)
	} else {
		d = strconv.AppendFloat(nil, v, 'f', p-1-exp, 64)
		if !s.alternate {
			d = trimZeros(d)
		} else if indexByte(d, '.') < 0 {
			d = append(d, '.')
		}
	}
	return d
}

// trimZeros removes the trailing zeros of a fraction, and its point when
// nothing is left of it.
func trimZeros(d []byte) []byte {
	if indexByte(d, '.') < 0 {
		return d
	}
	for len(d) > 0 && d[len(d)-1] == '0' {
		d = d[:len(d)-1]
	}
	if len(d) > 0 && d[len(d)-1] == '.' {
		d = d[:len(d)-1]
	}
	return d
}

// cExponent makes Go's exponent (e+1, e-7) C's (at least two digits:
// e+01); Go already writes two, this only guards the form.
func cExponent(d []byte) []byte {
	i := indexByte(d, 'e')
	if i < 0 || len(d)-i >= 4 {
		return d
	}
	return append(d[:i+2:i+2], append([]byte{'0'}, d[i+2:]...)...)
}

func indexByte(d []byte, c byte) int {
	for i, b := range d {
		if b == c {
			return i
		}
	}
	return -1
}

// sign prefixes the sign of a formatted number.
func (s *fmtSpec) sign(d []byte, neg bool) []byte {
	switch {
	case neg:
		return append([]byte{'-'}, d...)
	case s.plus:
		return append([]byte{'+'}, d...)
	case s.space:
		return append([]byte{' '}, d...)
	}
	return d
}

// pad appends d justified to the width: left with '-', with zeros after
// the sign or prefix when '0' applies (numbers without a precision), else
// with spaces.
func (s *fmtSpec) pad(out, d []byte, numeric bool) []byte {
	n := s.width - len(d)
	if n <= 0 {
		return append(out, d...)
	}
	if s.minus {
		out = append(out, d...)
		return appendN(out, ' ', n)
	}
	intVerb := s.verb != 'e' && s.verb != 'E' && s.verb != 'f' && s.verb != 'g' && s.verb != 'G'
	if s.zero && numeric && !(intVerb && s.prec >= 0) {
		k := 0
		if len(d) > 0 && (d[0] == '-' || d[0] == '+' || d[0] == ' ') {
			k = 1
		}
		if len(d) > k+1 && d[k] == '0' && (d[k+1] == 'x' || d[k+1] == 'X') {
			k += 2
		}
		out = append(out, d[:k]...)
		out = appendN(out, '0', n)
		return append(out, d[k:]...)
	}
	out = appendN(out, ' ', n)
	return append(out, d...)
}

func appendN(out []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		out = append(out, c)
	}
	return out
}

// quote appends s as a Lua 5.1 %q string literal.
func quote(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			out = append(out, '\\', c)
		case '\r':
			out = append(out, '\\', 'r')
		case 0:
			out = append(out, '\\', '0', '0', '0')
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

func upper(d []byte) []byte {
	for i, c := range d {
		if c >= 'a' && c <= 'z' {
			d[i] = c - 32
		}
	}
	return d
}

func upperString(s string) string { return string(upper([]byte(s))) }
