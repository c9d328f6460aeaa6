package lualib

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// maxSafeInt is 2^53: numbers integral within ±maxSafeInt are integers.
const maxSafeInt = 1 << 53

// ToValue converts a Lua value to a payload value (a deep copy), following
// SPEC section 7. The error, when not nil, is an INVALID *proc.Error that
// wraps ErrUnsupported, ErrCycle, ErrTooDeep or ErrKey and names the path
// of the culprit (e.g. `at .jobs[3].fn`).
func ToValue(L *lua.LState, v lua.LValue) (msg.Value, error) {
	var val msg.Value
	err := ToValueInto(&val, L, v)
	return val, err
}

// ToValueInto is ToValue writing the value to *dst (msg.Nil with an
// error). A send converts its payload this way: a Value returned through
// each call on the way is copied each time, which cost more than the
// conversion of a scalar itself.
func ToValueInto(dst *msg.Value, L *lua.LState, v lua.LValue) error {
	if scalarInto(dst, v) {
		return nil
	}
	var c converter
	val, cerr := c.value(v, 0)
	if cerr != nil {
		*dst = msg.Nil
		return cerr.procError()
	}
	*dst = val
	return nil
}

// converter walks one value; stack holds the tables being converted, to
// tell a cycle from a table reached twice (which is copied twice).
type converter struct {
	stack []*lua.LTable
}

type convError struct {
	sentinel error
	detail   string
	path     []string // innermost first
}

func (e *convError) procError() *proc.Error {
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	where := ""
	if b.Len() > 0 {
		where = " at " + b.String()
	}
	if e.detail != "" {
		return invalid(e.sentinel, "%s%s", e.detail, where)
	}
	return invalid(e.sentinel, "%s", strings.TrimPrefix(where, " "))
}

func (e *convError) at(key lua.LValue) *convError {
	e.path = append(e.path, pathSegment(key))
	return e
}

func pathSegment(key lua.LValue) string {
	switch k := key.(type) {
	case lua.LString:
		if isIdent(string(k)) {
			return "." + string(k)
		}
		return "[" + strconv.Quote(string(k)) + "]"
	case lua.LNumber:
		return "[" + k.String() + "]"
	}
	return "[" + key.Type().String() + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func numberValue(n lua.LNumber) msg.Value {
	f := float64(n)
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInt {
		return msg.Int(int64(f))
	}
	return msg.Float(f)
}

// scalarInto converts nil, a boolean, a number or a string into *dst and
// reports true; anything else it leaves to the converter.
func scalarInto(dst *msg.Value, v lua.LValue) bool {
	switch x := v.(type) {
	case *lua.LNilType:
		*dst = msg.Nil
	case lua.LBool:
		*dst = msg.Bool(bool(x))
	case lua.LNumber:
		*dst = numberValue(x)
	case lua.LString:
		*dst = msg.String(string(x))
	default:
		return false
	}
	return true
}

// value converts v, which sits inside depth containers.
func (c *converter) value(v lua.LValue, depth int) (msg.Value, *convError) {
	var val msg.Value
	if scalarInto(&val, v) {
		return val, nil
	}
	switch x := v.(type) {
	case *lua.LTable:
		return c.table(x, depth)
	case *lua.LUserData:
		return c.userdata(x, depth)
	case *lua.LFunction:
		return msg.Nil, &convError{sentinel: ErrUnsupported, detail: "function"}
	case *lua.LState:
		return msg.Nil, &convError{sentinel: ErrUnsupported, detail: "coroutine"}
	case lua.LChannel:
		return msg.Nil, &convError{sentinel: ErrUnsupported, detail: "channel"}
	}
	return msg.Nil, &convError{sentinel: ErrUnsupported, detail: v.Type().String()}
}

func (c *converter) userdata(ud *lua.LUserData, depth int) (msg.Value, *convError) {
	var val msg.Value
	switch x := ud.Value.(type) {
	case *proc.Error:
		val = x.Value()
	case pid.PID:
		return msg.String(x.String()), nil
	case *payloadObject:
		val = x.value
	default:
		return msg.Nil, &convError{sentinel: ErrUnsupported, detail: userdataName(ud)}
	}
	if depth+val.Depth() > msg.MaxDepth {
		return msg.Nil, &convError{sentinel: ErrTooDeep, detail: "more than " + strconv.Itoa(msg.MaxDepth) + " levels"}
	}
	return val, nil
}

// tableShape reports whether t holds exactly the keys 1..n (n may be 0),
// and n; or the first key that is neither a string nor an integer.
func tableShape(t *lua.LTable) (isList bool, n int, bad lua.LValue) {
	isList = true
	count, maxIdx := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		count++
		switch key := k.(type) {
		case lua.LString:
			isList = false
		case lua.LNumber:
			i, ok := intKey(key)
			if !ok {
				return false, 0, k
			}
			if i < 1 {
				isList = false
			} else if i > int64(maxIdx) {
				maxIdx = int(min(i, math.MaxInt32))
			}
		default:
			return false, 0, k
		}
	}
	if isList && maxIdx != count {
		isList = false
	}
	return isList, count, nil
}

