package lualib

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Payload formats (LUA-API section 6).
const (
	FormatJSON    = "json/plain"
	FormatYAML    = "yaml/plain"
	FormatString  = "text/plain"
	FormatBytes   = "application/octet-stream"
	FormatMsgpack = "application/msgpack"
	FormatLua     = "lua/any"
	FormatGolang  = "golang/any"
	FormatError   = "golang/error"
)

var formatNames = [...][2]string{
	{"JSON", FormatJSON}, {"YAML", FormatYAML}, {"STRING", FormatString},
	{"BYTES", FormatBytes}, {"MSGPACK", FormatMsgpack}, {"LUA", FormatLua},
	{"GOLANG", FormatGolang}, {"ERROR", FormatError},
}

// payloadObject is the Value of a Payload userdata. A Payload belongs to
// one process; data caches the Lua value so that data() returns the same
// table on every call.
type payloadObject struct {
	format payloadFormat
	value  msg.Value
	data   lua.LValue // nil until first data()/unmarshal()
}

// payloadFormat is the format of a payloadObject: one of the few a
// Payload can be in so far, in a byte rather than a string (a message
// carries a Payload, and its size is paid on every message).
type payloadFormat uint8

const (
	formatLua payloadFormat = iota
	formatError
	formatJSON
)

// String returns the format's name, e.g. "lua/any".
func (f payloadFormat) String() string {
	switch f {
	case formatError:
		return FormatError
	case formatJSON:
		return FormatJSON
	}
	return FormatLua
}

// NewPayload returns a Payload holding v: format "golang/error" for an
// error value, "lua/any" otherwise. msg:payload() uses it.
func NewPayload(L *lua.LState, v msg.Value) lua.LValue {
	return LibOf(L).newPayload(L, &payloadObject{format: formatOf(v), value: v})
}

// PayloadValue returns the value held by a Payload userdata, and whether v
// is one. A JSON payload holds its text as a string value.
func PayloadValue(v lua.LValue) (msg.Value, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		if p, ok := ud.Value.(*payloadObject); ok {
			return p.value, true
		}
	}
	return msg.Nil, false
}

// PayloadCell is a Payload userdata and its object in one block, for a
// caller that embeds it in an object it allocates anyway: a received
// message holds one for its first payload() call, so reading a message's
// payload costs no allocation of its own. The zero value holds nil.
type PayloadCell struct {
	ud  lua.LUserData // Value is nil until the cell is handed out
	obj payloadObject
}

// Set makes c hold v. Only before c is handed out.
func (c *PayloadCell) Set(v msg.Value) { c.obj.value = v }

// Value returns the value c holds.
func (c *PayloadCell) Value() msg.Value { return c.obj.value }

// Payload returns what NewPayload(L, c.Value()) returns: the cell itself
// the first time, a new Payload after that, so that no two calls share a
// Payload (and its cached data) as before. lib is L's Lib.
func (c *PayloadCell) Payload(L *lua.LState, lib *Lib) lua.LValue {
	if c.ud.Value != nil {
		return lib.newPayload(L, &payloadObject{format: formatOf(c.obj.value), value: c.obj.value})
	}
	c.obj.format = formatOf(c.obj.value)
	c.ud = lua.LUserData{Value: &c.obj, Env: L.Env, Metatable: lib.payloadMeta}
	return &c.ud
}

func formatOf(v msg.Value) payloadFormat {
	if v.Kind() == msg.KindError {
		return formatError
	}
	return formatLua
}

func (lib *Lib) newPayload(L *lua.LState, p *payloadObject) lua.LValue {
	ud := L.NewUserData()
	ud.Value = p
	ud.Metatable = lib.payloadMeta
	return ud
}

func checkPayload(L *lua.LState, n int) *payloadObject {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if p, ok := ud.Value.(*payloadObject); ok {
			return p
		}
	}
	L.ArgError(n, "payload expected, got "+L.Get(n).Type().String())
	return nil
}

func (lib *Lib) openPayload(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 2)
	format := L.CreateTable(0, len(formatNames))
	for _, f := range formatNames {
		format.RawSetString(f[0], lua.LString(f[1]))
	}
	// A plain nested table: the caller's per-process view freezes nested
	// tables along with the module (see the package doc).
	t.RawSetString("format", format)
	t.RawSetString("new", L.NewFunction(func(L *lua.LState) int {
		v, err := ToValue(L, L.Get(1))
		if err != nil {
			return lib.pushGoErr(L, err)
		}
		// The payload holds a copy: later changes to the table do not
		// show, as for a sent message.
		L.Push(lib.newPayload(L, &payloadObject{format: formatOf(v), value: v}))
		return 1
	}))
	return t
}

func (lib *Lib) newPayloadMeta(L *lua.LState) *lua.LTable {
	mt := newMeta(L, map[string]lua.LGFunction{
		"get_format": func(L *lua.LState) int {
			L.Push(lua.LString(checkPayload(L, 1).format.String()))
			return 1
		},
		"data": func(L *lua.LState) int {
			L.Push(lib.payloadData(L, checkPayload(L, 1)))
			return 1
		},
		"unmarshal": func(L *lua.LState) int {
			p := checkPayload(L, 1)
			if p.format != formatJSON {
				L.Push(lib.payloadData(L, p))
				return 1
			}
			s, _ := p.value.AsString()
			v, err := DecodeJSON(L, s)
			if err != nil {
				return lib.pushGoErr(L, err)
			}
			L.Push(v)
			return 1
		},
		"transcode": lib.payloadTranscode,
	})
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("payload(" + checkPayload(L, 1).format.String() + ")"))
		return 1
	}))
	return mt
}

func (lib *Lib) payloadData(L *lua.LState, p *payloadObject) lua.LValue {
	if p.data == nil {
		p.data = lib.fromValue(L, p.value)
	}
	return p.data
}

// payloadTranscode implements p:transcode(fmt). Only JSON and back to Lua
// exist for now; other known formats give INTERNAL "not supported yet",
// unknown names INVALID.
func (lib *Lib) payloadTranscode(L *lua.LState) int {
	p := checkPayload(L, 1)
	to := L.CheckString(2)
	if to == p.format.String() {
		L.Push(L.Get(1))
		return 1
	}
	switch {
	case to == FormatJSON:
		s, err := EncodeJSON(L, lib.payloadData(L, p))
		if err != nil {
			return lib.pushGoErr(L, err)
		}
		L.Push(lib.newPayload(L, &payloadObject{format: formatJSON, value: msg.String(s)}))
		return 1
	case to == FormatLua && p.format == formatJSON:
		s, _ := p.value.AsString()
		v, err := DecodeJSON(L, s)
		if err != nil {
			return lib.pushGoErr(L, err)
		}
		val, err := ToValue(L, v)
		if err != nil {
			return lib.pushGoErr(L, err)
		}
		L.Push(lib.newPayload(L, &payloadObject{format: formatLua, value: val, data: v}))
		return 1
	}
	for _, f := range formatNames {
		if f[1] == to {
			return lib.pushErr(L, proc.Errorf(proc.KindInternal, msg.False, "%w: transcode %s to %s", ErrNotYet, p.format.String(), to))
		}
	}
	return lib.pushErr(L, invalid(ErrInvalidArg, "unknown payload format %q", to))
}
