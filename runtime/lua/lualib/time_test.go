package lualib

import (
	"errors"
	"math"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	_ "time/tzdata" // load_location must not depend on the machine

	"github.com/wippyd/wippyd/runtime/proc"
)

func TestParseDuration(t *testing.T) {
	L, lib := newState(t, Options{}, nil)
	good := []struct {
		v    lua.LValue
		want time.Duration
	}{
		{lua.LNumber(1500), 1500},
		{lua.LNumber(2e9), 2 * time.Second},
		{lua.LNumber(1.9), 1},
		{lua.LNumber(-5), -5},
		{lua.LString("1h30m"), 90 * time.Minute},
		{lua.LString("250ms"), 250 * time.Millisecond},
		{lua.LString("1us"), time.Microsecond},
		{lua.LString("-2s"), -2 * time.Second},
		{lua.LString("0"), 0},
		{lib.newDuration(L, 7*time.Hour), 7 * time.Hour},
	}
	for _, c := range good {
		d, err := ParseDuration(L, c.v)
		if err != nil || d != c.want {
			t.Errorf("%v: got %v, %v; want %v", c.v, d, err, c.want)
		}
	}
	bad := []lua.LValue{lua.LString("5"), lua.LString("soon"), lua.LString(""), lua.LNil, lua.LTrue,
		lua.LNumber(math.NaN()), lua.LNumber(math.Inf(1)), lua.LNumber(1e19), L.NewTable(), lib.newTime(L, epoch)}
	for _, v := range bad {
		_, err := ParseDuration(L, v)
		var pe *proc.Error
		if !errors.As(err, &pe) || pe.Kind != proc.KindInvalid || !errors.Is(err, ErrDuration) {
			t.Errorf("%v: got %v, want INVALID ErrDuration", v, err)
		}
	}
}

