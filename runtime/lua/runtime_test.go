package lua

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wippyd/wippyd/internal/await"
	rt "github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Tests on the real runtime: scheduler, mailboxes, several workers.

// observer is a Go-native process that runs start once and forwards every
// delivery it gets to out (buffered: it must never block its worker).
type observer struct {
	start   func(env proc.Env)
	out     chan proc.Delivery
	started bool
}

func (o *observer) Step(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
	if !o.started {
		o.started = true
		if o.start != nil {
			o.start(env)
		}
	}
	for _, d := range batch {
		if d.Kind == proc.DeliveryCancel {
			return proc.StatusDone, proc.Result{}
		}
		o.out <- d
	}
	return proc.StatusIdle, proc.Result{}
}

func (o *observer) Kill(error) {}

// node is a runtime running Lua entries of an in-memory catalog.
type node struct {
	t   testing.TB
	cat *catalog
	eng *Engine
	rt  *rt.Runtime
}

func newNode(t testing.TB, workers int) *node {
	t.Helper()
	return newNodeWith(t, workers, nil)
}

// newNodeWith is newNode with a last say on the runtime's config.
func newNodeWith(t testing.TB, workers int, mod func(*rt.Config)) *node {
	t.Helper()
	n := &node{t: t, cat: newCatalog()}
	eng, err := New(Config{Catalog: n.cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n.eng = eng
	cfg := rt.DefaultConfig()
	cfg.Node = "n1"
	cfg.Workers = workers
	cfg.Catalog = eng
	if mod != nil {
		mod(&cfg)
	}
	r, err := rt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	n.rt = r
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return n
}

// observe spawns an observer that runs start and returns its deliveries.
func (n *node) observe(start func(env proc.Env)) (pid.PID, <-chan proc.Delivery) {
	n.t.Helper()
	o := &observer{start: start, out: make(chan proc.Delivery, 4096)}
	p, err := n.rt.Spawn(proc.SpawnRequest{Entry: "test:observer", Behavior: o})
	if err != nil {
		n.t.Fatal(err)
	}
	return p, o.out
}

// exec spawns entry monitored by an observer and waits for its EXIT.
func (n *node) exec(entry string, timeout time.Duration, args ...msg.Value) (proc.Delivery, pid.PID) {
	n.t.Helper()
	child := make(chan pid.PID, 1)
	_, out := n.observe(func(env proc.Env) {
		p, err := env.Spawn(proc.SpawnRequest{Entry: entry, Args: args, Monitor: true})
		if err != nil {
			n.t.Error(err)
		}
		child <- p
	})
	c := <-child
	return n.wait(out, proc.DeliveryExit, timeout), c
}

// wait returns the next delivery of kind from out.
func (n *node) wait(out <-chan proc.Delivery, kind proc.DeliveryKind, timeout time.Duration) proc.Delivery {
	n.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case d := <-out:
			if d.Kind == kind {
				return d
			}
		case <-deadline:
			n.t.Fatalf("no %v within %v", kind, timeout)
		}
	}
}

func TestRuntimeMessages(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:ponger", `return {main = function()
  local inbox = process.inbox()
  while true do
    local m = inbox:receive()
    if m:topic() == "stop" then return "stopped" end
    process.send(m:from(), "pong", m:payload():data() * 2)
  end
end}`)
	n.cat.add("t:pinger", `return {main = function(count)
  local pong = process.listen("pong")
  local peer = process.spawn_linked("t:ponger", "")
  local sum = 0
  for i = 1, count do
    process.send(peer, "ping", i)
    sum = sum + pong:receive()
  end
  process.send(peer, "stop")
  return sum
end}`)
	exit, _ := n.exec("t:pinger", 10*time.Second, msg.Int(100))
	if v, _ := exit.Payload.AsInt(); v != 10100 || exit.Err != nil {
		t.Fatalf("exit %v %v", exit.Payload, exit.Err)
	}
}

func TestRuntimeConcurrentSleeps(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:sleeps", `
local time = require("time")
return {main = function()
  local done = channel.new(3)
  local t0 = time.now()
  for i = 1, 3 do coroutine.spawn(function() time.sleep("200ms"); done:send(i) end) end
  for i = 1, 3 do done:receive() end
  return time.now():sub(t0):milliseconds()
end}`, "time")
	start := time.Now()
	exit, _ := n.exec("t:sleeps", 5*time.Second)
	wall := time.Since(start)
	ms, _ := exit.Payload.AsInt()
	if exit.Err != nil || ms < 200 || ms >= 450 || wall >= 450*time.Millisecond {
		t.Fatalf("three sleeps: %d ms in Lua, %v wall, err %v", ms, wall, exit.Err)
	}
}

func TestRuntimeSpinnerIsolated(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:spin", `return {main = function() while true do end end}`)
	n.cat.add("t:work", `
