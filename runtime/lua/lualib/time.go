package lualib

import (
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// NewTime returns a Time object.
func NewTime(L *lua.LState, t time.Time) lua.LValue { return LibOf(L).newTime(L, t) }

// NewDuration returns a Duration object.
func NewDuration(L *lua.LState, d time.Duration) lua.LValue { return LibOf(L).newDuration(L, d) }

// CheckTime returns the time held by a Time object, and whether v is one.
func CheckTime(v lua.LValue) (time.Time, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		t, ok := ud.Value.(time.Time)
		return t, ok
	}
	return time.Time{}, false
}

// ParseDuration reads a duration argument (LUA-API 7.1): a number of
// nanoseconds (a fraction is dropped), a Go duration string such as
// "1h30m" or "250ms", or a Duration object. Anything else is an INVALID
// *proc.Error wrapping ErrDuration. Negative durations are returned as is;
// callers that need a positive one check.
func ParseDuration(L *lua.LState, v lua.LValue) (time.Duration, error) {
	switch x := v.(type) {
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || f <= -(1<<63) || f >= 1<<63 {
			return 0, invalid(ErrDuration, "%s ns out of range", x.String())
		}
		return time.Duration(f), nil
	case lua.LString:
		d, err := time.ParseDuration(string(x))
		if err != nil {
			return 0, invalid(ErrDuration, "%q", string(x))
		}
		return d, nil
	case *lua.LUserData:
		if d, ok := x.Value.(time.Duration); ok {
			return d, nil
		}
	}
	return 0, invalid(ErrDuration, "got %s", describeType(v))
}

func describeType(v lua.LValue) string {
	if ud, ok := v.(*lua.LUserData); ok {
		return userdataName(ud)
	}
	return v.Type().String()
}

// Raise raises e as an error object (pcall returns the object).
func Raise(L *lua.LState, e *proc.Error) {
	L.Error(NewError(L, e), 1)
}

func (lib *Lib) raise(L *lua.LState, err error) {
	L.Error(lib.newError(L, proc.AsError(err)), 1)
}

// checkDuration reads argument n as a duration or raises INVALID.
func (lib *Lib) checkDuration(L *lua.LState, n int) time.Duration {
	d, err := ParseDuration(L, L.Get(n))
	if err != nil {
		lib.raise(L, err)
	}
	return d
}

func (lib *Lib) newTime(L *lua.LState, t time.Time) lua.LValue {
	ud := L.NewUserData()
	ud.Value = t
	ud.Metatable = lib.timeMeta
	return ud
}

func (lib *Lib) newDuration(L *lua.LState, d time.Duration) lua.LValue {
	ud := L.NewUserData()
	ud.Value = d
	ud.Metatable = lib.durMeta
	return ud
}

func (lib *Lib) newLocation(L *lua.LState, loc *time.Location) lua.LValue {
	ud := L.NewUserData()
	ud.Value = loc
	ud.Metatable = lib.locMeta
	return ud
}

func checkTime(L *lua.LState, n int) time.Time {
	t, ok := CheckTime(L.Get(n))
	if !ok {
		L.ArgError(n, "Time expected, got "+describeType(L.Get(n)))
	}
	return t
}

func checkDur(L *lua.LState, n int) time.Duration {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if d, ok := ud.Value.(time.Duration); ok {
			return d
		}
	}
	L.ArgError(n, "Duration expected, got "+describeType(L.Get(n)))
	return 0
}

func checkLocation(L *lua.LState, n int) *time.Location {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if loc, ok := ud.Value.(*time.Location); ok {
			return loc
		}
	}
	L.ArgError(n, "Location expected, got "+describeType(L.Get(n)))
	return nil
}

func optLocation(L *lua.LState, n int, def *time.Location) *time.Location {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkLocation(L, n)
}

func pushInts(L *lua.LState, xs ...int) int {
	for _, x := range xs {
		L.Push(lua.LNumber(x))
	}
	return len(xs)
}

var timeLayouts = [...][2]string{
	{"RFC3339", time.RFC3339}, {"RFC3339NANO", time.RFC3339Nano},
	{"RFC822", time.RFC822}, {"RFC822Z", time.RFC822Z}, {"RFC850", time.RFC850},
	{"RFC1123", time.RFC1123}, {"RFC1123Z", time.RFC1123Z},
	{"DATE_TIME", time.DateTime}, {"DATE_ONLY", time.DateOnly}, {"TIME_ONLY", time.TimeOnly},
	{"KITCHEN", time.Kitchen}, {"STAMP", time.Stamp}, {"STAMP_MILLI", time.StampMilli},
	{"STAMP_MICRO", time.StampMicro}, {"STAMP_NANO", time.StampNano},
}

