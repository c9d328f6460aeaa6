package lua

import (
	"fmt"
	"reflect"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// gopher-lua keeps the call frames of a state unexported. Two decisions of
// this package need them, both at the moment a Go function is about to yield:
// whether a yield is possible at all (the function must have been reached
// through plain Lua calls only, see yieldable), and how many results the
// calling instruction expects (resumed values are padded to that count, or
// the caller would read stale registers). frame mirrors callFrame of the
// pinned gopher-lua version; checkLayout verifies the mirror field by field
// when an Engine is built, so a dependency upgrade that changes the layout
// fails loudly instead of reading garbage.

// frame mirrors gopher-lua's callFrame.
type frame struct {
	Idx        int
	Fn         *glua.LFunction
	Parent     *frame
	Pc         int
	Base       int
	LocalBase  int
	ReturnBase int
	NArgs      int
	NRet       int
	TailCall   int
}

// frameOffset is the offset of LState.currentFrame, found by reflection.
var frameOffset = func() uintptr {
	f, ok := reflect.TypeOf(glua.LState{}).FieldByName("currentFrame")
	if !ok {
		return 0
	}
	return f.Offset
}()

// checkLayout reports whether frame and the offset of currentFrame match the
// gopher-lua in the build.
func checkLayout() error {
	f, ok := reflect.TypeOf(glua.LState{}).FieldByName("currentFrame")
	if !ok || f.Type.Kind() != reflect.Pointer {
		return fmt.Errorf("%w: LState.currentFrame not found", ErrLayout)
	}
	real, mine := f.Type.Elem(), reflect.TypeOf(frame{})
	if real.Size() != mine.Size() || real.NumField() != mine.NumField() {
		return fmt.Errorf("%w: callFrame has %d fields, %d bytes", ErrLayout, real.NumField(), real.Size())
	}
	for i := 0; i < real.NumField(); i++ {
		r, m := real.Field(i), mine.Field(i)
		if r.Name != m.Name || r.Offset != m.Offset || r.Type.Kind() != m.Type.Kind() {
			return fmt.Errorf("%w: callFrame field %d is %s at %d", ErrLayout, i, r.Name, r.Offset)
		}
	}
	return nil
}

// currentFrame returns the frame L is executing (a Go function's own frame
// when called from one).
func currentFrame(L *glua.LState) *frame {
	return *(**frame)(unsafe.Add(unsafe.Pointer(L), frameOffset))
}

// started reports whether thread L has frames, i.e. was resumed and has not
// returned.
func started(L *glua.LState) bool { return currentFrame(L) != nil }

// yieldable reports whether the Go function running on L may yield: every
// frame from it down to the bottom of the thread was entered by a plain Lua
// call. A frame entered from Go (a table.sort comparator, a gsub callback), a
// metamethod or a generic-for iterator sits on a nested Go call of the
// interpreter, which a yield would unwind from under it.
func yieldable(L *glua.LState) bool {
	f := currentFrame(L)
	for f != nil && f.Parent != nil {
		p := f.Parent
		if p.Fn == nil || p.Fn.IsG || p.Pc < 1 || p.Pc > len(p.Fn.Proto.Code) {
			return false
		}
		if op := int(p.Fn.Proto.Code[p.Pc-1] >> 26); op != glua.OP_CALL && op != glua.OP_TAILCALL {
			return false
		}
		f = p
	}
	return true
}

// wantResults returns how many results the caller of the running Go
// function expects; -1 means all of them.
func wantResults(L *glua.LState) int {
	if f := currentFrame(L); f != nil {
		return f.NRet
	}
	return -1
}
