package lua

import (
	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// system.lock: cluster-wide mutual exclusion through the Env's proc.Locks
// (the runtime's, over the node's lock service). Outcomes as the page
// gives them: acquire is true, false with ALREADY_EXISTS, or nil with an
// error; release is true, false (not held by the caller), or nil with an
// error.

var errNoLocks = proc.NewError(proc.KindInternal,
	"system.lock is not available on this node: it needs the cluster's Raft registry (cluster.enabled, cluster.raft.enabled)", msg.False)

func locksOf(L *glua.LState) (proc.Locks, string, error) {
	name := L.CheckString(1)
	lk, ok := procOf(L).env.(proc.Locks)
	if !ok {
		return nil, "", errNoLocks
	}
	return lk, name, nil
}

func lockAcquire(L *glua.LState) int {
	lk, name, err := locksOf(L)
	if err == nil {
		err = lk.AcquireLock(name)
	}
	switch {
	case err == nil:
		L.Push(glua.LTrue)
		return 1
	case proc.AsError(err).Kind == proc.KindAlreadyExists:
		return fail(L, glua.LFalse, err)
	}
	return fail(L, glua.LNil, err)
}

func lockRelease(L *glua.LState) int {
	lk, name, err := locksOf(L)
	var released bool
	if err == nil {
		released, err = lk.ReleaseLock(name)
	}
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(glua.LBool(released))
	return 1
}

func lockFuncs() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{"acquire": lockAcquire, "release": lockRelease}
}
