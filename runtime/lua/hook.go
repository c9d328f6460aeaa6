package lua

import (
	"time"
	"unsafe"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/proc"
)

// A process is the context.Context of every thread of its state, and
// gopher-lua's interpreter calls Done before each instruction it runs.
// That call is the process's hook: the one place where the engine sees
// Lua code run, at a cost of a few loads per instruction:
//
//   - Interrupt (terminate, a cancel timeout, node stop) and a memory fault
//     make Done return a closed channel, and the interpreter raises.
//   - The call stack of the running thread grows here, segment table
//     first, before gopher-lua would run out of it (see deepen).
//   - A concatenation is priced before it runs: `a .. b .. c` is the one
//     way for Lua code to make a large string without calling a builtin.
//   - Every tickEvery instructions, tock looks at the clock (a Step past
//     its slice takes turns on a lane, lanes.go) and charges the memory
//     account.
//
// Go code that runs long without Lua instructions (the pattern matcher,
// builtins building large strings) calls poll instead.

// tickEvery is how many instructions run between two tocks.
const tickEvery = 4096

// Deadline implements context.Context: there is none.
func (p *process) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context: nil (never ready) until the process is
// interrupted or fails; see the comment above for what else it does.
func (p *process) Done() <-chan struct{} {
	if c := p.done.Load(); c != nil {
		return *c
	}
	th := p.th
	if th == nil {
		return nil
	}
	if p.ticks--; p.ticks <= 0 {
		p.tock() // may interrupt (a memory fault, an Interrupt while waiting for a lane)
		if c := p.done.Load(); c != nil {
			return *c
		}
	}
	if cs := callStack(th); int(cs.segIdx)+2 >= len(cs.segments) || int(cs.segIdx) >= int(p.room) {
		p.deepen(th, cs)
	}
	// A concatenation is priced only against a bound: without one, the
	// instruction need not be looked at.
	if p.mem.limit > 0 {
		if f := currentFrame(th); f != nil && f.Fn != nil && f.Fn.Proto != nil {
			code := f.Fn.Proto.Code
			if pc := f.Pc - 1; pc >= 0 && pc < len(code) && int(code[pc]>>26) == glua.OP_CONCAT {
				p.concat(th, f, code[pc]) // raises when over the bound
			}
		}
	}
	return nil
}

// Err implements context.Context.
func (p *process) Err() error {
	switch {
	case p.fault != nil:
		return p.fault
	case p.done.Load() != nil:
		return errInterrupted
	}
	return nil
}

// Value implements context.Context.
func (p *process) Value(any) any { return nil }

// Interrupt stops the Lua code running in Step: the interpreter raises at
// its next instruction and no pcall catches it. Safe from any goroutine.
func (p *process) Interrupt() {
	p.done.Store(&p.eng.closed)
	if ls := p.lane.Load(); ls != nil {
		select {
		case ls.wake <- struct{}{}:
		default:
		}
	}
}

func (p *process) interrupted() bool { return p.done.Load() != nil }

// fail ends the process with err from inside its own Step: the running
// code unwinds as on an interrupt, and err is the exit reason.
func (p *process) fail(err *proc.Error) {
	if p.fault == nil {
		p.fault = err
	}
	p.done.Store(&p.eng.closed)
}

// poll is the hook of long-running Go code: the error to stop with, or nil.
func (p *process) poll() error {
	if p.done.Load() == nil {
		p.clock()
	}
	if p.done.Load() != nil {
		return p.Err()
	}
	return nil
}

// tock is the hook's periodic part.
func (p *process) tock() {
	p.ticks = tickEvery
	p.clock()
	p.mem.tock(p)
}

// framesPerSegment is gopher-lua's FramesPerSegment.
const framesPerSegment = 8

// deepen runs when the running thread's call stack reaches the last two
// segments its segment table holds. gopher-lua sizes that table for
// Options.CallStackSize when a state is made, one pointer per 8 frames, and
// panics when it is full; a deep limit would cost every coroutine of every
// process its table. So states start small (initialFrames) and the table
// doubles here, up to Config.CallStackSize frames plus two segments of
// margin: the hook runs at every instruction, and no more than a few frames
// are pushed between two instructions. Past the limit the code gets Lua's
// "stack overflow" error.
//
// The threads of nested pcall and resume calls run on top of each other
// (Go recursion: a metamethod or callback recursing in each of them would
// multiply), so the limit is on their frames together: p.base counts those
// of the threads below, and the hook also calls deepen from segment room on.
func (p *process) deepen(th *glua.LState, cs *growStack) {
	limit := p.eng.cfg.CallStackSize
	if d := int(cs.segIdx)*framesPerSegment + int(cs.segSp); d+int(p.base) >= limit {
		th.RaiseError("stack overflow")
	}
	most := (limit+framesPerSegment-1)/framesPerSegment + 2
	if len(cs.segments) >= most {
		return
	}
	segs := make([]unsafe.Pointer, min(2*len(cs.segments), most))
	copy(segs, cs.segments)
	cs.segments = segs
	// A deep stack needs a large value stack too, which gopher-lua grows
	// by a fixed step, copying it each time: make its steps grow too.
	if reg := registryOf(th); reg.growBy < len(reg.array) {
		reg.growBy = len(reg.array)
	}
}

// setRoom sets the segment from which the hook calls deepen: the last
// one before the thread's frames and the base together reach the limit.
func (p *process) setRoom() {
	p.room = int32((p.eng.cfg.CallStackSize-int(p.base))/framesPerSegment - 1)
}

// depth returns how many call frames thread L has.
func depth(L *glua.LState) int {
	cs := callStack(L)
	return int(cs.segIdx)*framesPerSegment + int(cs.segSp)
}

// concat prices the concatenation instruction inst before it runs: its
// operands are in registers B..C of frame f.
func (p *process) concat(th *glua.LState, f *frame, inst uint32) {
	if p.mem.limit == 0 {
		return
	}
	b, c := int(inst&0x1ff), int(inst>>9)&0x1ff
	reg := registryOf(th)
	lo, hi := f.LocalBase+b, f.LocalBase+c
	if lo < 0 || lo > hi || hi >= len(reg.array) {
		return
	}
	n := 0
	for _, v := range reg.array[lo : hi+1] {
		if s, ok := v.(glua.LString); ok {
			n += len(s)
		} else {
			n += 32 // a number's text, or what a __concat returns
		}
	}
	if n > bigPiece {
		p.need(th, n, "concatenation")
	}
}
