package lualib

import (
	"errors"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Sentinel errors. The *proc.Error values this package returns wrap one of
// them (test with errors.Is); their Lua-visible message starts with it.
var (
	// ErrUnsupported: a value of a type that cannot cross processes
	// (function, userdata, channel, coroutine) or cannot be JSON-encoded.
	ErrUnsupported = errors.New("lualib: unsupported value")
	// ErrCycle: a table that contains itself.
	ErrCycle = errors.New("lualib: table contains a cycle")
	// ErrTooDeep: nesting beyond msg.MaxDepth (values) or 128 (JSON).
	ErrTooDeep = errors.New("lualib: value nested too deeply")
	// ErrKey: a table key that is neither a string nor an integer.
	ErrKey = errors.New("lualib: table key must be a string or an integer")
	// ErrMixedKeys: a table JSON cannot express (integer and string keys,
	// or integer keys that are not 1..n).
	ErrMixedKeys = errors.New("lualib: table is neither an array nor an object")
	// ErrSyntax: json.decode input that is not JSON.
	ErrSyntax = errors.New("lualib: invalid json")
	// ErrDuration: a duration argument that is not a number, a Go duration
	// string or a Duration object.
	ErrDuration = errors.New("lualib: invalid duration")
	// ErrEmptyKey: env.get or env.set with an empty name.
	ErrEmptyKey = errors.New("lualib: empty key")
	// ErrNotFound: an env variable or a time zone that does not exist.
	ErrNotFound = errors.New("lualib: not found")
	// ErrNoEnv: an env call in a process whose Host has no EnvStore.
	ErrNoEnv = errors.New("lualib: env not available")
	// ErrNotYet: a feature documented as later (payload formats).
	ErrNotYet = errors.New("lualib: not supported yet")
	// ErrInvalidArg: a bad argument reported as an error value rather
	// than raised.
	ErrInvalidArg = errors.New("lualib: invalid argument")
)

// kinds lists the error kind constants of the errors table.
var kinds = [...]string{
	proc.KindUnknown, proc.KindInvalid, proc.KindNotFound, proc.KindAlreadyExists,
	proc.KindPermissionDenied, proc.KindTimeout, proc.KindCanceled, proc.KindUnavailable,
	proc.KindInternal, proc.KindConflict, proc.KindRateLimited,
}

// invalid returns an INVALID, non-retryable error wrapping sentinel.
func invalid(sentinel error, format string, args ...any) *proc.Error {
	return proc.Errorf(proc.KindInvalid, msg.False, "%w: "+format, append([]any{sentinel}, args...)...)
}

// NewError returns an error object holding a copy of e; nil gives nil.
func NewError(L *lua.LState, e *proc.Error) lua.LValue { return LibOf(L).newError(L, e) }

func (lib *Lib) newError(L *lua.LState, e *proc.Error) lua.LValue {
	if e == nil {
		return lua.LNil
	}
	cp := *e
	if cp.Kind == "" {
		cp.Kind = proc.KindUnknown
	}
	ud := L.NewUserData()
	ud.Value = &cp
	ud.Metatable = lib.errMeta
	return ud
}

// CheckError returns a copy of the error held by an error object, and
// whether v is one.
func CheckError(L *lua.LState, v lua.LValue) (*proc.Error, bool) {
	e, ok := errorOf(v)
	if !ok {
		return nil, false
	}
	cp := *e
	return &cp, true
}

func errorOf(v lua.LValue) (*proc.Error, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	e, ok := ud.Value.(*proc.Error)
	return e, ok
}

// ErrorFromLua turns a raised Lua value (the Object of a *lua.ApiError)
// into a *proc.Error: an error object gives its error; a string gives
// UNKNOWN with the string as is (with the position Lua added); a table with
// a string `message` field gives that message with its `kind`, `retryable`
// and `details`; anything else gives UNKNOWN with a rendering of the value.
// It never calls into Lua, so it is safe outside a protected call.
func ErrorFromLua(L *lua.LState, v lua.LValue) *proc.Error {
	if e, ok := CheckError(L, v); ok {
		return e
	}
	switch x := v.(type) {
	case lua.LString:
		return &proc.Error{Kind: proc.KindUnknown, Message: string(x)}
	case *lua.LTable:
		if m, ok := x.RawGetString("message").(lua.LString); ok {
			e := &proc.Error{Kind: proc.KindUnknown, Message: string(m)}
			if k, ok := x.RawGetString("kind").(lua.LString); ok && k != "" {
				e.Kind = string(k)
			}
			if r, ok := x.RawGetString("retryable").(lua.LBool); ok {
				e.Retryable = msg.TriOf(bool(r))
			}
			if d := x.RawGetString("details"); d != lua.LNil {
				if dv, err := ToValue(L, d); err == nil {
					e.Details = dv
				}
			}
			return e
		}
		if val, err := ToValue(L, x); err == nil {
			return &proc.Error{Kind: proc.KindUnknown, Message: val.String()}
		}
	}
	return &proc.Error{Kind: proc.KindUnknown, Message: describe(v)}
}

// describe renders v without calling into Lua.
func describe(v lua.LValue) string {
	if ud, ok := v.(*lua.LUserData); ok {
		if s, ok := userdataString(ud); ok {
			return s
		}
	}
	return v.String()
}

// errorText returns the text an error object shows to tostring and "..".
func errorText(e *proc.Error) string { return e.Message }

func (lib *Lib) newErrorMeta(L *lua.LState) *lua.LTable {
	mt := newMeta(L, map[string]lua.LGFunction{
		"kind":      func(L *lua.LState) int { L.Push(lua.LString(checkErr(L, 1).Kind)); return 1 },
		"message":   func(L *lua.LState) int { L.Push(lua.LString(checkErr(L, 1).Message)); return 1 },
		"retryable": func(L *lua.LState) int { L.Push(triValue(checkErr(L, 1).Retryable)); return 1 },
		"details": func(L *lua.LState) int {
			e := checkErr(L, 1)
			if e.Details.IsNil() {
				L.Push(lua.LNil)
			} else {
				L.Push(FromValue(L, e.Details))
			}
			return 1
		},
		"stack": func(L *lua.LState) int { checkErr(L, 1); L.Push(lua.LString("")); return 1 },
	})
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(errorText(checkErr(L, 1))))
		return 1
	}))
	mt.RawSetString("__concat", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(concatOperand(L, 1) + concatOperand(L, 2)))
		return 1
	}))
	// Two error objects are equal when kind and message match, as
	// proc.Error.Is decides in Go; so errors that crossed a process
	// boundary (copies) still compare equal.
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		a, okA := errorOf(L.Get(1))
		b, okB := errorOf(L.Get(2))
		L.Push(lua.LBool(okA && okB && a.Is(b)))
		return 1
	}))
	return mt
}

