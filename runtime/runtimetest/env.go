package runtimetest

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// env is the proc.Env of one Step. It expires when the Step returns, so a
// behaviour that keeps it (in a goroutine, or for a later Step) is caught.
type env struct {
	h       *Harness
	expired atomic.Bool
}

var _ proc.Env = (*env)(nil)

// live reports whether e may be used; an expired Env fails the test with
// Errorf, which, unlike Fatalf, may be called from any goroutine.
func (e *env) live(op string) bool {
	if e.expired.Load() {
		e.h.t.Errorf("runtimetest: Env.%s called after its Step returned: an Env is valid only during the Step it was passed to", op)
		return false
	}
	return true
}

func (e *env) Self() pid.PID {
	if !e.live("Self") {
		return pid.PID{}
	}
	return e.h.self
}

func (e *env) Now() time.Time {
	if !e.live("Now") {
		return time.Time{}
	}
	return e.h.now
}

func (e *env) Send(to pid.PID, topic string, payload msg.Value) error {
	if !e.live("Send") {
		return ErrEnvExpired
	}
	return e.h.send(to, "", topic, payload)
}

func (e *env) SendName(name, topic string, payload msg.Value) error {
	if !e.live("SendName") {
		return ErrEnvExpired
	}
	if name == "" {
		return errBadName
	}
	to, ok := e.h.names[name]
	if !ok {
		return errNameNotFound(name)
	}
	return e.h.send(to, name, topic, payload)
}

func (e *env) Spawn(req proc.SpawnRequest) (pid.PID, error) {
	if !e.live("Spawn") {
		return pid.PID{}, ErrEnvExpired
	}
	return e.h.spawn(req)
}

func (e *env) Link(p pid.PID) error {
	if !e.live("Link") {
		return ErrEnvExpired
	}
	if err := e.h.decideTarget(security.ActionLink, p, ""); err != nil {
		return err
	}
	if err := e.h.fault(Call{Op: OpLink, To: p}); err != nil {
		return err
	}
	e.h.link(p)
	return nil
}

func (e *env) Unlink(p pid.PID) error {
	if !e.live("Unlink") {
		return ErrEnvExpired
	}
	if err := e.h.decideTarget(security.ActionUnlink, p, ""); err != nil {
		return err
	}
	if err := e.h.fault(Call{Op: OpUnlink, To: p}); err != nil {
		return err
	}
	delete(e.h.links, p)
	return nil
}

func (e *env) Monitor(p pid.PID) error {
	if !e.live("Monitor") {
		return ErrEnvExpired
	}
	if err := e.h.decideTarget(security.ActionMonitor, p, ""); err != nil {
		return err
	}
	if err := e.h.fault(Call{Op: OpMonitor, To: p}); err != nil {
		return err
	}
	e.h.monitor(p)
	return nil
}

func (e *env) Unmonitor(p pid.PID) error {
	if !e.live("Unmonitor") {
		return ErrEnvExpired
	}
	if err := e.h.decideTarget(security.ActionUnmonitor, p, ""); err != nil {
		return err
	}
	if err := e.h.fault(Call{Op: OpUnmonitor, To: p}); err != nil {
		return err
	}
	delete(e.h.monitors, p)
	return nil
}

func (e *env) Terminate(p pid.PID) error {
	if !e.live("Terminate") {
		return ErrEnvExpired
	}
	h := e.h
	if err := h.decideTarget(security.ActionTerminate, p, ""); err != nil {
		return err
	}
	if err := h.fault(Call{Op: OpTerminate, To: p}); err != nil {
		return err
	}
	h.terminated = append(h.terminated, p)
	if p == h.self {
		h.requestKill(proc.ErrTerminated)
	}
	return nil
}

