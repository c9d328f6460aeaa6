package bench

import (
	"fmt"
	"time"

	"github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/lua"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// LuaOptions size the Lua workloads.
type LuaOptions struct {
	Workers      int
	Idle         int // parked Lua processes measured
	Spawns       int // spawn+exit count
	RingSize     int // Lua processes in the warm ring
	ColdRingSize int // Lua processes in the cold ring
	RingTokens   int
	Pcalls       int // pcalls timed
	SpawnReply   int // processes in spawn_reply_lua_100k_ms
	// Warm is how long the rings run before counting starts, Dur how
	// long they are counted (as the native ring).
	Warm, Dur time.Duration
}

// FullLua are the sizes the issues name.
func FullLua() LuaOptions {
	return LuaOptions{Idle: 100_000, Spawns: 200_000, RingSize: 10_000, ColdRingSize: 100_000, RingTokens: 1_000,
		Pcalls: 1_000_000, SpawnReply: 100_000, Warm: time.Second, Dur: 3 * time.Second}
}

// QuickLua are small sizes.
func QuickLua() LuaOptions {
	return LuaOptions{Idle: 20_000, Spawns: 50_000, RingSize: 10_000, ColdRingSize: 20_000, RingTokens: 1_000,
		Pcalls: 200_000, SpawnReply: 100_000, Warm: 200 * time.Millisecond, Dur: 500 * time.Millisecond}
}

// RingLuaSource is the Lua ring process, written as a Wippy user writes it:
// a loop over process.inbox() that forwards every token to the next
// process, forever (the harness in ../shared/bench-peers runs the same
// loop). BENCHMARKS.md quotes it.
const RingLuaSource = `
local function main()
  local inbox = process.inbox()
  local next_pid
  while true do
    local m = inbox:receive()
    local topic = m:topic()
    if topic == "t" then
      process.send(next_pid, "t", true)
    elseif topic == "setup" then
      next_pid = m:payload():data()
    end
  end
end
return {main = main}
`

var luaSources = map[string]string{
	"bench:ring":    RingLuaSource,
	"bench:idle":    `return {main = function() local m = process.inbox():receive() end}`,
	"bench:quick":   `return {main = function(x) return x end}`,
	"bench:replier": `return {main = function(to) process.send(to, "reply", process.pid()) end}`,
	"bench:pcall": `
return {main = function(n)
  local function f(x) return x + 1 end
  local s = 0
  for i = 1, n do
    local ok, v = pcall(f, i)
    s = s + v
  end
  return s
end}`,
}

// Sources is a lua.Catalog of in-memory benchmark sources: entry id to
// code whose module returns a table with a main function.
type Sources map[string]string

// Source implements lua.Catalog.
func (s Sources) Source(id string) (*lua.Source, error) {
	code, ok := s[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", lua.ErrEntry, id)
	}
	return &lua.Source{ID: id, Path: id + ".lua", Code: []byte(code), Method: "main"}, nil
}

// Reload implements lua.Catalog.
func (s Sources) Reload(id string) (*lua.Source, error) { return s.Source(id) }

func newLuaRuntime(workers int) (*runtime.Runtime, error) {
	eng, err := lua.New(lua.Config{Catalog: Sources(luaSources), Logger: discard()})
	if err != nil {
		return nil, err
	}
	cfg := runtime.DefaultConfig()
	cfg.Node = "bench"
	cfg.Workers = workers
	cfg.Catalog = eng
	rt, err := runtime.New(cfg)
	if err != nil {
		return nil, err
	}
	rt.Start()
	return rt, nil
}

// IdleLua measures what the runtime holds per parked Lua process
// (idle_lua_bytes): processes blocked in process.inbox():receive().
func IdleLua(o LuaOptions) (Result, error) {
	rt, err := newLuaRuntime(o.Workers)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	return idleBytes("idle_lua_bytes", rt, o.Idle, func() proc.SpawnRequest { return proc.SpawnRequest{Entry: "bench:idle"} })
}

// SpawnLua measures spawn of a Lua process whose main returns at once,
// until all have run and exited (spawn_lua_ns).
func SpawnLua(o LuaOptions) (Result, error) {
	rt, err := newLuaRuntime(o.Workers)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	start := time.Now()
	for i := 0; i < o.Spawns; i++ {
		if _, err := rt.Spawn(proc.SpawnRequest{Entry: "bench:quick", Args: []msg.Value{msg.Int(int64(i))}}); err != nil {
			return Result{}, err
		}
	}
	if err := waitEmpty(rt); err != nil {
		return Result{}, err
	}
	return Result{"spawn_lua_ns", float64(time.Since(start).Nanoseconds()) / float64(o.Spawns), "ns"}, nil
}

func waitEmpty(rt *runtime.Runtime) error {
	deadline := time.Now().Add(2 * time.Minute)
	for rt.ProcessCount() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("processes never all exited")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// luaRing circulates o.RingTokens tokens around a ring of size Lua
// processes, forever, and counts the messages delivered per second after
// o.Warm, over o.Dur: the harness's steady state. Lua code cannot bump a
// Go counter, so the count is the runtime's own received_local (every
// hop is one local delivery; nothing else is sent meanwhile).
func luaRing(name string, o LuaOptions, size int) (Result, error) {
	rt, err := newLuaRuntime(o.Workers)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	ring := make([]pid.PID, size)
	for i := range ring {
		if ring[i], err = rt.Spawn(proc.SpawnRequest{Entry: "bench:ring"}); err != nil {
			return Result{}, err
		}
	}
	for i, p := range ring {
		rt.Send(pid.PID{}, p, "setup", msg.String(ring[(i+1)%size].String()))
	}
	step := max(1, size/o.RingTokens)
	for t := 0; t < o.RingTokens; t++ {
		rt.Send(pid.PID{}, ring[(t*step)%size], "t", msg.Bool(true))
	}
	r := rate(o.Warm, o.Dur, func() int64 { return int64(rt.Counters().ReceivedLocal) })
	if r == 0 {
		return Result{}, fmt.Errorf("%s: the tokens did not move", name)
	}
	return Result{name, r, "msgs/s"}, nil
}

// RingLua is the warm Lua ring (ring_lua_msgs_per_s).
func RingLua(o LuaOptions) (Result, error) {
	return luaRing("ring_lua_msgs_per_s", o, o.RingSize)
}

// RingLuaCold is the ring over many processes, so most are cold in cache
// (ring_lua_cold_msgs_per_s).
func RingLuaCold(o LuaOptions) (Result, error) {
	return luaRing("ring_lua_cold_msgs_per_s", o, o.ColdRingSize)
}

// PcallYield is the cost of one pcall around a call that does not block,
// measured inside one Lua process (pcall_yield_ns).
func PcallYield(o LuaOptions) (Result, error) {
	rt, err := newLuaRuntime(o.Workers)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	done := make(chan struct{})
	var exitErr error
	watcher := &execOnce{entry: "bench:pcall", args: []msg.Value{msg.Int(int64(o.Pcalls))}, done: done, err: &exitErr}
	start := time.Now()
	if _, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(watcher)}); err != nil {
		return Result{}, err
	}
	<-done
	if exitErr != nil {
		return Result{}, exitErr
	}
	return Result{"pcall_yield_ns", float64(time.Since(start).Nanoseconds()) / float64(o.Pcalls), "ns"}, nil
}