func concatOperand(L *lua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	if e, ok := errorOf(L.Get(n)); ok {
		return errorText(e)
	}
	L.RaiseError("attempt to concatenate a %s value", L.Get(n).Type().String())
	return ""
}

func checkErr(L *lua.LState, n int) *proc.Error {
	e, ok := errorOf(L.Get(n))
	if !ok {
		L.ArgError(n, "error object expected, got "+L.Get(n).Type().String())
	}
	return e
}

func triValue(t msg.Tri) lua.LValue {
	switch t {
	case msg.True:
		return lua.LTrue
	case msg.False:
		return lua.LFalse
	}
	return lua.LNil
}

func (lib *Lib) openErrors(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, len(kinds)+3)
	for _, k := range kinds {
		t.RawSetString(k, lua.LString(k))
	}
	setFuncs(L, t, map[string]lua.LGFunction{
		"new":  lib.errorsNew,
		"wrap": lib.errorsWrap,
		"is":   errorsIs,
	})
	return t
}

// errorsNew implements errors.new(msg), errors.new{message=, kind=,
// retryable=, details=} and errors.new(kind, msg).
func (lib *Lib) errorsNew(L *lua.LState) int {
	e := &proc.Error{Kind: proc.KindUnknown}
	switch a := L.Get(1).(type) {
	case lua.LString:
		if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
			m, ok := L.Get(2).(lua.LString)
			if !ok {
				L.ArgError(2, "message string expected")
			}
			e.Kind, e.Message = kindOrUnknown(string(a)), string(m)
		} else {
			e.Message = string(a)
		}
	case *lua.LTable:
		m, ok := a.RawGetString("message").(lua.LString)
		if !ok {
			L.ArgError(1, "field 'message' must be a string")
		}
		e.Message = string(m)
		switch k := a.RawGetString("kind").(type) {
		case lua.LString:
			e.Kind = kindOrUnknown(string(k))
		case *lua.LNilType:
		default:
			L.ArgError(1, "field 'kind' must be a string")
		}
		switch r := a.RawGetString("retryable").(type) {
		case lua.LBool:
			e.Retryable = msg.TriOf(bool(r))
		case *lua.LNilType:
		default:
			L.ArgError(1, "field 'retryable' must be a boolean")
		}
		if d := a.RawGetString("details"); d != lua.LNil {
			if _, ok := d.(*lua.LTable); !ok {
				L.ArgError(1, "field 'details' must be a table")
			}
			v, err := ToValue(L, d)
			if err != nil {
				L.ArgError(1, "field 'details': "+err.Error())
			}
			e.Details = v
		}
	default:
		if old, ok := errorOf(a); ok {
			e = old
			break
		}
		L.ArgError(1, "string or table expected, got "+a.Type().String())
	}
	L.Push(lib.newError(L, e))
	return 1
}

