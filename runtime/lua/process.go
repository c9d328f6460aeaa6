package lua

import (
	"errors"
	"log/slog"
	"sync/atomic"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// errInterrupted is the context error of an interrupted process; the Lua
// code running when it happens raises its text.
var errInterrupted = errors.New("lua: process interrupted")

// process is one Lua process: a proc.Behavior. Its fields are touched only
// by the goroutine running Step or Kill (one runner per process), except
// done, which Interrupt sets from anywhere.
//
// A process is also the context.Context of every thread of its state: the
// interpreter polls Done between instructions, and Go functions find their
// process with procOf(L), a type assertion on L.Context().
type process struct {
	eng   *Engine
	src   *Source
	proto *glua.FunctionProto
	args  []msg.Value // arguments of main until the first Step
	// termDirty: this turn wrote to the terminal's stdout. Output is
	// buffered within a turn and flushed when the turn ends, so what a
	// program printed is visible whenever it waits (not only at exit).
	termDirty bool
	// routing is how many deliveries of the batch Step routes are not yet
	// routed, this one included (0 outside that loop). Here it fills the
	// padding after termDirty: past 568 bytes the struct and its malloc
	// header take the next size class, 64 bytes more per process.
	routing int32

	done  atomic.Pointer[chan struct{}] // set by Interrupt, or by fail
	fault *proc.Error                   // why fail ended the process
	th    *glua.LState                  // the thread running Lua code now
	mem   account
	lane  atomic.Pointer[laneState] // made at the first wait for a lane

	ticks   int32 // instructions until the next tock
	nesting int32 // nested pcall/resume calls running (Go recursion)
	base    int32 // call frames of the threads below the running one (coro.go)
	room    int32 // call-stack segment at which the hook calls deepen
	sliceAt int64 // when the Step's current slice began (lanes.go); 0 = not read yet

	L       *glua.LState
	globals *glua.LTable
	env     proc.Env // valid during Step only
	self    pid.PID

	main    *task
	runq    []*task
	rqHead  int
	cur     *task // task being resumed
	running *coro // coroutine whose thread executes now
	pending []*coro
	nret    int // results expected by the Go function that yielded last

	box  *mailbox     // routes of the mailbox; kept across upgrades
	held atomic.Int64 // messages queued in the inbox and listen channels (Held)
	// topics is a copy of the listened topics, sorted, for observers
	// (Topics), replaced on each listen and unlisten.
	topics  atomic.Pointer[[]string]
	timers  map[proc.TimerID]*timerRec
	require map[string]glua.LValue // loaded modules and imports

	lastPIDStr string  // parsePID's one-entry cache
	lastOrigin *origin // originOf's one-entry cache
	lastPID    pid.PID

	upgrade   *upgradeReq
	gen       int // upgrades so far
	trapLinks bool
	// Hot reload (outdated.go): the opt-in, what the reloader has
	// recorded, and the OUTDATED event last queued with its sources.
	upgradable   bool
	outdated     outdated
	outdatedEv   *glua.LTable
	outdatedSeen map[string]bool
	killed       bool
	finished     bool
	result       proc.Result
}

var (
	_ proc.Behavior     = (*process)(nil)
	_ proc.Interrupter  = (*process)(nil)
	_ proc.Holder       = (*process)(nil)
	_ lualib.Host       = (*process)(nil)
	_ lualib.Authorizer = (*process)(nil)
	_ lualib.Budget     = (*process)(nil)
)

// Logger implements lualib.Host.
func (p *process) Logger() *slog.Logger {
	return p.eng.log.With("pid", p.self.String(), "entry", p.src.ID)
}

// Env implements lualib.Host.
func (p *process) Env() lualib.EnvStore { return p.eng.cfg.Env }

// Authorize implements lualib.Authorizer with the runtime's check.
func (p *process) Authorize(action security.Action, resource string) error {
	return p.env.Authorize(action, resource)
}

// Can implements lualib.Authorizer.
func (p *process) Can(action security.Action, resource string, meta map[string]any) bool {
	return p.env.Can(action, resource, meta)
}

func newProcess(e *Engine, src *Source, proto *glua.FunctionProto, args []msg.Value) *process {
	return &process{eng: e, src: src, proto: proto, args: args}
}

// procOf returns the process a thread belongs to.
func procOf(L *glua.LState) *process {
	p, _ := L.Context().(*process)
	if p == nil {
		L.RaiseError("lua: state has no process")
	}
	return p
}

// stopping reports whether the running code must unwind without being
// caught: the process was interrupted or killed, or is upgrading.
func (p *process) stopping() bool { return p.killed || p.upgrade != nil || p.interrupted() }

// task is one line of execution the driver resumes: main, or a
// coroutine.spawn coroutine. Its stack holds the coroutines it is running,
// each waiting on the one above it (see coro.go); only the top can be
// blocked.
type task struct {
	stack   []*coro
	args    []glua.LValue // values to resume the top with
	spawned bool
	queued  bool
	waiting bool // registered on a channel, a timer or an exec
	sync    bool // waiting on its worker goroutine (see syncWait)
	woken   bool
	done    bool

	// What the task is registered on while waiting (for unwait).
	wch   *channel
	sel   *selectWait
	timer proc.TimerID

	// w is the task's entry in a channel's queue while it waits in a
	// plain send or receive (a select makes one per case), and argv backs
	// the (value, ok) a receive is woken with: a task waits on one thing
	// at a time, and a process in a ring waits and wakes once per turn.
	w    waiter
	argv [2]glua.LValue
}

// Step implements proc.Behavior.
func (p *process) Step(env proc.Env, batch []proc.Delivery) (st proc.Status, res proc.Result) {
	if p.finished || p.killed {
		return proc.StatusDone, p.result
	}
	p.env = env
	p.sliceAt = 0
	defer func() {
		p.dropLane()
		if r := recover(); r != nil {
			p.L = nil // in an unknown state: neither pooled nor touched again
			st, res = proc.StatusDone, proc.Result{Err: proc.Panic(r)}
			p.finish(res)
		}
		p.env = nil
		if p.termDirty {
			p.termDirty = false
			_ = p.eng.Flush()
		}
	}()
	if p.L == nil {
		p.self = env.Self()
		if err := p.start(p.proto, p.args); err != nil {
			p.finish(proc.Result{Err: proc.AsError(err)})
			return proc.StatusDone, p.result
		}
		p.args = nil
	}
	for i := range batch {
		p.routing = int32(len(batch) - i)
		p.route(&batch[i])
	}
	p.routing = 0
	p.routeOutdated()
	drv := p.eng.drivers.Get().(*glua.LState)
	defer p.eng.drivers.Put(drv)
	for budget := p.eng.cfg.StepBudget; ; budget-- {
		t := p.next()
		if t == nil {
			break
		}
		if budget == 0 || env.Killed() {
			p.requeue(t)
			return proc.StatusYield, proc.Result{}
		}
		p.runTask(drv, t)
		if p.upgrade != nil {
			p.doUpgrade()
		}
		if p.finished {
			return proc.StatusDone, p.result
		}
	}
	if len(p.timers) > 0 {
		return proc.StatusBlock, proc.Result{}
	}
	return proc.StatusIdle, proc.Result{}
}

// Kill implements proc.Behavior: the process's code runs no further.
func (p *process) Kill(reason error) {
	p.forgetUpgradable()
	p.killed = true
	p.release()
	if !p.finished {
		p.finished = true
		p.result = proc.Result{Err: reason}
	}
}

// start builds the Lua state and queues main.
func (p *process) start(proto *glua.FunctionProto, args []msg.Value) error {
	p.L = p.eng.newState()
	p.mem.start(p.eng.maxMemory(p.self.Host))
	p.globals = p.L.G.Global
	p.L.SetContext(p)
	p.eng.lib.sandbox(p)
	chunk := p.L.NewFunctionFromProto(proto)
	vals := make([]glua.LValue, 0, len(args)+3)
	vals = append(vals, p.eng.lib.boot, chunk, glua.LString(p.src.Method))
	for _, a := range args {
		vals = append(vals, p.toLua(a))
	}
	root := &coro{th: p.L, fresh: true, kind: kindRoot, nret: -1}
	p.main = &task{stack: []*coro{root}}
	p.ready(p.main, vals)
	return nil
}

// release drops the Lua state and everything that refers to it.
func (p *process) release() {
	for _, t := range p.runq[p.rqHead:] {
		t.done = true
	}
	p.runq, p.rqHead = nil, 0
	if p.main != nil {
		p.main.done = true
	}
	p.main, p.cur, p.running, p.pending = nil, nil, nil, nil
	p.timers = nil
	p.require = nil
	if p.box != nil {
		p.box.dropWaiters()
	}
	if p.L != nil {
		p.eng.release(p.L)
		p.L = nil
	}
	p.globals = nil
}

// finish ends the process with res.
func (p *process) finish(res proc.Result) {
	if p.finished {
		return
	}
	p.finished = true
	p.result = res
	p.forgetUpgradable()
	if p.env != nil {
		for id := range p.timers {
			p.env.StopTimer(id)
		}
	}
	p.release()
}

// ready queues t to be resumed with args.
func (p *process) ready(t *task, args []glua.LValue) {
	if t.done {
		return
	}
	t.args = args
	t.waiting = false
	t.wch, t.sel, t.timer = nil, nil, 0
	if t.sync {
		t.woken = true
		return
	}
	if !t.queued {
		t.queued = true
		p.runq = append(p.runq, t)
	}
}

// requeue puts t back at the head of the run queue.
func (p *process) requeue(t *task) {
	t.queued = true
	if p.rqHead > 0 {
		p.rqHead--
		p.runq[p.rqHead] = t
		return
	}
	p.runq = append(p.runq, nil)
	copy(p.runq[1:], p.runq)
	p.runq[0] = t
}

// next pops the next runnable task.
func (p *process) next() *task {
	for p.rqHead < len(p.runq) {
		t := p.runq[p.rqHead]
		p.runq[p.rqHead] = nil
		p.rqHead++
		if p.rqHead == len(p.runq) {
			p.runq, p.rqHead = p.runq[:0], 0
		}
		t.queued = false
		if !t.done {
			return t
		}
	}
	return nil
}

// runTask resumes t on the driver until it blocks or ends.
func (p *process) runTask(drv *glua.LState, t *task) {
	p.cur = t
	args := t.args
	t.args = nil
	chain, out, vals := p.run(drv, t.stack, args)
	t.stack = chain
	p.cur = nil
	switch out {
	case outBlocked:
		t.waiting = true
		return
	case outYield:
		out, vals = outError, []glua.LValue{glua.LString("attempt to yield from outside a coroutine")}
	}
	t.done = true
	if !t.spawned {
		if out == outDone {
			p.finish(p.exitResult(vals))
		} else if p.upgrade == nil {
			p.finish(proc.Result{Err: p.errorOf(vals[0])})
		}
		return
	}
	if out == outError && !p.stopping() {
		p.eng.log.Error("lua: coroutine failed", "pid", p.self.String(), "entry", p.src.ID, "error", p.errorOf(vals[0]).Error())
	}
	if out == outError && p.interrupted() && p.main != nil {
		// An interrupt ends the whole process, whichever coroutine saw it.
		p.finish(proc.Result{Err: p.errorOf(vals[0])})
	}
}

// exitResult converts what main returned (count first) to a Result:
// a value is a normal exit, nil plus an error an error exit.
func (p *process) exitResult(vals []glua.LValue) proc.Result {
	n := 0
	if len(vals) > 0 {
		if c, ok := vals[0].(glua.LNumber); ok {
			n = int(c)
		}
		vals = vals[1:]
	}
	if n > len(vals) {
		n = len(vals)
	}
	if n >= 2 && vals[0] == glua.LNil && vals[1] != glua.LNil {
		return proc.Result{Err: p.errorOf(vals[1])}
	}
	if n == 0 || vals[0] == glua.LNil {
		return proc.Result{}
	}
	v, err := p.toValue(vals[0])
	if err != nil {
		return proc.Result{Err: proc.Errorf(proc.KindInvalid, msg.False, "result of main: %v", err)}
	}
	return proc.Result{Value: v}
}

// errorOf converts a raised Lua value or a returned error to an exit error.
// A process that failed (fail) exits with the reason it failed for.
func (p *process) errorOf(v glua.LValue) *proc.Error {
	if p.fault != nil {
		return p.fault
	}
	return lualib.ErrorFromLua(p.L, v)
}