var timeUnits = [...]struct {
	name string
	d    time.Duration
}{
	{"NANOSECOND", time.Nanosecond}, {"MICROSECOND", time.Microsecond},
	{"MILLISECOND", time.Millisecond}, {"SECOND", time.Second},
	{"MINUTE", time.Minute}, {"HOUR", time.Hour},
}

var monthNames = [...]string{"JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE",
	"JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER"}

var weekdayNames = [...]string{"SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"}

// openTime builds the pure part of the time module. The process behaviour
// adds sleep, after, timer and ticker to its own copy (see CopyTable).
func (lib *Lib) openTime(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 64)
	for _, l := range timeLayouts {
		t.RawSetString(l[0], lua.LString(l[1]))
	}
	for _, u := range timeUnits {
		t.RawSetString(u.name, lua.LNumber(u.d))
	}
	for i, m := range monthNames {
		t.RawSetString(m, lua.LNumber(i+1))
	}
	for i, w := range weekdayNames {
		t.RawSetString(w, lua.LNumber(i))
	}
	t.RawSetString("utc", lib.utc)
	t.RawSetString("localtz", lib.local)
	setFuncs(L, t, map[string]lua.LGFunction{
		"now": func(L *lua.LState) int {
			L.Push(lib.newTime(L, lib.clock.Now()))
			return 1
		},
		"unix": func(L *lua.LState) int {
			sec := float64(L.CheckNumber(1))
			nsec := int64(L.OptNumber(2, 0))
			whole, frac := math.Modf(sec)
			t := time.Unix(int64(whole), nsec+int64(frac*1e9)).In(lib.loc)
			L.Push(lib.newTime(L, t))
			return 1
		},
		"date": func(L *lua.LState) int {
			t := time.Date(L.CheckInt(1), time.Month(L.CheckInt(2)), L.CheckInt(3),
				L.OptInt(4, 0), L.OptInt(5, 0), L.OptInt(6, 0), L.OptInt(7, 0), optLocation(L, 8, lib.loc))
			L.Push(lib.newTime(L, t))
			return 1
		},
		"parse": func(L *lua.LState) int {
			layout, s := L.CheckString(1), L.CheckString(2)
			var t time.Time
			var err error
			if L.Get(3) == lua.LNil {
				t, err = time.Parse(layout, s)
			} else {
				t, err = time.ParseInLocation(layout, s, checkLocation(L, 3))
			}
			if err != nil {
				return lib.pushErr(L, invalid(ErrInvalidArg, "parse time: %s", err.Error()))
			}
			L.Push(lib.newTime(L, t))
			return 1
		},
		"parse_duration": func(L *lua.LState) int {
			d, err := ParseDuration(L, L.Get(1))
			if err != nil {
				return lib.pushGoErr(L, err)
			}
			L.Push(lib.newDuration(L, d))
			return 1
		},
		"fixed_zone": func(L *lua.LState) int {
			L.Push(lib.newLocation(L, time.FixedZone(L.CheckString(1), L.CheckInt(2))))
			return 1
		},
		"load_location": func(L *lua.LState) int {
			name := L.CheckString(1)
			switch name {
			case "":
				return lib.pushErr(L, invalid(ErrEmptyKey, "location name"))
			case "Local":
				L.Push(lib.local)
				return 1
			case "UTC":
				L.Push(lib.utc)
				return 1
			}
			loc, err := time.LoadLocation(name)
			if err != nil {
				return lib.pushErr(L, proc.Errorf(proc.KindNotFound, msg.False, "%w: location %q", ErrNotFound, name))
			}
			L.Push(lib.newLocation(L, loc))
			return 1
		},
	})
	return t
}

