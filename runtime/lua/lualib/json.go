package lualib

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// maxJSONDepth is the deepest nesting json.encode and json.decode accept.
const maxJSONDepth = 128

func jsonError(sentinel error, format string, args ...any) *proc.Error {
	return proc.Errorf(proc.KindInternal, msg.False, "%w: "+format, append([]any{sentinel}, args...)...)
}

func (lib *Lib) openJSON(L *lua.LState) *lua.LTable {
	t := L.CreateTable(0, 2)
	setFuncs(L, t, map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int {
			s, err := EncodeJSON(L, L.Get(1))
			if err != nil {
				return lib.pushGoErr(L, err)
			}
			L.Push(lua.LString(s))
			return 1
		},
		"decode": func(L *lua.LState) int {
			text := L.CheckString(1)
			if len(text) > 64<<10 {
				// Decoded values take several times their text (a table
				// entry ~160 bytes for a key of ten): ask before, for four.
				need(L, 4*len(text), "json.decode")
			}
			v, err := DecodeJSON(L, text)
			if err != nil {
				return lib.pushGoErr(L, err)
			}
			L.Push(v)
			return 1
		},
	})
	return t
}

// EncodeJSON encodes v as json.encode does: object keys sorted, integral
// numbers without a fraction, NaN and ±Inf as null, an empty table as [].
// Errors are INTERNAL *proc.Errors.
func EncodeJSON(L *lua.LState, v lua.LValue) (string, error) {
	e := jsonEncoder{L: L, lib: LibOf(L)}
	if err := e.value(v, 0); err != nil {
		return "", err
	}
	return string(e.buf), nil
}

type jsonEncoder struct {
	L     *lua.LState
	lib   *Lib
	buf   []byte
	stack []*lua.LTable
}

func (e *jsonEncoder) value(v lua.LValue, depth int) *proc.Error {
	switch x := v.(type) {
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case lua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(x))
	case lua.LNumber:
		e.buf = appendJSONNumber(e.buf, float64(x))
	case lua.LString:
		e.buf = appendJSONString(e.buf, string(x))
	case *lua.LTable:
		return e.table(x, depth)
	case *lua.LUserData:
		return e.userdata(x, depth)
	default:
		return jsonError(ErrUnsupported, "cannot encode a %s", v.Type().String())
	}
	return nil
}

func (e *jsonEncoder) userdata(ud *lua.LUserData, depth int) *proc.Error {
	switch x := ud.Value.(type) {
	case *proc.Error:
		// {"details":...,"kind":...,"message":...,"retryable":...}, keys
		// sorted, details and retryable left out when unknown.
		e.buf = append(e.buf, '{')
		if !x.Details.IsNil() {
			e.buf = append(e.buf, `"details":`...)
			if err := e.value(e.lib.fromValue(e.L, x.Details), depth+1); err != nil {
				return err
			}
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, `"kind":`...)
		e.buf = appendJSONString(e.buf, x.Kind)
		e.buf = append(e.buf, `,"message":`...)
		e.buf = appendJSONString(e.buf, x.Message)
		if x.Retryable != msg.Unknown {
			e.buf = append(e.buf, `,"retryable":`...)
			e.buf = strconv.AppendBool(e.buf, x.Retryable == msg.True)
		}
		e.buf = append(e.buf, '}')
	case pid.PID:
		e.buf = appendJSONString(e.buf, x.String())
	case time.Time:
		e.buf = appendJSONString(e.buf, x.Format(time.RFC3339Nano))
	case time.Duration:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case *time.Location:
		e.buf = appendJSONString(e.buf, x.String())
	case *payloadObject:
		if x.format == formatJSON { // already JSON text, made by EncodeJSON
			s, _ := x.value.AsString()
			e.buf = append(e.buf, s...)
			return nil
		}
		return e.value(e.lib.fromValue(e.L, x.value), depth)
	default:
		return jsonError(ErrUnsupported, "cannot encode a %s", userdataName(ud))
	}
	return nil
}