func kindOrUnknown(k string) string {
	if k == "" {
		return proc.KindUnknown
	}
	return k
}

// errorsWrap implements errors.wrap(err, msg). A nil err gives nil, so
// `return nil, errors.wrap(err, "ctx")` needs no test first.
func (lib *Lib) errorsWrap(L *lua.LState) int {
	inner := L.Get(1)
	text := L.CheckString(2)
	if inner == lua.LNil {
		L.Push(lua.LNil)
		return 1
	}
	var e *proc.Error
	if old, ok := errorOf(inner); ok {
		cp := *old
		e = &cp
	} else {
		e = ErrorFromLua(L, inner)
	}
	e.Message = text + ": " + e.Message
	L.Push(lib.newError(L, e))
	return 1
}

// errorsIs implements errors.is(err, kind). The second argument may also be
// an error object: then kind and message must match (as == does).
func errorsIs(L *lua.LState) int {
	e, ok := errorOf(L.Get(1))
	if !ok {
		L.Push(lua.LFalse)
		return 1
	}
	switch t := L.Get(2).(type) {
	case lua.LString:
		L.Push(lua.LBool(e.Kind == string(t)))
	default:
		other, ok := errorOf(t)
		if !ok {
			L.ArgError(2, "kind string or error object expected")
		}
		L.Push(lua.LBool(e.Is(other)))
	}
	return 1
}

// PushError pushes nil and err as an error object (any error; a *proc.Error
// anywhere in its chain keeps its kind, others are UNKNOWN) and returns 2:
// the `return nil, err` of a Go function called from Lua.
func PushError(L *lua.LState, err error) int { return LibOf(L).pushGoErr(L, err) }

// pushErr pushes nil and an error object: the `nil, err` return.
func (lib *Lib) pushErr(L *lua.LState, e *proc.Error) int {
	L.Push(lua.LNil)
	L.Push(lib.newError(L, e))
	return 2
}

// pushGoErr pushes nil and err converted to an error object.
func (lib *Lib) pushGoErr(L *lua.LState, err error) int {
	return lib.pushErr(L, proc.AsError(err))
}