local time = require("time")
return {main = function(k)
  local s = 0
  for i = 1, k do time.sleep("1ms"); s = s + i end
  return s
end}`, "time")
	obs, out := n.observe(nil)
	var spinners []pid.PID
	for range 3 { // more spinners than workers
		p, err := n.rt.Spawn(proc.SpawnRequest{Entry: "t:spin"})
		if err != nil {
			t.Fatal(err)
		}
		spinners = append(spinners, p)
	}
	exit, _ := n.exec("t:work", 10*time.Second, msg.Int(20))
	if v, _ := exit.Payload.AsInt(); v != 210 {
		t.Fatalf("worker beside spinners: %v %v", exit.Payload, exit.Err)
	}
	_ = obs
	for _, p := range spinners {
		if err := n.rt.Terminate(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range spinners {
		await.Until(t, fmt.Sprintf("spinner %v ended by terminate", p), func() bool {
			for len(out) > 0 {
				<-out
			}
			return !n.rt.Alive(p)
		})
	}
}

// Processes on two workers hammer the shared libraries; -race reports any
// write that reaches shared state.
func TestRuntimeIsolation(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:iso", `return {main = function(i)
  local ok = pcall(function() string.x = i end)
  rawset(string, "y", i)
  rawset(math, "floor", nil)
  pcall(rawset, process.event, "EXIT", i)
  pcall(setmetatable, "", {})
  table.insert(table, i)
  leaked = i
  local gm = getmetatable("")
  return {ok, string.y == i, gm, math.floor == nil, leaked == i}
end}`)
	n.cat.add("t:check", `return {main = function()
  return {string.x == nil, string.y == nil, math.floor(2.5), process.event.EXIT, #table, leaked == nil, ("a"):upper()}
end}`)
	const k = 50
	results := make(chan proc.Delivery, 2*k)
	_, out := n.observe(func(env proc.Env) {
		for i := range k {
			for _, e := range []string{"t:iso", "t:check"} {
				if _, err := env.Spawn(proc.SpawnRequest{Entry: e, Args: []msg.Value{msg.Int(int64(i))}, Monitor: true}); err != nil {
					t.Error(err)
				}
			}
		}
	})
	for range 2 * k {
		results <- n.wait(out, proc.DeliveryExit, 10*time.Second)
	}
	close(results)
	for d := range results {
		s := d.Payload.String()
		if d.Err != nil || (s != `[false, true, "locked", false, true]` && s != `[true, true, 2, "EXIT", 0, true, "A"]`) {
			t.Fatalf("exit %s %v", s, d.Err)
		}
	}
}

func TestRuntimeUpgradeKeepsMailbox(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:v1", `return {main = function()
  local m = process.inbox():receive()
  process.upgrade("t:v2", m:payload():data())
end}`)
	n.cat.add("t:v2", `return {main = function(first)
  local inbox = process.inbox()
  local out = {first}
  for i = 1, 3 do table.insert(out, inbox:receive():payload():data()) end
  return table.concat(out, ",")
end}`)
	child := make(chan pid.PID, 1)
	_, out := n.observe(func(env proc.Env) {
		p, _ := env.Spawn(proc.SpawnRequest{Entry: "t:v1", Monitor: true})
		for i := range 4 {
			env.Send(p, "m", msg.String(fmt.Sprint(i)))
		}
		child <- p
	})
	<-child
	exit := n.wait(out, proc.DeliveryExit, 5*time.Second)
	if s, _ := exit.Payload.AsString(); s != "0,1,2,3" || exit.Err != nil {
		t.Fatalf("exit %v %v", exit.Payload, exit.Err)
	}
}

func TestRuntimeExecAndLinks(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:child", `return {main = function(x) if x == "fail" then error("child failed") end return x * 2 end}`)
	n.cat.add("t:parent", `return {main = function()
  local v, err = process.exec("t:child", "", 21)
  local v2, err2 = process.exec("t:child", "", "fail")
  process.set_options{trap_links = true}
  local events = process.events()
  local pid = process.spawn_linked("t:child", "", "fail")
  local ev = events:receive()
  return {v, err == nil, v2 == nil, string.find(err2:message(), "child failed") ~= nil,
          ev.kind, ev.from == pid, string.find(ev.result.error:message(), "child failed") ~= nil}
end}`)
	exit, _ := n.exec("t:parent", 5*time.Second)
	if exit.Err != nil || exit.Payload.String() != `[42, true, true, true, "LINK_DOWN", true, true]` {
		t.Fatalf("exit %v %v", exit.Payload, exit.Err)
	}
}

func TestRuntimeErrorExit(t *testing.T) {
	n := newNode(t, 1)
	n.cat.add("t:fail", `return {main = function() error("it broke") end}`)
	exit, _ := n.exec("t:fail", 5*time.Second)
	if exit.Err == nil || !strings.Contains(exit.Err.Error(), "it broke") {
		t.Fatalf("exit err %v", exit.Err)
	}
}

// ringCode is a ring member as a Wippy user writes it: the first message
// names the next process, then every token is passed on until its count
// runs out, when the member reports to the observer.
var ringCode = map[string]string{
	"inbox": `return {main = function(observer)
  local inbox = process.inbox()
  local nxt = inbox:receive():payload():data()
  while true do
    local n = inbox:receive():payload():data()
    if n > 0 then process.send(nxt, "t", n - 1) else process.send(observer, "done") end
  end
end}`,
	"listen": `return {main = function(observer)
  local tokens = process.listen("t")
  local nxt = process.inbox():receive():payload():data()
  while true do
    local n = tokens:receive()
    if n > 0 then process.send(nxt, "t", n - 1) else process.send(observer, "done") end
  end
end}`,
}

// BenchmarkLuaRing: 1,000 Lua processes in a ring, 1,000 tokens; one op is
// one message passed.
func BenchmarkLuaRing(b *testing.B) {
	for _, kind := range []string{"inbox", "listen"} {
		b.Run(kind, func(b *testing.B) {
			const procs, tokens = 1000, 1000
			n := newNode(b, 0)
			n.cat.add("b:ring", ringCode[kind])
			hops := b.N / tokens
			if hops < 1 {
				hops = 1
			}
			ring := make([]pid.PID, procs)
			ready := make(chan struct{})
			_, out := n.observe(func(env proc.Env) {
				self := msg.PIDValue(env.Self())
				for i := range ring {
					p, err := env.Spawn(proc.SpawnRequest{Entry: "b:ring", Args: []msg.Value{self}})
					if err != nil {
						b.Error(err)
					}
					ring[i] = p
				}
				for i, p := range ring {
					env.Send(p, "next", msg.PIDValue(ring[(i+1)%procs]))
				}
				close(ready)
			})
			<-ready
			b.ResetTimer()
			start := time.Now()
			for i := range tokens {
				if err := n.rt.Send(pid.PID{}, ring[i%procs], "t", msg.Int(int64(hops))); err != nil {
					b.Fatal(err)
				}
			}
			for range tokens {
				n.wait(out, proc.DeliveryMessage, time.Minute)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			total := float64(tokens * (hops + 1))
			b.ReportMetric(total/elapsed.Seconds(), "msgs/s")
			for _, p := range ring {
				n.rt.Terminate(p)
			}
		})
	}
}

// BenchmarkIdleLuaRuntime is the idle cost on the real runtime: everything
// the node holds per parked Lua process (runtime process, mailbox, Lua
// state), HeapAlloc delta per process after GC, 20,000 processes.
func BenchmarkIdleLuaRuntime(b *testing.B) {
	const count = 20000
	var perProc float64
	for range b.N {
		n := newNode(b, 0)
		n.cat.add("b:idle", idleCode)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		pids := make([]pid.PID, count)
		for i := range pids {
			p, err := n.rt.Spawn(proc.SpawnRequest{Entry: "b:idle"})
			if err != nil {
				b.Fatal(err)
			}
			pids[i] = p
		}
		await.Within(b, time.Minute, "processes all idle", func() bool {
			return n.rt.StateCounts()["app:processes"][proc.Idle] >= count
		})
		runtime.GC()
		runtime.ReadMemStats(&after)
		perProc = float64(after.HeapAlloc-before.HeapAlloc) / count
		for _, p := range pids {
			n.rt.Terminate(p)
		}
	}
	b.ReportMetric(perProc, "bytes/proc")
}

// BenchmarkSpawnLuaRuntime: one op is rt.Spawn of a Lua entry whose main
// returns at once, counted until every process has run and exited (so the
// state's creation and first Step are included, spread over the workers).
func BenchmarkSpawnLuaRuntime(b *testing.B) {
	n := newNode(b, 0)
	n.cat.add("b:quick", `return {main = function(x) return x end}`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := n.rt.Spawn(proc.SpawnRequest{Entry: "b:quick", Args: []msg.Value{msg.Int(int64(i))}}); err != nil {
			b.Fatal(err)
		}
	}
	await.Within(b, time.Minute, "processes all exited", func() bool { return n.rt.ProcessCount() == 0 })
}

// Blocking where Lua cannot yield (a table.sort comparator, an __index
// metamethod) waits on the worker goroutine through the runtime's Receive,
// and with a single worker the other processes keep running meanwhile.
func TestRuntimeNonYieldableBlockHandsOff(t *testing.T) {
	n := newNode(t, 1)
	n.cat.add("t:sorter", `
local time = require("time")
return {main = function()
  local t = {3, 1, 2}
  table.sort(t, function(a, b) time.sleep("20ms"); return a < b end)
  local inbox = process.inbox()
  local lazy = setmetatable({}, {__index = function(_, k)
    local m = inbox:receive()
    return m:payload():data()
  end})
  return t[1] * 100 + t[2] * 10 + t[3] + lazy.anything
end}`, "time")
	n.cat.add("t:quick", `return {main = function() return "ran" end}`)
	child := make(chan pid.PID, 1)
	_, out := n.observe(func(env proc.Env) {
		p, err := env.Spawn(proc.SpawnRequest{Entry: "t:sorter", Monitor: true})
		if err != nil {
			t.Error(err)
		}
		child <- p
		for i := 0; i < 5; i++ {
			if _, err := env.Spawn(proc.SpawnRequest{Entry: "t:quick", Monitor: true}); err != nil {
				t.Error(err)
			}
		}
	})
	sorter := <-child
	// The quick processes end while the sorter is still sleeping in its comparator.
	for i := 0; i < 5; i++ {
		d := n.wait(out, proc.DeliveryExit, 5*time.Second)
		if d.From == sorter {
			t.Fatal("sorter ended before the quick processes: its block held the only worker")
		}
	}
	if err := n.rt.Send(pid.PID{}, sorter, "x", msg.Int(1000)); err != nil {
		t.Fatal(err)
	}
	d := n.wait(out, proc.DeliveryExit, 5*time.Second)
	if v, _ := d.Payload.AsInt(); d.Err != nil || v != 1123 {
		t.Fatalf("sorter exit %v %v", d.Payload, d.Err)
	}
	if n.rt.Counters().HandOffs == 0 {
		t.Fatal("no hand-off counted")
	}
}
