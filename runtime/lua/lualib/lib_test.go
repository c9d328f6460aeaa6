package lualib

import (
	"context"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// TestSharedAcrossStates builds one Lib and uses its tables from several
// process states on several goroutines at once (run with -race).
func TestSharedAcrossStates(t *testing.T) {
	node := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer node.Close()
	lib := New(node, Options{Clock: SystemClock(), Location: time.UTC})

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			L := lua.NewState()
			defer L.Close()
			lib.Bind(L, nil)
			install(L, lib)
			errs <- L.DoString(`
				local json, time = require("json"), require("time")
				for i = 1, 200 do
				  local e = errors.wrap(errors.new{message = "m" .. i, kind = errors.TIMEOUT}, "w")
				  assert(e:kind() == "TIMEOUT" and tostring(e) == "w: m" .. i)
				  local s = assert(json.encode({i = i, e = e, list = {1, 2, 3}}))
				  local v = assert(json.decode(s))
				  assert(v.i == i and v.e.kind == "TIMEOUT")
				  local p = payload.new({n = i})
				  assert(p:data().n == i and p:get_format() == payload.format.LUA)
				  local d = assert(time.parse_duration("1m30s"))
				  assert(time.now():add(d):after(time.now()))
				  assert(os.platform == "wippy" and math.type(i) == "integer")
				end`)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestObjectsCrossStates checks that an object made in one state works in
// another state bound to the same Lib.
func TestObjectsCrossStates(t *testing.T) {
	node := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer node.Close()
	lib := New(node, Options{Location: time.UTC})
	a, b := lua.NewState(), lua.NewState()
	defer a.Close()
	defer b.Close()
	lib.Bind(a, nil)
	lib.Bind(b, nil)
	install(b, lib)
	b.SetGlobal("e", NewError(a, ErrorFromLua(a, lua.LString("from a"))))
	if err := b.DoString(`assert(e:message() == "from a" and errors.is(e, errors.UNKNOWN))`); err != nil {
		t.Fatal(err)
	}
	if LibOf(a) != lib || LibOf(b) != lib {
		t.Fatal("LibOf does not return the bound Lib")
	}
}

// TestTwoNodes checks that two Libs in one process keep their own clock
// and zone.
func TestTwoNodes(t *testing.T) {
	L1, _ := newState(t, Options{Clock: &fixedClock{t: epoch}, Location: time.UTC}, nil)
	L2, _ := newState(t, Options{Clock: &fixedClock{t: epoch.Add(time.Hour)}, Location: time.FixedZone("X", 3600)}, nil)
	if got := chunk(t, L1, "os.date('%H:%M %Z')").String(); got != "14:07 UTC" {
		t.Fatalf("node 1: %s", got)
	}
	if got := chunk(t, L2, "os.date('%H:%M %Z')").String(); got != "16:07 X" {
		t.Fatalf("node 2: %s", got)
	}
	if got := chunk(t, L1, "tostring(require('time').localtz)").String(); got != "UTC" {
		t.Fatalf("node 1 localtz: %s", got)
	}
}

func TestUnboundState(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	// No Bind: a private Lib appears, with no Host.
	lib := LibOf(L)
	if lib == nil || HostOf(L) != nil || LibOf(L) != lib {
		t.Fatal("unbound state must get one private Lib and no Host")
	}
	install(L, lib)
	if err := L.DoString(`
		local env = require("env")
		local v, err = env.get("X")
		assert(v == nil and err:kind() == "UNAVAILABLE")
		require("logger"):info("dropped")`); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	L, lib := newState(t, Options{}, nil)
	L.SetGlobal("ro", ReadOnly(L, lib.Errors()))
	runCases(t, L, []luaCase{
		{"reads", `eq(ro.NOT_FOUND, "NOT_FOUND"); eq(ro.new("m"):message(), "m"); eq(getmetatable(ro), "locked")`},
		{"writes raise", `
			local ok, err = pcall(function() ro.NOT_FOUND = "x" end)
			assert(not ok and tostring(err):find("read%-only"), tostring(err))
			eq(ro.NOT_FOUND, "NOT_FOUND")`},
		{"nested tables are plain", `
			local n = 0
			for k, v in pairs(payload.format) do n = n + 1 end
			eq(n, 8)`},
		{"userdata metatables locked", `
			eq(getmetatable(require("time").now()), "locked")
			eq(getmetatable(payload.new(1)), "locked")
			eq(getmetatable(require("logger"):named("x")), "locked")`},
	})
	c := CopyTable(L, lib.Time())
	c.RawSetString("sleep", lua.LTrue)
	if lib.Time().RawGetString("sleep") != lua.LNil || c.RawGetString("now") == lua.LNil {
		t.Fatal("CopyTable must copy and not alias")
	}
}

// boundCtx is a state context that carries its binding (Bound).
type boundCtx struct {
	context.Context
	lib  *Lib
	host Host
}

func (c boundCtx) LualibBinding() (*Lib, Host) { return c.lib, c.host }

func TestBoundContext(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	lib := New(L, Options{})
	h := &testHost{}
	L.SetContext(boundCtx{Context: context.Background(), lib: lib, host: h})
	if LibOf(L) != lib || HostOf(L) != Host(h) {
		t.Fatal("the context's binding was not used")
	}
	if v := L.G.Registry.RawGetString(RegistryKey); v != lua.LNil {
		t.Fatalf("registry written: %v", v)
	}
	// A context whose binding has no Lib falls back to the registry.
	L.SetContext(boundCtx{Context: context.Background()})
	if LibOf(L) == nil || LibOf(L) == lib || HostOf(L) != nil {
		t.Fatal("fallback did not give a private Lib")
	}
}
