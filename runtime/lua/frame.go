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
//
// The mirror is written for one gopher-lua release, pinnedGopherLua (also
// noted in go.mod). checkLayout catches a changed layout, not a changed
// meaning (a field renamed in place, a frame pushed differently), so a test
// fails whenever the build's gopher-lua is not the pinned one: an upgrade
// means reading the new callFrame and LState, then moving the pin.

// pinnedGopherLua is the gopher-lua release frame and reset were checked
// against.
const pinnedGopherLua = "v1.1.2"

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

// growStack mirrors gopher-lua's autoGrowingCallFrameStack, the call
// stack of a state made with MinimizeStackMemory: a table of segments of
// framesPerSegment frames, the index of the segment in use and the frames
// used in it.
type growStack struct {
	segments []unsafe.Pointer
	segIdx   uint16
	segSp    uint8
}

// registry mirrors the leading fields of gopher-lua's registry, a state's
// value stack.
type registry struct {
	array  []glua.LValue
	top    int
	growBy int
}

// Offsets of unexported LState fields, found by reflection; checkLayout
// verifies their types.
var (
	frameOffset   = fieldOffset("currentFrame")
	uvcacheOffset = fieldOffset("uvcache")
	regOffset     = fieldOffset("reg")
	stackField, _ = reflect.TypeOf(glua.LState{}).FieldByName("stack")
)

func fieldOffset(name string) uintptr {
	f, ok := reflect.TypeOf(glua.LState{}).FieldByName(name)
	if !ok {
		return 0
	}
	return f.Offset
}

// frameStack is the method set of gopher-lua's call-frame stacks that
// reset uses.
type frameStack interface {
	Clear()
	IsEmpty() bool
}

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
	uv, ok := reflect.TypeOf(glua.LState{}).FieldByName("uvcache")
	if !ok || uv.Type != reflect.TypeOf((*glua.Upvalue)(nil)) {
		return fmt.Errorf("%w: LState.uvcache", ErrLayout)
	}
	if stackField.Type == nil || stackField.Type.Kind() != reflect.Interface {
		return fmt.Errorf("%w: LState.stack", ErrLayout)
	}
	if err := sameLayout(fieldType("reg"), reflect.TypeOf(registry{}), "registry"); err != nil {
		return err
	}
	if err := sameLayout(reflect.TypeOf(&glua.LTable{}), reflect.TypeOf(table{}), "table"); err != nil {
		return err
	}
	L := glua.NewState(glua.Options{SkipOpenLibs: true, MinimizeStackMemory: true})
	defer L.Close()
	if _, ok := stackOf(L).(frameStack); !ok {
		return fmt.Errorf("%w: LState.stack has no Clear", ErrLayout)
	}
	return sameLayout(reflect.TypeOf(stackOf(L)), reflect.TypeOf(growStack{}), "call stack")
}

func fieldType(name string) reflect.Type {
	f, _ := reflect.TypeOf(glua.LState{}).FieldByName(name)
	return f.Type
}

// sameLayout checks that real, a pointer to a struct, begins with the
// fields of mine: same names, offsets and kinds.
func sameLayout(real, mine reflect.Type, what string) error {
	if real == nil || real.Kind() != reflect.Pointer || real.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: %s is %v", ErrLayout, what, real)
	}
	real = real.Elem()
	if real.NumField() < mine.NumField() {
		return fmt.Errorf("%w: %s has %d fields", ErrLayout, what, real.NumField())
	}
	for i := 0; i < mine.NumField(); i++ {
		r, m := real.Field(i), mine.Field(i)
		if r.Name != m.Name || r.Offset != m.Offset || r.Type.Kind() != m.Type.Kind() ||
			(r.Type.Kind() == reflect.Slice && r.Type.Elem().Kind() != m.Type.Elem().Kind() &&
				!(m.Type.Elem().Kind() == reflect.UnsafePointer && r.Type.Elem().Kind() == reflect.Pointer)) {
			return fmt.Errorf("%w: %s field %d is %s %v at %d", ErrLayout, what, i, r.Name, r.Type, r.Offset)
		}
	}
	return nil
}

// callStack returns L's call stack; L's options must have had
// MinimizeStackMemory (checkLayout verified the type).
func callStack(L *glua.LState) *growStack {
	return *(**growStack)(unsafe.Add(unsafe.Pointer(L), stackField.Offset+unsafe.Sizeof(uintptr(0))))
}

// registryOf returns L's value stack.
func registryOf(L *glua.LState) *registry {
	return *(**registry)(unsafe.Add(unsafe.Pointer(L), regOffset))
}

// stackOf returns L's call-frame stack.
func stackOf(L *glua.LState) any {
	return reflect.NewAt(stackField.Type, unsafe.Add(unsafe.Pointer(L), stackField.Offset)).Elem().Interface()
}

// reset clears the frames of a state whose code will never run again (a
// killed process, a coroutine that raised), so the state can be reused. It
// refuses, returning false, when an open upvalue still points into the
// state's value stack: a closure that outlives the state could otherwise
// read the next user's values.
func reset(L *glua.LState) bool {
	base := unsafe.Pointer(L)
	if *(**glua.Upvalue)(unsafe.Add(base, uvcacheOffset)) != nil {
		return false
	}
	cs, ok := stackOf(L).(frameStack)
	if !ok {
		return false
	}
	cs.Clear()
	*(**frame)(unsafe.Add(base, frameOffset)) = nil
	L.SetTop(0)
	return true
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
