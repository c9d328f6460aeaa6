package lua

import (
	"time"
)

// Lanes: how Lua code that runs long shares the CPU.
//
// gopher-lua cannot suspend a state between two instructions, so a Step
// that runs past the time slice keeps its goroutine; the scheduler hands
// the worker's slot, and the rest of its queue, to a fresh goroutine. With
// nothing more, every CPU-bound process ends up on a goroutine of its own,
// and twenty of them leave a process that only answers pings one Go time
// slice in twenty-odd. So a Step that runs past Config.Slice takes a lane:
// one of Config.Lanes tokens (default GOMAXPROCS). It waits for one off its
// worker (Env.Blocking, which hands the slot on), runs a slice, then gives
// the lane to the next in line and queues again (a channel's waiters are
// served in order). At most Lanes goroutines run long Lua code at once;
// the workers keep running everything else. The clock is read by the hook
// every tickEvery instructions and by poll (the pattern matcher, large
// builtins), so a long builtin call takes its turns too.

// clock checks the slice; called every tickEvery instructions and from poll.
func (p *process) clock() {
	now := p.eng.now()
	switch {
	case p.sliceAt == 0:
		p.sliceAt = now // the Step's first look: its slice runs from here
	case now-p.sliceAt > int64(p.eng.cfg.Slice):
		p.sliceAt = now
		p.nextLane()
	}
}

// nextLane gives up the lane the process holds, if any, and waits for one,
// off its worker.
func (p *process) nextLane() {
	p.dropLane()
	if p.env == nil {
		return
	}
	p.env.Blocking(p.takeLane)
	p.sliceAt = p.eng.now()
}

// laneState is a process's part in the lanes, made when it first waits.
type laneState struct {
	held bool          // the process holds a lane
	wake chan struct{} // Interrupt's signal to a wait (buffered: it may come first)
}

// takeLane waits for a lane; an Interrupt ends the wait without one.
func (p *process) takeLane() {
	ls := p.lane.Load()
	if ls == nil {
		ls = &laneState{wake: make(chan struct{}, 1)}
		p.lane.Store(ls)
	}
	if p.interrupted() {
		return
	}
	select {
	case p.eng.lanes <- struct{}{}:
		ls.held = true
	case <-ls.wake:
	}
}

// dropLane gives up the lane the process holds.
func (p *process) dropLane() {
	if ls := p.lane.Load(); ls != nil && ls.held {
		ls.held = false
		<-p.eng.lanes
	}
}

// blocking runs f, which blocks its goroutine, off the worker and without
// a lane: a process waiting on I/O or a timer must not keep others from
// running.
func (p *process) blocking(f func()) {
	p.dropLane()
	p.env.Blocking(f)
}

// now is the engine's monotonic clock in nanoseconds.
func (e *Engine) now() int64 { return int64(time.Since(e.epoch)) }