// execOnce spawns an entry monitored and reports when it ends.
type execOnce struct {
	entry string
	args  []msg.Value
	done  chan struct{}
	err   *error
}

func (e *execOnce) Init(c *native.Ctx, _ []msg.Value) error {
	_, err := c.Spawn(proc.SpawnRequest{Entry: e.entry, Args: e.args, Monitor: true})
	if err != nil {
		*e.err = err
		close(e.done)
	}
	return nil
}
func (e *execOnce) HandleMessage(*native.Ctx, native.Message) error { return nil }
func (e *execOnce) HandleEvent(c *native.Ctx, ev native.Event) error {
	if ev.Kind == proc.DeliveryExit {
		*e.err = ev.Err
		close(e.done)
		c.Stop(msg.Nil)
	}
	return nil
}

// SpawnReplyLua spawns SpawnReply Lua processes that each reply once, and
// reports the wall time until every reply is in and every process gone
// (spawn_reply_lua_100k_ms).
func SpawnReplyLua(o LuaOptions) (Result, error) {
	rt, err := newLuaRuntime(o.Workers)
	if err != nil {
		return Result{}, err
	}
	defer stop(rt)
	col := newCollector(o.SpawnReply)
	cp, err := rt.Spawn(proc.SpawnRequest{Behavior: native.New(col)})
	if err != nil {
		return Result{}, err
	}
	arg := []msg.Value{msg.String(cp.String())}
	start := time.Now()
	for i := 0; i < o.SpawnReply; i++ {
		if _, err := rt.Spawn(proc.SpawnRequest{Entry: "bench:replier", Args: arg}); err != nil {
			return Result{}, err
		}
	}
	<-col.done
	for rt.ProcessCount() > 1 {
		time.Sleep(time.Millisecond)
	}
	return Result{"spawn_reply_lua_100k_ms", float64(time.Since(start).Milliseconds()), "ms"}, nil
}

// Lua are the Lua workloads, in the order they run.
var Lua = []LuaWorkload{
	{"idle_lua_bytes", IdleLua},
	{"spawn_lua_ns", SpawnLua},
	{"ring_lua_msgs_per_s", RingLua},
	{"ring_lua_cold_msgs_per_s", RingLuaCold},
	{"pcall_yield_ns", PcallYield},
	{"spawn_reply_lua_100k_ms", SpawnReplyLua},
}

// LuaWorkload is one named Lua benchmark.
type LuaWorkload struct {
	Name string
	Run  func(LuaOptions) (Result, error)
}

// RunLua runs the Lua workloads like RunAll.
func RunLua(ws []LuaWorkload, o LuaOptions, rounds int) ([]Result, error) {
	adapted := make([]Workload, len(ws))
	for i, w := range ws {
		w := w
		adapted[i] = Workload{Name: w.Name, Run: func(Options) (Result, error) { return w.Run(o) }}
	}
	return RunAll(adapted, Options{}, rounds)
}