func (e *jsonEncoder) table(t *lua.LTable, depth int) *proc.Error {
	for _, s := range e.stack {
		if s == t {
			return jsonError(ErrCycle, "cannot encode")
		}
	}
	if depth+1 > maxJSONDepth {
		return jsonError(ErrTooDeep, "more than %d levels", maxJSONDepth)
	}
	e.stack = append(e.stack, t)
	defer func() { e.stack = e.stack[:len(e.stack)-1] }()

	isList, n, bad := tableShape(t)
	if bad != nil {
		return jsonError(ErrKey, "cannot encode a %s", keyDesc(bad))
	}
	if isList {
		e.buf = append(e.buf, '[')
		for i := 1; i <= n; i++ {
			if i > 1 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(t.RawGetInt(i), depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	}
	keys := make([]string, 0, n)
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		s, ok := k.(lua.LString)
		if !ok {
			return jsonError(ErrMixedKeys, "integer keys must be 1..n with no string keys")
		}
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		if err := e.value(t.RawGetString(k), depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// appendJSONNumber writes integral numbers without a fraction (up to 1e21,
// beyond which JSON numbers conventionally switch to exponents), others in
// the shortest form that reads back to the same float; NaN and ±Inf become
// null, as JSON has no spelling for them.
func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	if f == 0 {
		return append(b, '0') // also -0
	}
	abs := math.Abs(f)
	if abs < 1e21 && (f == math.Trunc(f) || abs >= 1e-6) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	// 1e-07 -> 1e-7, as encoding/json writes it.
	if n := len(s); n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
		s = s[:n-2] + s[n-1:]
	}
	return append(b, s...)
}

// appendJSONString writes s quoted; bytes that are not UTF-8 become U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// DecodeJSON decodes s as json.decode does: objects and arrays become
// tables (arrays 1-based), null becomes nil. Errors are INTERNAL
// *proc.Errors wrapping ErrSyntax or ErrTooDeep.
func DecodeJSON(L *lua.LState, s string) (lua.LValue, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	d := jsonDecoder{L: L, dec: dec}
	tok, err := dec.Token()
	if err != nil {
		return lua.LNil, syntaxError(err)
	}
	v, perr := d.value(tok, 0)
	if perr != nil {
		return lua.LNil, perr
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return lua.LNil, jsonError(ErrSyntax, "data after the value at offset %d", dec.InputOffset())
		}
		return lua.LNil, syntaxError(err)
	}
	return v, nil
}

func syntaxError(err error) *proc.Error {
	if errors.Is(err, io.EOF) {
		return jsonError(ErrSyntax, "unexpected end of input")
	}
	return jsonError(ErrSyntax, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

type jsonDecoder struct {
	L   *lua.LState
	dec *json.Decoder
}

func (d *jsonDecoder) value(tok json.Token, depth int) (lua.LValue, *proc.Error) {
	switch t := tok.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(t), nil
	case string:
		return lua.LString(t), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return lua.LNil, jsonError(ErrSyntax, "number %s", t)
		}
		return lua.LNumber(f), nil
	case json.Delim:
		if depth+1 > maxJSONDepth {
			return lua.LNil, jsonError(ErrTooDeep, "more than %d levels", maxJSONDepth)
		}
		if t == '[' {
			return d.array(depth)
		}
		return d.object(depth)
	}
	return lua.LNil, jsonError(ErrSyntax, "unexpected token %v", tok)
}

func (d *jsonDecoder) array(depth int) (lua.LValue, *proc.Error) {
	tbl := d.L.CreateTable(0, 0)
	for i := 1; ; i++ {
		tok, err := d.dec.Token()
		if err != nil {
			return lua.LNil, syntaxError(err)
		}
		if tok == json.Delim(']') {
			return tbl, nil
		}
		v, perr := d.value(tok, depth+1)
		if perr != nil {
			return lua.LNil, perr
		}
		if v != lua.LNil {
			tbl.RawSetInt(i, v)
		}
	}
}

func (d *jsonDecoder) object(depth int) (lua.LValue, *proc.Error) {
	tbl := d.L.CreateTable(0, 0)
	for {
		tok, err := d.dec.Token()
		if err != nil {
			return lua.LNil, syntaxError(err)
		}
		if tok == json.Delim('}') {
			return tbl, nil
		}
		key, _ := tok.(string) // the decoder only yields strings here
		tok, err = d.dec.Token()
		if err != nil {
			return lua.LNil, syntaxError(err)
		}
		v, perr := d.value(tok, depth+1)
		if perr != nil {
			return lua.LNil, perr
		}
		tbl.RawSetString(key, v)
	}
}
