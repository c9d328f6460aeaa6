package lualib

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func newLogHost(buf *bytes.Buffer) *testHost {
	h := slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	return &testHost{log: slog.New(h).With("pid", "{n1@app:p|0x00001}", "entry", "app:job")}
}

func TestLogger(t *testing.T) {
	const pre = `pid={n1@app:p|0x00001} entry=app:job`
	cases := []struct {
		name, code string
		want       []string
	}{
		{"levels", `
			local logger = require("logger")
			logger:debug("d"); logger:info("i"); logger:warn("w"); logger:error("e")`,
			[]string{`level=DEBUG msg=d ` + pre, `level=INFO msg=i ` + pre, `level=WARN msg=w ` + pre, `level=ERROR msg=e ` + pre}},
		{"fields sorted and typed", `
			require("logger"):info("invoice sent", {z = "last", id = 42, ratio = 0.5, ok = true,
			  err = errors.new("boom"), tags = {"a", "b"}, d = require("time").parse_duration("1s"), [7] = "n"})`,
			[]string{`level=INFO msg="invoice sent" ` + pre + ` 7=n d=1s err=boom id=42 ok=true ratio=0.5 tags="[\"a\",\"b\"]" z=last`}},
		{"dot call", `
			local logger = require("logger")
			logger.debug("dot"); logger.info("dot2", {k = 1})`,
			[]string{`level=DEBUG msg=dot ` + pre, `level=INFO msg=dot2 ` + pre + ` k=1`}},
		{"message verbatim", `require("logger"):info("a=b \"q\"")`,
			[]string{`level=INFO msg="a=b \"q\"" ` + pre}},
		{"non-string message", `require("logger"):info(errors.new("as text")); require("logger"):info(12)`,
			[]string{`level=INFO msg="as text" ` + pre, `level=INFO msg=12 ` + pre}},
		{"with and named", `
			local logger = require("logger")
			local log = logger:named("billing"):with({tenant = "t1", a = 1})
			log:info("x", {id = 42, a = 2})
			log.warn("dot on child")
			local sub = log:named("inv"):with({b = true})
			sub:error("deep")
			logger:info("root untouched")
			eq(tostring(sub), "logger(billing.inv)")`,
			[]string{
				`level=INFO msg=x ` + pre + ` logger=billing a=2 id=42 tenant=t1`,
				`level=WARN msg="dot on child" ` + pre + ` logger=billing a=1 tenant=t1`,
				`level=ERROR msg=deep ` + pre + ` logger=billing.inv a=1 b=true tenant=t1`,
				`level=INFO msg="root untouched" ` + pre,
			}},
		{"with on the module by dot", `require("logger").with({k = "v"}):info("m")`,
			[]string{`level=INFO msg=m ` + pre + ` k=v`}},
		{"named empty raises INVALID", `
			local ok, err = pcall(function() return require("logger"):named("") end)
			eq(ok, false); eq(err:kind(), errors.INVALID)`, nil},
		{"bad fields raise", `eq(pcall(function() require("logger"):info("m", "nope") end), false)`, nil},
		{"unknown method is nil", `eq(require("logger"):named("x").nope, nil)`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			L, _ := newState(t, Options{}, newLogHost(&buf))
			if err := L.DoString(c.code); err != nil {
				t.Fatal(err)
			}
			var got []string
			if s := strings.TrimSuffix(buf.String(), "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestLoggerLevelFiltered(t *testing.T) {
	var buf bytes.Buffer
	h := &testHost{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	L, _ := newState(t, Options{}, h)
	if err := L.DoString(`local l = require("logger"); l:debug("no"); l:info("no"); l:warn("yes")`); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "msg=yes") {
		t.Fatalf("got %q", buf.String())
	}
}

func TestMergeAttrs(t *testing.T) {
	a := []slog.Attr{slog.Int("a", 1), slog.Int("c", 3)}
	b := []slog.Attr{slog.Int("b", 2), slog.Int("c", 30), slog.Int("d", 4)}
	var keys []string
	for _, at := range mergeAttrs(a, b) {
		keys = append(keys, at.String())
	}
	if got := strings.Join(keys, " "); got != "a=1 b=2 c=30 d=4" {
		t.Fatalf("got %s", got)
	}
	if len(mergeAttrs(a, nil)) != 2 || len(mergeAttrs(nil, b)) != 3 {
		t.Fatal("merge with empty")
	}
}

func TestLoggerThroughProxy(t *testing.T) {
	var buf bytes.Buffer
	L, lib := newState(t, Options{}, newLogHost(&buf))
	L.SetGlobal("log", ReadOnly(L, lib.Logger()))
	if err := L.DoString(`log:info("colon", {a = 1}); log.info("dot"); log:with({b = 2}):info("child")`); err != nil {
		t.Fatal(err)
	}
	want := "level=INFO msg=colon pid={n1@app:p|0x00001} entry=app:job a=1\n" +
		"level=INFO msg=dot pid={n1@app:p|0x00001} entry=app:job\n" +
		"level=INFO msg=child pid={n1@app:p|0x00001} entry=app:job b=2\n"
	if buf.String() != want {
		t.Fatalf("got:\n%s", buf.String())
	}
}