func (lib *Lib) newTimeMeta(L *lua.LState) *lua.LTable {
	timeFn := func(f func(L *lua.LState, t time.Time) time.Time) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lib.newTime(L, f(L, checkTime(L, 1))))
			return 1
		}
	}
	intFn := func(f func(t time.Time) int) lua.LGFunction {
		return func(L *lua.LState) int { return pushInts(L, f(checkTime(L, 1))) }
	}
	boolFn := func(f func(a, b time.Time) bool) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(f(checkTime(L, 1), checkTime(L, 2))))
			return 1
		}
	}
	mt := newMeta(L, map[string]lua.LGFunction{
		"add": timeFn(func(L *lua.LState, t time.Time) time.Time { return t.Add(lib.checkDuration(L, 2)) }),
		"sub": func(L *lua.LState) int {
			L.Push(lib.newDuration(L, checkTime(L, 1).Sub(checkTime(L, 2))))
			return 1
		},
		"add_date": timeFn(func(L *lua.LState, t time.Time) time.Time {
			return t.AddDate(L.OptInt(2, 0), L.OptInt(3, 0), L.OptInt(4, 0))
		}),
		"before": boolFn(time.Time.Before),
		"after":  boolFn(time.Time.After),
		"equal":  boolFn(time.Time.Equal),
		"format": func(L *lua.LState) int {
			L.Push(lua.LString(checkTime(L, 1).Format(L.CheckString(2))))
			return 1
		},
		"format_rfc3339": func(L *lua.LState) int {
			L.Push(lua.LString(checkTime(L, 1).Format(time.RFC3339)))
			return 1
		},
		"utc":         timeFn(func(_ *lua.LState, t time.Time) time.Time { return t.UTC() }),
		"in_local":    timeFn(func(_ *lua.LState, t time.Time) time.Time { return t.In(lib.loc) }),
		"in_location": timeFn(func(L *lua.LState, t time.Time) time.Time { return t.In(checkLocation(L, 2)) }),
		"location": func(L *lua.LState) int {
			L.Push(lib.newLocation(L, checkTime(L, 1).Location()))
			return 1
		},
		"round":    timeFn(func(L *lua.LState, t time.Time) time.Time { return t.Round(lib.checkDuration(L, 2)) }),
		"truncate": timeFn(func(L *lua.LState, t time.Time) time.Time { return t.Truncate(lib.checkDuration(L, 2)) }),
		"unix": func(L *lua.LState) int {
			L.Push(lua.LNumber(checkTime(L, 1).Unix()))
			return 1
		},
		"unix_nano": func(L *lua.LState) int {
			L.Push(lua.LNumber(checkTime(L, 1).UnixNano()))
			return 1
		},
		"date": func(L *lua.LState) int {
			y, m, d := checkTime(L, 1).Date()
			return pushInts(L, y, int(m), d)
		},
		"clock": func(L *lua.LState) int {
			h, m, s := checkTime(L, 1).Clock()
			return pushInts(L, h, m, s)
		},
		"year":       intFn(time.Time.Year),
		"month":      intFn(func(t time.Time) int { return int(t.Month()) }),
		"day":        intFn(time.Time.Day),
		"hour":       intFn(time.Time.Hour),
		"minute":     intFn(time.Time.Minute),
		"second":     intFn(time.Time.Second),
		"nanosecond": intFn(time.Time.Nanosecond),
		"weekday":    intFn(func(t time.Time) int { return int(t.Weekday()) }),
		"year_day":   intFn(time.Time.YearDay),
		"is_zero": func(L *lua.LState) int {
			L.Push(lua.LBool(checkTime(L, 1).IsZero()))
			return 1
		},
	})
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkTime(L, 1).Format(time.RFC3339Nano)))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(boolFn(time.Time.Equal)))
	mt.RawSetString("__lt", L.NewFunction(boolFn(time.Time.Before)))
	mt.RawSetString("__le", L.NewFunction(boolFn(func(a, b time.Time) bool { return !a.After(b) })))
	return mt
}

func (lib *Lib) newDurationMeta(L *lua.LState) *lua.LTable {
	floatFn := func(f func(d time.Duration) float64) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LNumber(f(checkDur(L, 1))))
			return 1
		}
	}
	cmpFn := func(f func(a, b time.Duration) bool) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LBool(f(checkDur(L, 1), checkDur(L, 2))))
			return 1
		}
	}
	mt := newMeta(L, map[string]lua.LGFunction{
		"hours":        floatFn(time.Duration.Hours),
		"minutes":      floatFn(time.Duration.Minutes),
		"seconds":      floatFn(time.Duration.Seconds),
		"milliseconds": floatFn(func(d time.Duration) float64 { return float64(d.Milliseconds()) }),
		"microseconds": floatFn(func(d time.Duration) float64 { return float64(d.Microseconds()) }),
		"nanoseconds":  floatFn(func(d time.Duration) float64 { return float64(d.Nanoseconds()) }),
	})
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkDur(L, 1).String()))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(cmpFn(func(a, b time.Duration) bool { return a == b })))
	mt.RawSetString("__lt", L.NewFunction(cmpFn(func(a, b time.Duration) bool { return a < b })))
	mt.RawSetString("__le", L.NewFunction(cmpFn(func(a, b time.Duration) bool { return a <= b })))
	return mt
}

func (lib *Lib) newLocationMeta(L *lua.LState) *lua.LTable {
	str := func(L *lua.LState) int {
		L.Push(lua.LString(checkLocation(L, 1).String()))
		return 1
	}
	mt := newMeta(L, map[string]lua.LGFunction{"string": str})
	mt.RawSetString("__tostring", L.NewFunction(str))
	return mt
}