func TestTimeModule(t *testing.T) {
	L, _ := newState(t, Options{Clock: &fixedClock{t: epoch}, Location: time.FixedZone("CET", 3600)}, nil)
	if err := L.DoString(`time = require("time")`); err != nil {
		t.Fatal(err)
	}
	runCases(t, L, []luaCase{
		{"units", `
			eq(time.NANOSECOND, 1); eq(time.MICROSECOND, 1e3); eq(time.MILLISECOND, 1e6)
			eq(time.SECOND, 1e9); eq(time.MINUTE, 60e9); eq(time.HOUR, 3600e9)`},
		{"layouts", `
			eq(time.RFC3339, "2006-01-02T15:04:05Z07:00"); eq(time.RFC3339NANO, "2006-01-02T15:04:05.999999999Z07:00")
			eq(time.DATE_TIME, "2006-01-02 15:04:05"); eq(time.DATE_ONLY, "2006-01-02"); eq(time.TIME_ONLY, "15:04:05")
			eq(time.KITCHEN, "3:04PM"); eq(time.STAMP_MILLI, "Jan _2 15:04:05.000"); eq(time.RFC1123Z, "Mon, 02 Jan 2006 15:04:05 -0700")
			for _, k in ipairs{"RFC822", "RFC822Z", "RFC850", "RFC1123", "STAMP", "STAMP_MICRO", "STAMP_NANO"} do
			  eq(type(time[k]), "string", k)
			end`},
		{"months and weekdays", `
			eq(time.JANUARY, 1); eq(time.MARCH, 3); eq(time.DECEMBER, 12)
			eq(time.SUNDAY, 0); eq(time.TUESDAY, 2); eq(time.SATURDAY, 6)`},
		{"now", `
			local t = time.now()
			eq(t:unix(), 1709647629); eq(t:nanosecond(), 500000000)
			eq(tostring(t), "2024-03-05T14:07:09.5Z")`},
		{"unix and accessors", `
			local t = time.unix(1709647629, 5)
			eq(t:unix_nano(), 1709647629000000005)
			eq(t:location():string(), "CET")
			local y, m, d = t:date(); eq(y, 2024); eq(m, 3); eq(d, 5)
			local h, mi, s = t:clock(); eq(h, 15); eq(mi, 7); eq(s, 9)
			eq(t:year(), 2024); eq(t:month(), time.MARCH); eq(t:day(), 5); eq(t:hour(), 15)
			eq(t:minute(), 7); eq(t:second(), 9); eq(t:nanosecond(), 5)
			eq(t:weekday(), time.TUESDAY); eq(t:year_day(), 65); eq(t:is_zero(), false)
			eq(time.unix(1.25):nanosecond(), 250000000)`},
		{"date", `
			local t = time.date(2024, 2, 30, 1, 2, 3, 4)
			eq(t:month(), 3); eq(t:day(), 1); eq(t:location():string(), "CET")
			eq(time.date(2024, 1, 1, 0, 0, 0, 0, time.utc):unix(), 1704067200)
			eq(time.date(2024, 1, 1):hour(), 0)`},
		{"arithmetic", `
			local t0 = time.unix(1000, 0)
			local t1 = t0:add("1h30m")
			eq(t1:sub(t0):minutes(), 90); eq(t1:sub(t0):hours(), 1.5)
			eq(t0:add(2 * time.SECOND):unix(), 1002)
			eq(t0:add(time.parse_duration("-1s")):unix(), 999)
			eq(t1:after(t0), true); eq(t1:before(t0), false); eq(t0:equal(t0:utc()), true)
			assert(t0 < t1 and t0 <= t1 and not (t1 < t0)); assert(t0 == t0:utc())
			eq(t0:add_date(0, 1, 1):day(), 1 + time.unix(1000, 0):day())
			eq(time.date(2024, 1, 31):add_date(0, 1, 0):month(), 3)`},
		{"add bad duration raises INVALID", `
			local ok, err = pcall(function() return time.now():add("soon") end)
			eq(ok, false); eq(err:kind(), errors.INVALID)`},
		{"round and truncate", `
			local t = time.unix(1709647629, 600000000):utc()
			eq(t:round(time.parse_duration("1s")):unix(), 1709647630)
			eq(t:truncate("1m"):format(time.TIME_ONLY), "14:07:00")
			eq(t:truncate(time.HOUR):hour(), 14)`},
		{"zones", `
			local t = time.unix(0, 0)
			eq(t:utc():format(time.RFC3339), "1970-01-01T00:00:00Z")
			eq(t:format_rfc3339(), "1970-01-01T01:00:00+01:00")
			eq(t:utc():in_local():hour(), 1)
			local z = time.fixed_zone("X", -7200)
			eq(t:in_location(z):hour(), 22); eq(tostring(z), "X")
			eq(tostring(time.utc), "UTC"); eq(tostring(time.localtz), "CET")
			local ny, err = time.load_location("America/New_York")
			eq(err, nil); eq(t:in_location(ny):format("15:04 MST"), "19:00 EST")
			eq(time.load_location("Local"), time.localtz); eq(time.load_location("UTC"), time.utc)
			local none, err2 = time.load_location("Nowhere/City"); eq(none, nil); eq(err2:kind(), errors.NOT_FOUND)
			local e, err3 = time.load_location(""); eq(e, nil); eq(err3:kind(), errors.INVALID)`},
		{"parse", `
			local t, err = time.parse(time.RFC3339, "2024-03-05T14:07:09+02:00")
			eq(err, nil); eq(t:unix(), 1709640429)
			eq(time.parse(time.DATE_ONLY, "2024-03-05"):location():string(), "UTC")
			local z = time.fixed_zone("Z2", 7200)
			eq(time.parse(time.DATE_TIME, "2024-03-05 02:00:00", z):utc():hour(), 0)
			local bad, err2 = time.parse(time.DATE_ONLY, "yesterday")
			eq(bad, nil); eq(err2:kind(), errors.INVALID)`},
		{"parse_duration", `
			local d, err = time.parse_duration("1m30s")
			eq(err, nil); eq(d:seconds(), 90); eq(d:milliseconds(), 90000); eq(d:microseconds(), 90000000)
			eq(d:nanoseconds(), 90e9); eq(tostring(d), "1m30s")
			eq(time.parse_duration(1500):nanoseconds(), 1500)
			eq(time.parse_duration(d), d)
			eq(time.parse_duration("1ms1ns"):milliseconds(), 1)
			local bad, err2 = time.parse_duration("1 hour")
			eq(bad, nil); eq(err2:kind(), errors.INVALID)
			assert(time.parse_duration("1s") < time.parse_duration("2s"))
			assert(time.parse_duration("1s") <= time.parse_duration("1000ms"))`},
		{"bad self raises", `
			eq(pcall(time.now().unix, {}), false)
			eq(pcall(time.now().in_location, time.now(), "UTC"), false)
			eq(pcall(time.parse_duration("1s").hours, time.now()), false)`},
		{"zero time", `eq(time.unix(0):is_zero(), false)`},
	})
}

func TestTimeGoHelpers(t *testing.T) {
	L, _ := newState(t, Options{}, nil)
	L.SetGlobal("t", NewTime(L, epoch))
	L.SetGlobal("d", NewDuration(L, 3*time.Second))
	if err := L.DoString(`assert(t:unix() == 1709647629 and d:seconds() == 3)`); err != nil {
		t.Fatal(err)
	}
	if got, ok := CheckTime(L.GetGlobal("t")); !ok || !got.Equal(epoch) {
		t.Fatalf("CheckTime = %v, %v", got, ok)
	}
	if _, ok := CheckTime(L.GetGlobal("d")); ok {
		t.Fatal("a Duration is not a Time")
	}
	if NewTime(L, time.Time{}).(*lua.LUserData).Value.(time.Time).IsZero() != true {
		t.Fatal("zero time")
	}
}
