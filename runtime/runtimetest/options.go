package runtimetest

import (
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Defaults of a Harness.
const (
	// DefaultNode is the node of the default Self.
	DefaultNode = "test"
	// DefaultHost is the host id of the default Self and of spawned children
	// whose request names no host.
	DefaultHost = "app:processes"
	// DefaultStepLimit bounds the Steps one call may run (see WithStepLimit).
	DefaultStepLimit = 1000
)

// DefaultClock is where the fake clock starts: 2025-01-01 00:00:00 UTC.
func DefaultClock() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// Option configures a Harness.
type Option func(*Harness)

// WithSelf sets the process's PID. Default: {test@app:processes|0x00001},
// or the host of WithHost.
func WithSelf(p pid.PID) Option {
	return func(h *Harness) { h.self, h.selfSet = p, true }
}

// WithHost sets the host id of the default Self and of children spawned
// without a host. Default: DefaultHost, or the host of WithSelf.
func WithHost(id string) Option {
	return func(h *Harness) { h.host, h.hostSet = id, true }
}

// WithClock sets where the fake clock starts. Default: DefaultClock().
func WithClock(start time.Time) Option {
	return func(h *Harness) { h.now = start }
}

// WithSpawner answers the process's Spawn calls instead of the harness's
// PID generator. A zero PID with a nil error asks the generator for one;
// an error is returned to the process and nothing is recorded. Link,
// Monitor and Name of the request are applied to the PID it returns.
func WithSpawner(f func(req proc.SpawnRequest) (pid.PID, error)) Option {
	return func(h *Harness) { h.spawner = f }
}

// WithName registers name for p before the process starts, as another
// process of the node would have: Lookup and SendName resolve it.
func WithName(name string, p pid.PID) Option {
	return func(h *Harness) { h.names[name] = p }
}

// WithDead declares processes that have ended: a Monitor of one gives the
// process an EXIT with proc.ErrNoProcess, a Link a link failure with it.
// Sending to one is not an error, as on a node. Exit adds its PID to them.
func WithDead(ps ...pid.PID) Option {
	return func(h *Harness) {
		for _, p := range ps {
			h.dead[p] = struct{}{}
		}
	}
}

// WithStepLimit bounds how many Steps one call of the harness may run
// while the process keeps yielding or feeding its own mailbox; past it the
// test fails (the process never waits). Default: DefaultStepLimit.
// WithContext gives the process context values (a map with string keys,
// what ctx.get and ctx.all read).
func WithContext(values msg.Value) Option {
	return func(h *Harness) { h.context = values }
}

func WithStepLimit(n int) Option {
	return func(h *Harness) { h.stepLimit = n }
}

// Op names an Env call a fault can fail.
type Op string

// The Env calls a fault sees.
const (
	OpSend       Op = "send"
	OpSendName   Op = "send_name"
	OpSpawn      Op = "spawn"
	OpLink       Op = "link"
	OpUnlink     Op = "unlink"
	OpMonitor    Op = "monitor"
	OpUnmonitor  Op = "unmonitor"
	OpTerminate  Op = "terminate"
	OpCancel     Op = "cancel"
	OpRegister   Op = "register"
	OpUnregister Op = "unregister"
	OpLookup     Op = "lookup"
)

// Call describes an Env call for a fault.
type Call struct {
	Op      Op
	To      pid.PID           // the target; for send_name the PID the name resolved to
	Name    string            // send_name, register, unregister, lookup
	Topic   string            // send, send_name
	Payload msg.Value         // send, send_name
	Reason  string            // cancel
	Req     proc.SpawnRequest // spawn
}

// WithFault consults f before every Env call listed under Op; a non-nil
// error is what the call returns, and the call has no effect and is not
// recorded. Faults run in the order given; the first error wins.
func WithFault(f func(c Call) error) Option {
	return func(h *Harness) { h.faults = append(h.faults, f) }
}

// WithSendError makes every Send and SendName to p return err.
func WithSendError(p pid.PID, err error) Option {
	return WithFault(func(c Call) error {
		if (c.Op == OpSend || c.Op == OpSendName) && c.To == p {
			return err
		}
		return nil
	})
}

// WithSpawnError makes every Spawn return err.
func WithSpawnError(err error) Option {
	return WithFault(func(c Call) error {
		if c.Op == OpSpawn {
			return err
		}
		return nil
	})
}