func (e *env) Cancel(p pid.PID, reason string) error {
	if !e.live("Cancel") {
		return ErrEnvExpired
	}
	h := e.h
	if err := h.decideTarget(security.ActionCancel, p, ""); err != nil {
		return err
	}
	if err := h.fault(Call{Op: OpCancel, To: p, Reason: reason}); err != nil {
		return err
	}
	h.cancelled = append(h.cancelled, Cancellation{PID: p, Reason: reason})
	if p == h.self {
		h.sys = append(h.sys, proc.Delivery{Kind: proc.DeliveryCancel, From: h.self, Payload: msg.String(reason)})
	}
	return nil
}

func (e *env) TrapLinks(on bool) {
	if e.live("TrapLinks") {
		e.h.trap = on
	}
}

// Register and Unregister follow a standalone node: LOCAL names; a
// cluster scope answers UNAVAILABLE "no cluster".
func (e *env) Register(name string, p pid.PID, scope proc.Scope) error {
	if !e.live("Register") {
		return ErrEnvExpired
	}
	if err := checkName(name, scope); err != nil {
		return err
	}
	if p.IsZero() {
		p = e.h.self
	}
	if p != e.h.self {
		if err := e.h.decideTarget(security.ActionRegisterForeign, p, ""); err != nil {
			return err
		}
	}
	if err := e.h.decide(scope.RegisterAction(), name); err != nil {
		return err
	}
	if err := e.h.fault(Call{Op: OpRegister, To: p, Name: name}); err != nil {
		return err
	}
	if scope != proc.ScopeLocal {
		return errNoCluster
	}
	return e.h.register(name, p)
}

func (e *env) Unregister(name string, scope proc.Scope) error {
	if !e.live("Unregister") {
		return ErrEnvExpired
	}
	h := e.h
	if err := checkName(name, scope); err != nil {
		return err
	}
	if err := h.decide(scope.UnregisterAction(), name); err != nil {
		return err
	}
	if err := h.fault(Call{Op: OpUnregister, Name: name}); err != nil {
		return err
	}
	if scope != proc.ScopeLocal {
		return errNoCluster
	}
	holder, ok := h.names[name]
	if !ok {
		return errNameNotFound(name)
	}
	if holder != h.self {
		if err := h.guard.AuthorizeRelease(h.caller, holder, name); err != nil {
			return errNotHolder(name, err)
		}
	}
	delete(h.names, name)
	delete(h.mine, name)
	return nil
}

func (e *env) Lookup(name string) (pid.PID, error) {
	if !e.live("Lookup") {
		return pid.PID{}, ErrEnvExpired
	}
	if err := e.h.fault(Call{Op: OpLookup, Name: name}); err != nil {
		return pid.PID{}, err
	}
	if name == "" {
		return pid.PID{}, errBadName
	}
	p, ok := e.h.names[name]
	if !ok {
		return pid.PID{}, errNameNotFound(name)
	}
	return p, nil
}

func (e *env) StartTimer(d time.Duration) proc.TimerID {
	if !e.live("StartTimer") {
		return 0
	}
	h := e.h
	h.timerSeq++
	id := proc.TimerID(h.timerSeq)
	h.timers[id] = h.now.Add(max(d, 0))
	return id
}

func (e *env) StopTimer(id proc.TimerID) bool {
	if !e.live("StopTimer") {
		return false
	}
	if _, ok := e.h.timers[id]; !ok {
		return false
	}
	delete(e.h.timers, id)
	return true
}

// Blocking runs f: the harness has no scheduler to hand the worker over.
func (e *env) Blocking(f func()) {
	if e.live("Blocking") {
		f()
	}
}

func (e *env) Killed() bool {
	if !e.live("Killed") {
		return false
	}
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	return e.h.killReq != nil
}

// --- what the Env calls do to the harness ---

func (h *Harness) fault(c Call) error {
	for _, f := range h.faults {
		if err := f(c); err != nil {
			return err
		}
	}
	return nil
}

func (h *Harness) isLocal(p pid.PID) bool { return p.Node == "" || p.Node == h.self.Node }

