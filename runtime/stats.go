package runtime

import (
	"cmp"
	"slices"

	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// NameCount returns the number of registered local names.
func (rt *Runtime) NameCount() int {
	rt.names.mu.RLock()
	defer rt.names.mu.RUnlock()
	return len(rt.names.m)
}

// Hosts returns the configured hosts, in configuration order.
func (rt *Runtime) Hosts() []HostConfig {
	return append([]HostConfig(nil), rt.cfg.Hosts...)
}

// ProcessInfo describes one live process (Processes).
type ProcessInfo struct {
	PID   pid.PID
	Host  string
	State proc.State
	Actor string // the id of the actor it runs as; "" for none
}

// Processes lists the live processes of host (of every host for ""),
// by PID sequence. It reads each process's state without stopping it.
func (rt *Runtime) Processes(host string) []ProcessInfo {
	var out []ProcessInfo
	rt.procs.each(func(p *process) {
		if host != "" && p.host.cfg.ID != host {
			return
		}
		pi := ProcessInfo{PID: p.pid, Host: p.host.cfg.ID, State: proc.State(p.state.Load())}
		if a := p.sec.Actor(); a != nil {
			pi.Actor = a.ID
		}
		out = append(out, pi)
	})
	slices.SortFunc(out, func(a, b ProcessInfo) int { return cmp.Compare(a.PID.Seq, b.PID.Seq) })
	return out
}

// Workers returns the size of the node's worker pool (hosts with a pool
// of their own have HostConfig.Workers).
func (rt *Runtime) Workers() int { return rt.sched.Workers() }
