package lualib

import (
	"testing"
	"time"
)

func TestOS(t *testing.T) {
	clk := &fixedClock{t: epoch}
	L, _ := newState(t, Options{Clock: clk, Location: time.FixedZone("CET", 3600)}, nil)
	runCases(t, L, []luaCase{
		{"only the documented functions", `
			local n = 0
			for k in pairs(os) do n = n + 1 end
			eq(n, 5); eq(os.platform, "wippy"); eq(os.getenv, nil); eq(os.exit, nil); eq(os.execute, nil)`},
		{"time now", `eq(os.time(), 1709647629)`},
		{"time table", `
			eq(os.time{year = 2024, month = 3, day = 5, hour = 15, min = 7, sec = 9}, 1709647629)
			eq(os.time{year = 1970, month = 1, day = 1, hour = 1}, 0)
			eq(os.time{year = 2024, month = 13, day = 1}, os.time{year = 2025, month = 1, day = 1})`},
		{"time table defaults", `
			-- missing date fields are today (in CET), missing time fields 0
			eq(os.time{}, os.time{year = 2024, month = 3, day = 5, hour = 0})
			eq(os.time{hour = 15, min = 7, sec = 9}, 1709647629)`},
		{"time table bad field", `eq(pcall(os.time, {year = "x"}), false); eq(pcall(os.time, {day = 1.5}), false)`},
		{"date formats", `
			local ts = 1709647629
			eq(os.date("%Y-%m-%d %H:%M:%S", ts), "2024-03-05 15:07:09")
			eq(os.date("!%Y-%m-%d %H:%M:%S", ts), "2024-03-05 14:07:09")
			eq(os.date("!%c", ts), "Tue Mar  5 14:07:09 2024")
			eq(os.date("!%a %A %b %B %h", ts), "Tue Tuesday Mar March Mar")
			eq(os.date("!%d %e %j %m %y %C %D %F", ts), "05  5 065 03 24 20 03/05/24 2024-03-05")
			eq(os.date("!%I %p %r %R %T %X %x", ts), "02 PM 02:07:09 PM 14:07 14:07:09 14:07:09 03/05/24")
			eq(os.date("!%u %w %U %W %V %G %g", ts), "2 2 09 10 10 2024 24")
			eq(os.date("!%z %Z %%", ts), "+0000 UTC %")
			eq(os.date("%z %Z", ts), "+0100 CET")
			eq(os.date("!%n%t", ts), "\n\t")
			eq(os.date("!%H", 0), "00")`},
		{"date edge weeks", `
			-- 2021-01-01 is a Friday: ISO week 53 of 2020; %U and %W week 00
			local ts = os.time{year = 2021, month = 1, day = 1, hour = 12}
			eq(os.date("%V %G %U %W %u %w %j", ts), "53 2020 00 00 5 5 001")
			-- 2023-01-01 is a Sunday: %U week 01, %W week 00
			ts = os.time{year = 2023, month = 1, day = 1, hour = 12}
			eq(os.date("%U %W %a", ts), "01 00 Sun")`},
		{"date *t", `
			local t = os.date("!*t", 1709647629)
			eq(t.year, 2024); eq(t.month, 3); eq(t.day, 5); eq(t.hour, 14); eq(t.min, 7); eq(t.sec, 9)
			eq(t.wday, 3); eq(t.yday, 65); eq(t.isdst, false)
			eq(os.date("*t", 1709647629).hour, 15)
			eq(os.time(os.date("*t", 1709647629)), 1709647629)`},
		{"date default", `eq(type(os.date()), "string")`},
		{"date bad conversion", `
			local ok, err = pcall(os.date, "%Q")
			eq(ok, false); assert(tostring(err):find("invalid conversion specifier '%%Q'"), tostring(err))
			eq(pcall(os.date, "50%"), false)`},
		{"difftime", `eq(os.difftime(10, 4), 6); eq(os.difftime(10), 10)`},
	})
	// clock: seconds since the Lib was made, on the injected clock, which
	// has not moved yet.
	if got := chunk(t, L, "os.clock()").String(); got != "0" {
		t.Fatalf("clock on a stopped clock: %s", got)
	}
	clk.t = clk.t.Add(1500 * time.Millisecond)
	if got := chunk(t, L, "os.clock()").String(); got != "1.5" {
		t.Fatalf("clock after 1.5s: %s", got)
	}
}

func TestStrftime(t *testing.T) {
	ts := time.Date(2009, 11, 10, 23, 0, 5, 0, time.UTC)
	for f, want := range map[string]string{
		"%Y%m%d":        "20091110",
		"plain":         "plain",
		"%%Y":           "%Y",
		"%I:%M %p":      "11:00 PM",
		"%e|%d":         "10|10",
		"%Y-%j week %U": "2009-314 week 45",
	} {
		got, err := Strftime(ts, f)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", f, got, err, want)
		}
	}
	noon := time.Date(2009, 1, 1, 0, 30, 0, 0, time.UTC)
	if got, _ := Strftime(noon, "%I %p"); got != "12 AM" {
		t.Errorf("midnight: %q", got)
	}
	for _, bad := range []string{"%", "%E", "%5d"} {
		if _, err := Strftime(ts, bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
