package lualib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// openOS builds the restricted os global: time, date, clock, difftime and
// platform, nothing else (LUA-API 2.3).
func (lib *Lib) openOS(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 5)
	t.RawSetString("platform", lua.LString("wippy"))
	setFuncs(L, t, map[string]lua.LGFunction{
		"time":     lib.osTime,
		"date":     lib.osDate,
		"clock":    lib.osClock,
		"difftime": osDifftime,
	})
	return t
}

// osTime implements os.time([t]). In a table, missing date fields default
// to today and missing time fields to 0 (not noon as in C Lua); out-of-range
// values normalise (month 13 is January of the next year); isdst is
// ignored. The table is read in the node's local zone.
func (lib *Lib) osTime(L *lua.LState) int {
	now := lib.clock.Now()
	if L.Get(1) == lua.LNil {
		L.Push(lua.LNumber(now.Unix()))
		return 1
	}
	tb := L.CheckTable(1)
	now = now.In(lib.loc)
	field := func(name string, def int) int {
		switch v := tb.RawGetString(name).(type) {
		case *lua.LNilType:
			return def
		case lua.LNumber:
			if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1<<31 {
				return int(f)
			}
		}
		L.RaiseError("field '%s' is not an integer", name)
		return 0
	}
	t := time.Date(field("year", now.Year()), time.Month(field("month", int(now.Month()))), field("day", now.Day()),
		field("hour", 0), field("min", 0), field("sec", 0), 0, lib.loc)
	L.Push(lua.LNumber(t.Unix()))
	return 1
}

// osDate implements os.date([fmt [, ts]]).
func (lib *Lib) osDate(L *lua.LState) int {
	format := L.OptString(1, "%c")
	var t time.Time
	if L.Get(2) == lua.LNil {
		t = lib.clock.Now()
	} else {
		t = time.Unix(int64(L.CheckNumber(2)), 0)
	}
	if strings.HasPrefix(format, "!") {
		format = format[1:]
		t = t.UTC()
	} else {
		t = t.In(lib.loc)
	}
	if strings.HasPrefix(format, "*t") {
		tb := L.CreateTable(0, 9)
		for _, f := range [...]struct {
			k string
			v int
		}{
			{"year", t.Year()}, {"month", int(t.Month())}, {"day", t.Day()},
			{"hour", t.Hour()}, {"min", t.Minute()}, {"sec", t.Second()},
			{"wday", int(t.Weekday()) + 1}, {"yday", t.YearDay()},
		} {
			tb.RawSetString(f.k, lua.LNumber(f.v))
		}
		tb.RawSetString("isdst", lua.LBool(t.IsDST()))
		L.Push(tb)
		return 1
	}
	s, err := Strftime(t, format)
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(lua.LString(s))
	return 1
}

func (lib *Lib) osClock(L *lua.LState) int {
	L.Push(lua.LNumber(lib.clock.Now().Sub(lib.start).Seconds()))
	return 1
}

func osDifftime(L *lua.LState) int {
	L.Push(L.CheckNumber(1) - L.OptNumber(2, 0))
	return 1
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// Strftime formats t with C strftime conversions in the C locale: %a %A %b
// %B %c %C %d %D %e %F %g %G %h %H %I %j %m %M %n %p %r %R %S %t %T %u %U
// %V %w %W %x %X %y %Y %z %Z %%. Any other conversion is an error, as in
// Lua 5.3.
func Strftime(t time.Time, format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(format) {
			return "", fmt.Errorf("invalid conversion specifier '%%'")
		}
		if !strftimeVerb(&b, t, format[i]) {
			return "", fmt.Errorf("invalid conversion specifier '%%%c'", format[i])
		}
	}
	return b.String(), nil
}

func pad2(b *strings.Builder, n int) {
	if n < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(n))
}

func strftimeVerb(b *strings.Builder, t time.Time, c byte) bool {
	wday, yday := int(t.Weekday()), t.YearDay()-1
	isoYear, isoWeek := t.ISOWeek()
	switch c {
	case 'a':
		b.WriteString(shortDays[wday])
	case 'A':
		b.WriteString(longDays[wday])
	case 'b', 'h':
		b.WriteString(shortMonths[t.Month()-1])
	case 'B':
		b.WriteString(longMonths[t.Month()-1])
	case 'c':
		fmt.Fprintf(b, "%s %s %2d %02d:%02d:%02d %d", shortDays[wday], shortMonths[t.Month()-1],
			t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	case 'C':
		pad2(b, t.Year()/100)
	case 'd':
		pad2(b, t.Day())
	case 'D', 'x':
		fmt.Fprintf(b, "%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'e':
		fmt.Fprintf(b, "%2d", t.Day())
	case 'F':
		fmt.Fprintf(b, "%d-%02d-%02d", t.Year(), int(t.Month()), t.Day())
	case 'g':
		pad2(b, isoYear%100)
	case 'G':
		b.WriteString(strconv.Itoa(isoYear))
	case 'H':
		pad2(b, t.Hour())
	case 'I':
		pad2(b, (t.Hour()+11)%12+1)
	case 'j':
		fmt.Fprintf(b, "%03d", yday+1)
	case 'm':
		pad2(b, int(t.Month()))
	case 'M':
		pad2(b, t.Minute())
	case 'n':
		b.WriteByte('\n')
	case 'p':
		if t.Hour() < 12 {
			b.WriteString("AM")
		} else {
			b.WriteString("PM")
		}
	case 'r':
		strftimeVerb(b, t, 'I')
		fmt.Fprintf(b, ":%02d:%02d ", t.Minute(), t.Second())
		strftimeVerb(b, t, 'p')
	case 'R':
		fmt.Fprintf(b, "%02d:%02d", t.Hour(), t.Minute())
	case 'S':
		pad2(b, t.Second())
	case 't':
		b.WriteByte('\t')
	case 'T', 'X':
		fmt.Fprintf(b, "%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'u':
		b.WriteString(strconv.Itoa((wday+6)%7 + 1))
	case 'U':
		pad2(b, (yday+7-wday)/7)
	case 'V':
		pad2(b, isoWeek)
	case 'w':
		b.WriteString(strconv.Itoa(wday))
	case 'W':
		pad2(b, (yday+7-(wday+6)%7)/7)
	case 'y':
		pad2(b, t.Year()%100)
	case 'Y':
		b.WriteString(strconv.Itoa(t.Year()))
	case 'z':
		b.WriteString(t.Format("-0700"))
	case 'Z':
		name, _ := t.Zone()
		b.WriteString(name)
	case '%':
		b.WriteByte('%')
	default:
		return false
	}
	return true
}