// intKey returns n as an int64 if it is integral and within int64 range.
func intKey(n lua.LNumber) (int64, bool) {
	f := float64(n)
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func (c *converter) table(t *lua.LTable, depth int) (msg.Value, *convError) {
	for _, s := range c.stack {
		if s == t {
			return msg.Nil, &convError{sentinel: ErrCycle}
		}
	}
	if depth+1 > msg.MaxDepth {
		return msg.Nil, &convError{sentinel: ErrTooDeep, detail: "more than " + strconv.Itoa(msg.MaxDepth) + " levels"}
	}
	c.stack = append(c.stack, t)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()

	isList, n, bad := tableShape(t)
	if bad != nil {
		return msg.Nil, &convError{sentinel: ErrKey, detail: "got " + keyDesc(bad)}
	}
	if isList {
		items := make([]msg.Value, n)
		for i := range n {
			v, err := c.value(t.RawGetInt(i+1), depth+1)
			if err != nil {
				return msg.Nil, err.at(lua.LNumber(i + 1))
			}
			items[i] = v
		}
		return msg.List(items...), nil
	}
	pairs := make([]msg.Pair, 0, n)
	for k, lv := t.Next(lua.LNil); k != lua.LNil; k, lv = t.Next(k) {
		v, err := c.value(lv, depth+1)
		if err != nil {
			return msg.Nil, err.at(k)
		}
		var key msg.Value
		if s, ok := k.(lua.LString); ok {
			key = msg.String(string(s))
		} else {
			i, _ := intKey(k.(lua.LNumber))
			key = msg.Int(i)
		}
		pairs = append(pairs, msg.Pair{Key: key, Val: v})
	}
	m, _ := msg.Map(pairs...) // keys checked by tableShape
	return m, nil
}

func keyDesc(k lua.LValue) string {
	if n, ok := k.(lua.LNumber); ok {
		return "number key " + n.String()
	}
	return k.Type().String() + " key"
}

// FromValue converts a payload value to a fresh Lua value: lists and maps
// become new tables, bytes and PIDs become strings, errors become error
// objects. Integers beyond ±2^53 lose precision (Lua numbers are floats).
func FromValue(L *lua.LState, v msg.Value) lua.LValue {
	return LibOf(L).fromValue(L, v)
}

func (lib *Lib) fromValue(L *lua.LState, v msg.Value) lua.LValue {
	switch v.Kind() {
	case msg.KindBool:
		b, _ := v.AsBool()
		return lua.LBool(b)
	case msg.KindInt:
		i, _ := v.AsInt()
		return lua.LNumber(float64(i))
	case msg.KindFloat:
		f, _ := v.AsFloat()
		return lua.LNumber(f)
	case msg.KindString:
		s, _ := v.AsString()
		return lua.LString(s)
	case msg.KindBytes:
		s, _ := v.BytesString()
		return lua.LString(s)
	case msg.KindPID:
		p, _ := v.AsPID()
		return lua.LString(p.String())
	case msg.KindList:
		items := v.Items()
		t := L.CreateTable(len(items), 0)
		for i, it := range items {
			t.RawSetInt(i+1, lib.fromValue(L, it))
		}
		return t
	case msg.KindMap:
		ps := v.Pairs()
		t := L.CreateTable(0, len(ps))
		for _, p := range ps {
			val := lib.fromValue(L, p.Val)
			if s, ok := p.Key.AsString(); ok {
				t.RawSetString(s, val)
			} else {
				i, _ := p.Key.AsInt()
				t.RawSet(lua.LNumber(float64(i)), val)
			}
		}
		return t
	case msg.KindError:
		ev, _ := v.AsError()
		return lib.newError(L, proc.ErrorFromValue(ev))
	}
	return lua.LNil
}
