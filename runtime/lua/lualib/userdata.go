package lualib

import (
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// userdataName names the userdata types of this package for messages.
func userdataName(ud *lua.LUserData) string {
	switch ud.Value.(type) {
	case *proc.Error:
		return "error"
	case time.Time:
		return "Time"
	case time.Duration:
		return "Duration"
	case *time.Location:
		return "Location"
	case *payloadObject:
		return "Payload"
	case *loggerObject:
		return "Logger"
	case pid.PID:
		return "pid"
	}
	return "userdata"
}

// userdataString renders the userdata types of this package as their
// __tostring does, without calling into Lua.
func userdataString(ud *lua.LUserData) (string, bool) {
	switch x := ud.Value.(type) {
	case *proc.Error:
		return errorText(x), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	case time.Duration:
		return x.String(), true
	case *time.Location:
		return x.String(), true
	case *payloadObject:
		return "payload(" + x.format.String() + ")", true
	case pid.PID:
		return x.String(), true
	}
	return "", false
}

// CopyTable returns a shallow copy of t (its metatable is not copied). The
// process behaviour uses it to extend a shared module, such as adding
// sleep and after to Lib.Time(), without writing to the shared table.
func CopyTable(L *lua.LState, t *lua.LTable) *lua.LTable {
	c := L.CreateTable(0, 0)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		c.RawSet(k, v)
	}
	return c
}
