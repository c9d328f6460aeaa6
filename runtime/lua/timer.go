package lua

import (
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The blocking half of the `time` module. Every wait is a runtime timer
// (Env.StartTimer), never a Go timer per process: the Timer delivery comes
// back through the mailbox and wakes what waits on it.

// timerRec is what a pending runtime timer is for.
type timerRec struct {
	t   *task     // time.sleep: the sleeping task
	ch  *channel  // time.after: the channel that gets the time
	obj *timerObj // time.timer / time.ticker
}

// timerObj is a Timer or a Ticker.
type timerObj struct {
	id     proc.TimerID // pending runtime timer, 0 when none
	ch     *channel
	period time.Duration // ticker
}

func (p *process) startTimer(d time.Duration, rec *timerRec) proc.TimerID {
	id := p.env.StartTimer(d)
	if p.timers == nil {
		p.timers = make(map[proc.TimerID]*timerRec)
	}
	p.timers[id] = rec
	return id
}

func (p *process) stopTimer(id proc.TimerID) bool {
	if id == 0 {
		return false
	}
	if _, ok := p.timers[id]; !ok {
		return false
	}
	delete(p.timers, id)
	return p.env.StopTimer(id)
}

// fireTimer handles a Timer delivery.
func (p *process) fireTimer(id proc.TimerID) {
	rec, ok := p.timers[id]
	if !ok {
		return // stopped, or from a state replaced by an upgrade
	}
	delete(p.timers, id)
	switch {
	case rec.t != nil:
		p.ready(rec.t, nil)
	case rec.ch != nil:
		p.offer(rec.ch, p.now())
	case rec.obj != nil:
		o := rec.obj
		o.id = 0
		p.offer(o.ch, p.now())
		if o.period > 0 {
			o.id = p.startTimer(o.period, rec)
		}
	}
}

// offer sends v on a one-slot timer channel unless it is full (a slow
// ticker reader misses ticks, as in Go).
func (p *process) offer(ch *channel, v glua.LValue) {
	if !ch.closed {
		p.trySend(ch, v)
	}
}

func (p *process) now() glua.LValue { return lualib.NewTime(p.L, p.env.Now()) }

// duration reads a duration argument, raising an INVALID error object.
func duration(L *glua.LState, n int) time.Duration {
	d, err := lualib.ParseDuration(L, L.Get(n))
	if err != nil {
		lualib.Raise(L, proc.AsError(err))
	}
	return d
}

func timeSleep(L *glua.LState) int {
	p := procOf(L)
	d := duration(L, 1)
	if d <= 0 {
		return 0
	}
	if !yieldable(L) {
		if _, ok := p.env.(Receiver); !ok {
			p.blocking(func() { time.Sleep(d) })
			return 0
		}
	}
	t := p.cur
	t.timer = p.startTimer(d, &timerRec{t: t})
	return p.block(L)
}

func timeAfter(L *glua.LState) int {
	p := procOf(L)
	d := duration(L, 1)
	ch := p.newChannel(1)
	if d <= 0 {
		p.offer(ch, p.now())
	} else {
		p.startTimer(d, &timerRec{ch: ch})
	}
	L.Push(ch.ud)
	return 1
}

func newTimer(L *glua.LState, ticker bool) int {
	p := procOf(L)
	d := duration(L, 1)
	if d <= 0 {
		L.Push(glua.LNil)
		L.Push(lualib.NewError(L, proc.NewError(proc.KindInvalid, "duration must be positive", msg.False)))
		return 2
	}
	o := &timerObj{ch: p.newChannel(1)}
	if ticker {
		o.period = d
	}
	o.id = p.startTimer(d, &timerRec{obj: o})
	meta := p.eng.lib.timerMeta
	if ticker {
		meta = p.eng.lib.tickerMeta
	}
	L.Push(&glua.LUserData{Value: o, Metatable: meta})
	return 1
}

func timeTimer(L *glua.LState) int  { return newTimer(L, false) }
func timeTicker(L *glua.LState) int { return newTimer(L, true) }

func checkTimer(L *glua.LState) *timerObj {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if o, ok := ud.Value.(*timerObj); ok {
			return o
		}
	}
	L.ArgError(1, "timer expected")
	return nil
}

func timerChannel(L *glua.LState) int {
	L.Push(checkTimer(L).ch.ud)
	return 1
}

func timerStop(L *glua.LState) int {
	p := procOf(L)
	o := checkTimer(L)
	ok := p.stopTimer(o.id)
	o.id = 0
	o.period = 0
	L.Push(glua.LBool(ok))
	return 1
}

func timerReset(L *glua.LState) int {
	p := procOf(L)
	o := checkTimer(L)
	d := duration(L, 2)
	active := p.stopTimer(o.id)
	o.id = 0
	if d <= 0 {
		p.offer(o.ch, p.now())
	} else {
		o.id = p.startTimer(d, &timerRec{obj: o})
	}
	L.Push(glua.LBool(active))
	return 1
}

func (l *libs) buildTime(B *glua.LState) {
	t := lualib.CopyTable(B, l.lib.Time())
	for name, fn := range map[string]glua.LGFunction{
		"sleep": timeSleep, "after": timeAfter, "timer": timeTimer, "ticker": timeTicker,
	} {
		t.RawSetString(name, B.NewFunction(fn))
	}
	l.addRequired(B, "time", t)
	l.timerMeta = userMeta(B, "timer", nil)
	l.tickerMeta = userMeta(B, "ticker", nil)
	timer := B.CreateTable(0, 4)
	ticker := B.CreateTable(0, 3)
	for name, fn := range map[string]glua.LGFunction{"response": timerChannel, "channel": timerChannel, "stop": timerStop} {
		timer.RawSetString(name, B.NewFunction(fn))
		ticker.RawSetString(name, B.NewFunction(fn))
	}
	timer.RawSetString("reset", B.NewFunction(timerReset))
	l.timerMeta.RawSetString("__index", timer)
	l.tickerMeta.RawSetString("__index", ticker)
}
