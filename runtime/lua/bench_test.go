package lua

import (
	"io"
	"log/slog"
	"runtime"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

func benchEngine(b *testing.B) (*Engine, *catalog) {
	b.Helper()
	return benchEngineWith(b, 0)
}

// benchEngineWith is benchEngine with processes bounded to maxMemory bytes.
func benchEngineWith(b *testing.B, maxMemory int64) (*Engine, *catalog) {
	b.Helper()
	cat := newCatalog()
	eng, err := New(Config{Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxMemory: maxMemory})
	if err != nil {
		b.Fatal(err)
	}
	return eng, cat
}

const idleCode = `return {main = function() local m = process.inbox():receive() end}`

// BenchmarkIdleLua reports what a parked Lua process costs: HeapAlloc delta
// per process after GC, over 20,000 processes waiting on their inbox.
func BenchmarkIdleLua(b *testing.B) {
	eng, cat := benchEngine(b)
	cat.add("b:idle", idleCode)
	env := newFakeEnv()
	const n = 20000
	var perProc float64
	for range b.N {
		procs := make([]proc.Behavior, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range procs {
			p, err := eng.Behavior("b:idle", nil)
			if err != nil {
				b.Fatal(err)
			}
			if st, _ := p.Step(env, nil); st != proc.StatusIdle {
				b.Fatalf("status %v", st)
			}
			procs[i] = p
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perProc = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(procs)
	}
	b.ReportMetric(perProc, "bytes/proc")
}

// BenchmarkSpawnLua is the cost of making a Lua process and running it to
// its first wait: Engine.Behavior plus the first Step.
func BenchmarkSpawnLua(b *testing.B) {
	eng, cat := benchEngine(b)
	cat.add("b:idle", idleCode)
	env := newFakeEnv()
	b.ReportAllocs()
	for b.Loop() {
		p, err := eng.Behavior("b:idle", nil)
		if err != nil {
			b.Fatal(err)
		}
		if st, _ := p.Step(env, nil); st != proc.StatusIdle {
			b.Fatalf("status %v", st)
		}
		p.Kill(proc.ErrTerminated)
	}
}

// benchLoop runs main(b.N) of code once and reports per-iteration time.
func benchLoop(b *testing.B, code string) {
	benchLoopWith(b, 0, code)
}

func benchLoopWith(b *testing.B, maxMemory int64, code string) {
	eng, cat := benchEngineWith(b, maxMemory)
	cat.add("b:loop", code)
	p, err := eng.Behavior("b:loop", []msg.Value{msg.Int(int64(b.N))})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	env := newFakeEnv()
	st, res := p.Step(env, nil)
	for st == proc.StatusYield {
		st, res = p.Step(env, nil)
	}
	if st != proc.StatusDone || res.Err != nil {
		b.Fatalf("%v %v", st, res.Err)
	}
}

// BenchmarkPcallYield is pcall around a call that does not block: the
// price of running the callee on a coroutine of the process.
func BenchmarkPcallYield(b *testing.B) {
	benchLoop(b, `return {main = function(n) local f = function(x) return x end; for i = 1, n do pcall(f, i) end end}`)
}

// BenchmarkPcallBaseline is the same loop with a plain call.
func BenchmarkPcallBaseline(b *testing.B) {
	benchLoop(b, `return {main = function(n) local f = function(x) return x end; for i = 1, n do f(i) end end}`)
}

// BenchmarkChannelPingPong is one round trip between two coroutines of a
// process over unbuffered channels (two blocking hand-offs).
func BenchmarkChannelPingPong(b *testing.B) {
	benchLoop(b, `return {main = function(n)
  local ping, pong = channel.new(), channel.new()
  coroutine.spawn(function() while true do pong:send(ping:receive()) end end)
  for i = 1, n do ping:send(i); pong:receive() end
end}`)
}

// BenchmarkInstructions is a loop of three instructions per iteration: the
// interpreter with the process's hook at every instruction.
func BenchmarkInstructions(b *testing.B) {
	benchLoop(b, `return {main = function(n) local x = 0; for i = 1, n do x = x + i end end}`)
}

// BenchmarkInstructionsBounded is the same loop with a memory bound (the
// hook also reads Go's allocation counter every 4,096 instructions).
func BenchmarkInstructionsBounded(b *testing.B) {
	benchLoopWith(b, 64<<20, `return {main = function(n) local x = 0; for i = 1, n do x = x + i end end}`)
}

// BenchmarkConcatBounded is a short concatenation, priced by the hook.
func BenchmarkConcatBounded(b *testing.B) {
	benchLoopWith(b, 64<<20, `return {main = function(n) local s = "x"; for i = 1, n do local t = s .. "y" end end}`)
}

// BenchmarkMeasure is one walk of a process holding 100,000 small tables
// in a list (about 200,000 objects with their strings); ns/object is the
// figure docs/lua-decisions.md quotes.
func BenchmarkMeasure(b *testing.B) {
	eng, cat := benchEngine(b)
	cat.add("b:hold", `return {main = function()
  held = {}
  for i = 1, 100000 do held[i] = {i, "s" .. i} end
  process.inbox():receive()
end}`)
	beh, err := eng.Behavior("b:hold", nil)
	if err != nil {
		b.Fatal(err)
	}
	env := newFakeEnv()
	if st, _ := beh.Step(env, nil); st != proc.StatusIdle {
		b.Fatalf("status %v", st)
	}
	p := beh.(*process)
	var n int64
	for b.Loop() {
		n = eng.walk(p, 1<<62)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200000, "ns/object")
	b.ReportMetric(float64(n), "bytes")
}

// ringMember is a member of a Lua ring whose tokens count their hops left
// in the payload: each message is received, its topic and payload read and
// the next token sent.
const ringMember = `
local function main()
  local inbox = process.inbox()
  local next_pid, collector
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "t" then
      local left = m:payload():data()
      if left == 0 then
        process.send(collector, "done", true)
      else
        process.send(next_pid, "t", left - 1)
      end
    elseif topic == "setup" then
      local s = m:payload():data()
      next_pid, collector = s.next, s.collector
    end
  end
end
return {main = main}`

// sinkEnv drops what the process sends.
type sinkEnv struct{ *fakeEnv }

func (sinkEnv) Send(pid.PID, string, msg.Value) error { return nil }

// BenchmarkInboxMessage is what one message costs a Lua process of the
// ring, without the runtime: routing the delivery to the inbox, the
// receive, m:topic(), m:payload():data() and the process.send of the next
// token (to an Env that drops it). Deliveries come in batches of 64, as
// tokens bunch up in the ring; one op is one message.
func BenchmarkInboxMessage(b *testing.B) {
	eng, cat := benchEngine(b)
	cat.add("b:ring", ringMember)
	env := sinkEnv{newFakeEnv()}
	p, err := eng.Behavior("b:ring", nil)
	if err != nil {
		b.Fatal(err)
	}
	next := pid.PID{Node: "bench", Host: "app:processes", Seq: 7}
	setup := msg.StringMap(map[string]msg.Value{"next": msg.String(next.String()), "collector": msg.String(peer.String())})
	if st, _ := p.Step(env, []proc.Delivery{msgDelivery("setup", setup)}); st != proc.StatusIdle {
		b.Fatalf("status %v", st)
	}
	batch := make([]proc.Delivery, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += len(batch) {
		n := min(len(batch), b.N-done)
		for i := range n {
			batch[i] = msgDelivery("t", msg.Int(int64(1000+i)))
		}
		if st, _ := p.Step(env, batch[:n]); st != proc.StatusIdle {
			b.Fatalf("status %v", st)
		}
	}
	b.StopTimer()
	p.Kill(proc.ErrTerminated)
}