func (h *Harness) send(to pid.PID, name, topic string, payload msg.Value) error {
	if topic == "" || topic[0] == '@' {
		return errBadTopic
	}
	if err := h.decideTarget(security.ActionSend, to, name); err != nil {
		return err
	}
	op := OpSend
	if name != "" {
		op = OpSendName
	}
	if err := h.fault(Call{Op: op, To: to, Name: name, Topic: topic, Payload: payload}); err != nil {
		return err
	}
	h.sent = append(h.sent, Sent{To: to, Name: name, Topic: topic, Payload: payload})
	if to == h.self {
		h.inbox = append(h.inbox, proc.Delivery{Kind: proc.DeliveryMessage, From: h.self, Topic: topic, Payload: payload})
	}
	return nil
}

func (h *Harness) spawn(req proc.SpawnRequest) (pid.PID, error) {
	if req.Behavior == nil && req.Entry == "" {
		return pid.PID{}, ErrNoEntry
	}
	if err := h.decideSpawn(req); err != nil {
		return pid.PID{}, err
	}
	if err := h.fault(Call{Op: OpSpawn, Req: req}); err != nil {
		return pid.PID{}, err
	}
	var child pid.PID
	if h.spawner != nil {
		p, err := h.spawner(req)
		if err != nil {
			return pid.PID{}, err
		}
		child = p
	}
	if child.IsZero() {
		child = h.newPID(req.Host)
	}
	// A child on another node registers its name there.
	if req.Name != "" && h.isLocal(child) {
		if err := h.register(req.Name, child); err != nil {
			return pid.PID{}, err
		}
	}
	h.spawned = append(h.spawned, Spawned{PID: child, SpawnRequest: req})
	if req.Link {
		h.link(child)
	}
	if req.Monitor {
		h.monitor(child)
	}
	return child, nil
}

// newPID numbers children after Self, on the host the request names
// ("node@host" for another node) or the process's own.
func (h *Harness) newPID(host string) pid.PID {
	h.childSeq++
	p := pid.PID{Node: h.self.Node, Host: h.host, Seq: h.childSeq}
	if at := strings.IndexByte(host, '@'); at >= 0 {
		p.Node, p.Host = host[:at], host[at+1:]
	} else if host != "" {
		p.Host = host
	}
	return p
}

// link links p; linking a dead PID is its failure with "no process".
func (h *Harness) link(p pid.PID) {
	if p == h.self {
		return
	}
	if _, dead := h.dead[p]; !dead {
		h.links[p] = struct{}{}
		return
	}
	if h.trap {
		h.inbox = append(h.inbox, proc.Delivery{Kind: proc.DeliveryLinkDown, From: p, Err: proc.ErrNoProcess})
		return
	}
	h.requestKill(proc.LinkDown(p))
}

// monitor monitors p; monitoring a dead PID gives an EXIT with "no process".
func (h *Harness) monitor(p pid.PID) {
	if p == h.self {
		return
	}
	h.monitors[p] = struct{}{}
	if _, dead := h.dead[p]; dead {
		h.inbox = append(h.inbox, proc.Delivery{Kind: proc.DeliveryExit, From: p, Err: proc.ErrNoProcess})
	}
}

func (h *Harness) register(name string, p pid.PID) error {
	if name == "" {
		return errBadName
	}
	if !h.isLocal(p) {
		return errRemoteName
	}
	if _, dead := h.dead[p]; dead {
		return errDeadProcess
	}
	if cur, ok := h.names[name]; ok && cur != p {
		return errNameTaken(name)
	}
	h.names[name] = p
	h.mine[name] = struct{}{}
	return nil
}

// requestKill asks for the process's end while a Step runs: Env.Killed
// reports it at once, an Interrupter is told, and the Step's return ends
// the process (see Kill). It reports false, doing nothing, when no Step runs.
func (h *Harness) requestKill(reason error) bool {
	h.mu.Lock()
	if !h.stepping {
		h.mu.Unlock()
		return false
	}
	first := h.killReq == nil
	if first {
		h.killReq = reason
	}
	h.mu.Unlock()
	if in, ok := h.beh.(proc.Interrupter); ok && first {
		in.Interrupt()
	}
	return true
}
