package lua

import (
	"os"
	goruntime "runtime"
	"runtime/debug"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// The system module (en/lua/system/system.md): the Go runtime's figures
// and knobs, the node's hosts and services, and the cluster views
// (system.node, system.cluster, system.raft), each checked with
// system.read, system.control or system.gc on the word the page gives.
// Cluster reads are local (proc.Cluster); nothing here waits on the
// network. system.lock is in locklib.go.

// SystemNode is what the system module reads of the node beyond the Go
// runtime and the cluster; node implements it. nil: those calls raise an
// error naming the part.
type SystemNode interface {
	// Hosts lists the node's process hosts.
	Hosts() []HostInfo
	// HostProcesses lists the live processes of a host (NOT_FOUND for an
	// unknown host).
	HostProcesses(host string) ([]ProcessInfo, error)
	// Services lists the node's supervised services, by id.
	Services() []ServiceInfo
	// Exit begins the node's stop; the command that runs it exits with
	// code.
	Exit(code int) error
}

// HostInfo is one process host for system.hosts.list.
type HostInfo struct {
	ID         string
	Workers    int // its own pool's size; the node pool's when it shares it
	Processes  int
	QueueDepth int // spawned, not yet run
}

// ProcessInfo is one process for system.hosts.processes.
type ProcessInfo struct {
	PID, Host, State, Actor string
}

// ServiceInfo is one service for system.supervisor.state(s).
type ServiceInfo struct {
	ID, Status, PID, Details string
	RetryCount               int
	Restarts                 uint64
}

func sysAuthorize(L *glua.LState, action security.Action, what string) error {
	return procOf(L).env.Authorize(action, what)
}

// sysRead wraps a read: checks system.read on what, then pushes get().
func sysRead(what string, get func(L *glua.LState) (glua.LValue, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		if err := sysAuthorize(L, security.ActionSystemRead, what); err != nil {
			return fail(L, glua.LNil, err)
		}
		v, err := get(L)
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(v)
		return 1
	}
}

func num(n uint64) glua.LValue { return glua.LNumber(float64(n)) }

func memStats(L *glua.LState) (glua.LValue, error) {
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	t := L.CreateTable(0, 15)
	for k, v := range map[string]uint64{
		"alloc": m.Alloc, "total_alloc": m.TotalAlloc, "sys": m.Sys, "heap_alloc": m.HeapAlloc,
		"heap_sys": m.HeapSys, "heap_idle": m.HeapIdle, "heap_in_use": m.HeapInuse,
		"heap_released": m.HeapReleased, "heap_objects": m.HeapObjects, "stack_in_use": m.StackInuse,
		"stack_sys": m.StackSys, "mspan_in_use": m.MSpanInuse, "mspan_sys": m.MSpanSys,
		"num_gc": uint64(m.NumGC), "next_gc": m.NextGC,
	} {
		t.RawSetString(k, num(v))
	}
	return t, nil
}

func memField(f func(*goruntime.MemStats) uint64) func(*glua.LState) (glua.LValue, error) {
	return func(*glua.LState) (glua.LValue, error) {
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		return num(f(&m)), nil
	}
}

// sysSet is a setter that returns the previous value: checks action on
// what, reads the integer argument and applies it.
func sysSet(action security.Action, what string, set func(n int64) (int64, error)) glua.LGFunction {
	return func(L *glua.LState) int {
		if err := sysAuthorize(L, action, what); err != nil {
			return fail(L, glua.LNil, err)
		}
		prev, err := set(int64(L.CheckNumber(1)))
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(glua.LNumber(prev))
		return 1
	}
}

func setMemoryLimit(n int64) (int64, error) {
	if n < -1 {
		return 0, invalidf("memory limit must be -1 (unlimited) or at least 0")
	}
	if n == -1 {
		n = int64(^uint64(0) >> 1)
	}
	return debug.SetMemoryLimit(n), nil
}

func setGCPercent(n int64) (int64, error) { return int64(debug.SetGCPercent(int(n))), nil }

func gcPercent(*glua.LState) (glua.LValue, error) {
	// Reading means setting: set it back at once.
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return glua.LNumber(p), nil
}

func gcCollect(L *glua.LState) int {
	if err := sysAuthorize(L, security.ActionSystemGC, "gc"); err != nil {
		return fail(L, glua.LNil, err)
	}
	goruntime.GC()
	L.Push(glua.LTrue)
	return 1
}

// maxProcs reads GOMAXPROCS, or sets it (system.control) when given n.
func maxProcs(L *glua.LState) int {
	if L.GetTop() == 0 || L.Get(1) == glua.LNil {
		return sysRead("gomaxprocs", func(*glua.LState) (glua.LValue, error) {
			return glua.LNumber(goruntime.GOMAXPROCS(0)), nil
		})(L)
	}
	return sysSet(security.ActionSystemControl, "gomaxprocs", func(n int64) (int64, error) {
		if n < 1 {
			return 0, invalidf("max_procs must be positive")
		}
		return int64(goruntime.GOMAXPROCS(int(n))), nil
	})(L)
}

func osString(f func() (string, error)) func(*glua.LState) (glua.LValue, error) {
	return func(*glua.LState) (glua.LValue, error) {
		s, err := f()
		if err != nil {
			return nil, proc.Errorf(proc.KindInternal, msg.False, "%v", err)
		}
		return glua.LString(s), nil
	}
}

func (l *libs) buildSystem(B *glua.LState, node SystemNode) {
	t := B.CreateTable(0, 16)
	sub := func(name string, fns map[string]glua.LGFunction) {
		st := B.CreateTable(0, len(fns))
		for k, fn := range fns {
			st.RawSetString(k, B.NewFunction(fn))
		}
		t.RawSetString(name, st)
	}
	sub("memory", map[string]glua.LGFunction{
		"stats":        sysRead("memory", memStats),
		"allocated":    sysRead("memory", memField(func(m *goruntime.MemStats) uint64 { return m.Alloc })),
		"heap_objects": sysRead("memory", memField(func(m *goruntime.MemStats) uint64 { return m.HeapObjects })),
		"set_limit":    sysSet(security.ActionSystemControl, "memory_limit", setMemoryLimit),
		"get_limit": sysRead("memory_limit", func(*glua.LState) (glua.LValue, error) {
			return glua.LNumber(debug.SetMemoryLimit(-1)), nil
		}),
	})
	sub("gc", map[string]glua.LGFunction{
		"collect":     gcCollect,
		"set_percent": sysSet(security.ActionSystemGC, "gc_percent", setGCPercent),
		"get_percent": sysRead("gc_percent", gcPercent),
	})
	sub("runtime", map[string]glua.LGFunction{
		"goroutines": sysRead("goroutines", func(*glua.LState) (glua.LValue, error) {
			return glua.LNumber(goruntime.NumGoroutine()), nil
		}),
		"max_procs": maxProcs,
		"cpu_count": sysRead("cpu", func(*glua.LState) (glua.LValue, error) { return glua.LNumber(goruntime.NumCPU()), nil }),
	})
	sub("process", map[string]glua.LGFunction{
		"pid":      sysRead("pid", func(*glua.LState) (glua.LValue, error) { return glua.LNumber(os.Getpid()), nil }),
		"hostname": sysRead("hostname", osString(os.Hostname)),
		"cwd":      sysRead("cwd", osString(os.Getwd)),
	})
	sub("hosts", hostFuncs(node))
	sub("supervisor", supervisorFuncs(node))
	sub("node", nodeFuncs())
	sub("cluster", clusterFuncs())
	sub("raft", raftFuncs())
	sub("lock", lockFuncs())
	t.RawSetString("modules", B.NewFunction(sysRead("modules", l.moduleList)))
	t.RawSetString("exit", B.NewFunction(func(L *glua.LState) int {
		if err := sysAuthorize(L, security.ActionSystemExit, ""); err != nil {
			return fail(L, glua.LNil, err)
		}
		code := L.OptInt(1, 0)
		if node == nil {
			return fail(L, glua.LNil, notBuilt("system.exit"))
		}
		if err := node.Exit(code); err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(glua.LTrue)
		return 1
	}))
	l.addRequired(B, "system", t)
}

// notBuilt is the error of a part of the system module this node lacks.
func notBuilt(what string) error {
	return proc.Errorf(proc.KindInternal, msg.False, "%s is not available on this node", what)
}

// moduleList is system.modules(): every library a process can reach.
func (l *libs) moduleList(L *glua.LState) (glua.LValue, error) {
	var names []string
	for n := range l.globals {
		names = append(names, n)
	}
	for n := range l.required {
		names = append(names, n)
	}
	slices.Sort(names)
	out := L.CreateTable(len(names), 0)
	for _, n := range slices.Compact(names) {
		m := L.CreateTable(0, 3)
		m.RawSetString("name", glua.LString(n))
		m.RawSetString("description", glua.LString(moduleDescriptions[n]))
		class := L.CreateTable(1, 0)
		if _, global := l.globals[n]; global {
			class.Append(glua.LString("global"))
		} else {
			class.Append(glua.LString("require"))
		}
		m.RawSetString("class", class)
		out.Append(m)
	}
	return out, nil
}

var moduleDescriptions = map[string]string{
	"process": "Processes: spawn, send, receive, links, monitors, names", "channel": "Channels and select",
	"coroutine": "Coroutines", "string": "Strings", "table": "Tables", "math": "Mathematics",
	"errors": "Structured errors", "payload": "Message payloads", "time": "Time, timers and tickers",
	"json": "JSON", "io": "Terminal I/O", "logger": "Structured logging", "env": "Environment variables",
	"security": "Actors, scopes and permission checks", "pg": "Process groups", "system": "The runtime, the node and the cluster",
	"os": "Clock and dates", "ctx": "Context values",
}
