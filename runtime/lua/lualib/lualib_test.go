package lualib

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixedClock is a Clock that returns t and moves it by step on every call.
type fixedClock struct {
	t    time.Time
	step time.Duration
}

func (c *fixedClock) Now() time.Time {
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

// testHost is a Host for tests.
type testHost struct {
	log *slog.Logger
	env EnvStore
}

// epoch is the fixed time of test clocks: Tue 2024-03-05 14:07:09.5 UTC.
var epoch = time.Date(2024, 3, 5, 14, 7, 9, 500_000_000, time.UTC)

const prelude = `
function eq(got, want, what)
  if got ~= want then
    error((what or "value") .. ": got " .. tostring(got) .. " (" .. type(got) .. "), want " .. tostring(want), 2)
  end
end
`

// newState returns a fresh full gopher-lua state with this package's
// globals and a require() for its modules, bound to a new Lib.
func newState(t *testing.T, opts Options, h Host) (*lua.LState, *Lib) {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	if opts.Clock == nil {
		opts.Clock = &fixedClock{t: epoch}
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	lib := New(L, opts)
	lib.Bind(L, h)
	install(L, lib)
	return L, lib
}

// install sets the globals and require() of lib in L.
func install(L *lua.LState, lib *Lib) {
	for name, tbl := range lib.Globals() {
		L.SetGlobal(name, tbl)
	}
	mods := lib.Modules()
	L.SetGlobal("require", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		m, ok := mods[name]
		if !ok {
			L.RaiseError("module '%s' not found", name)
		}
		L.Push(m)
		return 1
	}))
	ExtendMath(L, L.GetGlobal("math").(*lua.LTable))
	if err := L.DoString(prelude); err != nil {
		panic(err)
	}
}

// luaCase is a Lua snippet that must run without raising.
type luaCase struct {
	name string
	code string
}

func runCases(t *testing.T, L *lua.LState, cases []luaCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := L.DoString(c.code); err != nil {
				t.Fatalf("%s", err)
			}
		})
	}
}

// eval runs `return <expr>` and returns the first result.
func eval(t *testing.T, L *lua.LState, expr string) lua.LValue {
	t.Helper()
	top := L.GetTop()
	if err := L.DoString("return " + expr); err != nil {
		t.Fatalf("eval %q: %v", expr, err)
	}
	v := L.Get(top + 1)
	L.SetTop(top)
	return v
}

// raises runs code and returns the raised error text ("" if none).
func raises(L *lua.LState, code string) string {
	err := L.DoString(code)
	if err == nil {
		return ""
	}
	return err.Error()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func (h *testHost) Logger() *slog.Logger { return h.log }
func (h *testHost) Env() EnvStore        { return h.env }
