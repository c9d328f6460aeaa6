package lualib

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/proc"
)

// LoggerNameKey is the attribute that carries the name given by
// logger:named (joined with "." when nested).
const LoggerNameKey = "logger"

// loggerObject is a child logger made by with/named: a name and fields,
// sorted by key. It holds no slog.Logger: every line goes through the
// logger of the process that writes it (Host.Logger).
type loggerObject struct {
	name   string
	fields []slog.Attr
}

var logLevels = [...]struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug}, {"info", slog.LevelInfo},
	{"warn", slog.LevelWarn}, {"error", slog.LevelError},
}

// openLogger builds the logger module. Its functions accept both
// logger:info(msg) and logger.info(msg).
func (lib *Lib) openLogger(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 6)
	for name, fn := range lib.loggerMethods(false) {
		t.RawSetString(name, L.NewFunction(fn))
	}
	return t
}

// loggerMethods returns the logger functions. bound ones are closures over
// a child logger userdata (upvalue 1), so that log.info(msg) works on a
// child too.
func (lib *Lib) loggerMethods(bound bool) map[string]lua.LGFunction {
	m := make(map[string]lua.LGFunction, 6)
	for _, lv := range logLevels {
		m[lv.name] = func(L *lua.LState) int {
			lo, first := lib.loggerSelf(L, bound)
			lib.log(L, lo, lv.level, first)
			return 0
		}
	}
	m["with"] = func(L *lua.LState) int {
		lo, first := lib.loggerSelf(L, bound)
		var fields []slog.Attr
		if L.Get(first) != lua.LNil {
			fields = lib.fieldAttrs(L, L.CheckTable(first))
		}
		L.Push(lib.newLogger(L, &loggerObject{name: lo.name, fields: mergeAttrs(lo.fields, fields)}))
		return 1
	}
	m["named"] = func(L *lua.LState) int {
		lo, first := lib.loggerSelf(L, bound)
		name := L.CheckString(first)
		if name == "" {
			lib.raise(L, invalid(ErrInvalidArg, "logger name must not be empty"))
		}
		if lo.name != "" {
			name = lo.name + "." + name
		}
		L.Push(lib.newLogger(L, &loggerObject{name: name, fields: lo.fields}))
		return 1
	}
	return m
}

// loggerSelf finds the logger a call is for and the index of its first
// real argument, for both colon and dot calls.
func (lib *Lib) loggerSelf(L *lua.LState, bound bool) (*loggerObject, int) {
	if bound {
		ud := L.Get(lua.UpvalueIndex(1)).(*lua.LUserData)
		lo := ud.Value.(*loggerObject)
		if L.Get(1) == ud {
			return lo, 2
		}
		return lo, 1
	}
	switch v := L.Get(1).(type) {
	case *lua.LTable:
		// The module itself, or a proxy of it (a colon call); any other
		// table is an argument of a dot call, as in logger.with{k = 1}.
		if w := lib.loggerMod.RawGetString("with"); w != lua.LNil && L.GetField(v, "with") == w {
			return &lib.rootLogger, 2
		}
	case *lua.LUserData:
		if lo, ok := v.Value.(*loggerObject); ok {
			return lo, 2
		}
	}
	return &lib.rootLogger, 1
}

func (lib *Lib) newLogger(L *lua.LState, lo *loggerObject) lua.LValue {
	ud := L.NewUserData()
	ud.Value = lo
	ud.Metatable = lib.loggerMeta
	return ud
}

func (lib *Lib) newLoggerMeta(L *lua.LState) *lua.LTable {
	methods := lib.loggerMethods(true)
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		ud := L.CheckUserData(1)
		fn, ok := methods[L.CheckString(2)]
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(L.NewClosure(fn, ud))
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		lo, _ := L.CheckUserData(1).Value.(*loggerObject)
		if lo == nil || lo.name == "" {
			L.Push(lua.LString("logger"))
		} else {
			L.Push(lua.LString("logger(" + lo.name + ")"))
		}
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("locked"))
	return mt
}

// processLogger returns the slog.Logger of the process running L.
func processLogger(L *lua.LState) *slog.Logger {
	if h := HostOf(L); h != nil {
		if l := h.Logger(); l != nil {
			return l
		}
	}
	return slog.New(slog.DiscardHandler)
}

func (lib *Lib) log(L *lua.LState, lo *loggerObject, level slog.Level, first int) {
	base := processLogger(L)
	ctx := L.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if !base.Enabled(ctx, level) {
		return
	}
	text := ""
	if v := L.Get(first); v != lua.LNil {
		text = lua.LVAsString(L.ToStringMeta(v))
	}
	var fields []slog.Attr
	switch f := L.Get(first + 1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		fields = lib.fieldAttrs(L, f)
	default:
		L.ArgError(first+1, "fields table expected, got "+f.Type().String())
	}
	attrs := mergeAttrs(lo.fields, fields)
	if lo.name != "" {
		attrs = append([]slog.Attr{slog.String(LoggerNameKey, lo.name)}, attrs...)
	}
	base.LogAttrs(ctx, level, text, attrs...)
}

// fieldAttrs converts a fields table to attributes sorted by key. Keys
// that are not strings or numbers are skipped.
func (lib *Lib) fieldAttrs(L *lua.LState, t *lua.LTable) []slog.Attr {
	var attrs []slog.Attr
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			key = kk.String()
		default:
			continue
		}
		attrs = append(attrs, slog.Attr{Key: key, Value: lib.attrValue(L, v)})
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].Key < attrs[j].Key })
	return attrs
}

func (lib *Lib) attrValue(L *lua.LState, v lua.LValue) slog.Value {
	switch x := v.(type) {
	case lua.LString:
		return slog.StringValue(string(x))
	case lua.LBool:
		return slog.BoolValue(bool(x))
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) <= maxSafeInt {
			return slog.Int64Value(int64(f))
		}
		return slog.Float64Value(f)
	case *lua.LUserData:
		switch u := x.Value.(type) {
		case *proc.Error:
			return slog.StringValue(u.Message)
		case time.Time:
			return slog.TimeValue(u)
		case time.Duration:
			return slog.DurationValue(u)
		}
		return slog.StringValue(describe(x))
	case *lua.LTable:
		if s, err := EncodeJSON(L, x); err == nil {
			return slog.StringValue(s)
		}
	}
	return slog.StringValue(v.String())
}

// mergeAttrs returns base and extra merged, sorted by key; extra wins on a
// duplicate key. Both inputs are sorted; neither is modified.
func mergeAttrs(base, extra []slog.Attr) []slog.Attr {
	if len(extra) == 0 {
		return base
	}
	out := make([]slog.Attr, 0, len(base)+len(extra))
	i, j := 0, 0
	for i < len(base) || j < len(extra) {
		switch {
		case j == len(extra) || i < len(base) && base[i].Key < extra[j].Key:
			out = append(out, base[i])
			i++
		case i == len(base) || extra[j].Key < base[i].Key:
			out = append(out, extra[j])
			j++
		default: // same key
			out = append(out, extra[j])
			i++
			j++
		}
	}
	return out
}
