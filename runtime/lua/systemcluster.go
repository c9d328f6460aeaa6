package lua

import (
	"maps"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// system.node, system.cluster, system.raft, system.hosts and
// system.supervisor: what the node knows now, read without waiting. On a
// standalone node the cluster is this node alone, Raft is not running and
// the node's role is "non-member", as the page says.

var (
	errNoRaft       = proc.NewError(proc.KindInternal, "raft not available", msg.False)
	errNoMembership = proc.NewError(proc.KindInternal, "membership unavailable", msg.False)
)

func clusterOf(L *glua.LState) proc.Cluster { return procOf(L).eng.cfg.Cluster }

func nodeFuncs() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"id": sysRead("node", func(L *glua.LState) (glua.LValue, error) {
			return glua.LString(procOf(L).self.Node), nil
		}),
		"addr": sysRead("node", func(L *glua.LState) (glua.LValue, error) {
			if c := clusterOf(L); c != nil {
				if a, ok := c.Addr(); ok {
					return glua.LString(a), nil
				}
			}
			return nil, errNoMembership
		}),
		"role": sysRead("node", func(L *glua.LState) (glua.LValue, error) {
			if r, ok := raftOf(L); ok {
				return glua.LString(r.Role), nil
			}
			return glua.LString(proc.RoleNonMember), nil
		}),
	}
}

func raftOf(L *glua.LState) (proc.RaftState, bool) {
	if c := clusterOf(L); c != nil {
		return c.Raft()
	}
	return proc.RaftState{}, false
}

// members is this node's view, or this node alone when standalone.
func members(L *glua.LState) ([]proc.ClusterMember, error) {
	c := clusterOf(L)
	if c == nil {
		return []proc.ClusterMember{{ID: procOf(L).self.Node, Local: true}}, nil
	}
	ms, ok := c.Members()
	if !ok {
		return nil, errNoMembership
	}
	return ms, nil
}

func clusterFuncs() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"members": sysRead("cluster", func(L *glua.LState) (glua.LValue, error) {
			ms, err := members(L)
			if err != nil {
				return nil, err
			}
			out := L.CreateTable(len(ms), 0)
			for _, m := range ms {
				t := L.CreateTable(0, 4)
				t.RawSetString("id", glua.LString(m.ID))
				t.RawSetString("is_local", glua.LBool(m.Local))
				if m.Addr != "" {
					t.RawSetString("addr", glua.LString(m.Addr))
				}
				if len(m.Meta) > 0 {
					meta := L.CreateTable(0, len(m.Meta))
					for _, k := range slices.Sorted(maps.Keys(m.Meta)) {
						meta.RawSetString(k, glua.LString(m.Meta[k]))
					}
					t.RawSetString("meta", meta)
				}
				out.Append(t)
			}
			return out, nil
		}),
		"leader": sysRead("cluster", func(L *glua.LState) (glua.LValue, error) {
			r, _ := raftOf(L)
			return glua.LString(r.Leader), nil
		}),
		"size": sysRead("cluster", func(L *glua.LState) (glua.LValue, error) {
			ms, err := members(L)
			if err != nil {
				return glua.LNumber(0), nil
			}
			return glua.LNumber(len(ms)), nil
		}),
	}
}

// raftRead is a system.raft read of what, from the Raft state.
func raftRead(what string, get func(r proc.RaftState) glua.LValue) glua.LGFunction {
	return sysRead(what, func(L *glua.LState) (glua.LValue, error) {
		r, ok := raftOf(L)
		if !ok {
			return nil, errNoRaft
		}
		return get(r), nil
	})
}

func raftFuncs() map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"is_leader": raftRead("raft", func(r proc.RaftState) glua.LValue { return glua.LBool(r.Role == proc.RoleLeader) }),
		"is_member": raftRead("raft", func(r proc.RaftState) glua.LValue { return glua.LBool(r.Role != proc.RoleNonMember) }),
		"role":      raftRead("raft", func(r proc.RaftState) glua.LValue { return glua.LString(r.Role) }),
		"term":      raftRead("raft", func(r proc.RaftState) glua.LValue { return glua.LNumber(r.Term) }),
		"commit_index": raftRead("raft", func(r proc.RaftState) glua.LValue {
			return glua.LNumber(r.CommitIndex)
		}),
		"stats": sysRead("raft_stats", func(L *glua.LState) (glua.LValue, error) {
			c := clusterOf(L)
			if c == nil {
				return nil, errNoRaft
			}
			stats, ok := c.RaftStats()
			if !ok {
				return nil, errNoRaft
			}
			t := L.CreateTable(0, len(stats))
			for _, k := range slices.Sorted(maps.Keys(stats)) {
				t.RawSetString(k, glua.LString(stats[k]))
			}
			return t, nil
		}),
	}
}

func hostFuncs(node SystemNode) map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"list": sysRead("hosts", func(L *glua.LState) (glua.LValue, error) {
			if node == nil {
				return nil, notBuilt("system.hosts")
			}
			hs := node.Hosts()
			out := L.CreateTable(len(hs), 0)
			for _, h := range hs {
				t := L.CreateTable(0, 4)
				t.RawSetString("id", glua.LString(h.ID))
				t.RawSetString("workers", glua.LNumber(h.Workers))
				t.RawSetString("processes", glua.LNumber(h.Processes))
				t.RawSetString("queue_depth", glua.LNumber(h.QueueDepth))
				out.Append(t)
			}
			return out, nil
		}),
		"processes": sysRead("hosts", func(L *glua.LState) (glua.LValue, error) {
			host := L.CheckString(1)
			if node == nil {
				return nil, notBuilt("system.hosts")
			}
			ps, err := node.HostProcesses(host)
			if err != nil {
				return nil, err
			}
			out := L.CreateTable(len(ps), 0)
			for _, p := range ps {
				t := L.CreateTable(0, 4)
				t.RawSetString("pid", glua.LString(p.PID))
				t.RawSetString("host", glua.LString(p.Host))
				t.RawSetString("state", glua.LString(p.State))
				if p.Actor != "" {
					t.RawSetString("actor_id", glua.LString(p.Actor))
				}
				out.Append(t)
			}
			return out, nil
		}),
	}
}

func serviceTable(L *glua.LState, s ServiceInfo) *glua.LTable {
	t := L.CreateTable(0, 6)
	t.RawSetString("id", glua.LString(s.ID))
	t.RawSetString("status", glua.LString(s.Status))
	t.RawSetString("retry_count", glua.LNumber(s.RetryCount))
	t.RawSetString("restarts", glua.LNumber(s.Restarts))
	if s.PID != "" {
		t.RawSetString("pid", glua.LString(s.PID))
	}
	if s.Details != "" {
		t.RawSetString("details", glua.LString(s.Details))
	}
	return t
}

func supervisorFuncs(node SystemNode) map[string]glua.LGFunction {
	return map[string]glua.LGFunction{
		"state": sysRead("supervisor", func(L *glua.LState) (glua.LValue, error) {
			id := L.CheckString(1)
			if node == nil {
				return nil, notBuilt("system.supervisor")
			}
			for _, s := range node.Services() {
				if s.ID == id {
					return serviceTable(L, s), nil
				}
			}
			return nil, proc.Errorf(proc.KindNotFound, msg.False, "no service %s", id)
		}),
		"states": sysRead("supervisor", func(L *glua.LState) (glua.LValue, error) {
			if node == nil {
				return nil, notBuilt("system.supervisor")
			}
			ss := node.Services()
			out := L.CreateTable(len(ss), 0)
			for _, s := range ss {
				out.Append(serviceTable(L, s))
			}
			return out, nil
		}),
	}
}
