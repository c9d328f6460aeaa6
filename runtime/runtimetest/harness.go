package runtimetest

import (
	"cmp"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// TB is the part of testing.TB the harness uses; *testing.T, *testing.B and
// any testing.TB satisfy it. Errorf must be safe to call from any goroutine
// (it reports an Env used from a goroutine that outlived its Step).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Sent is one message the process sent.
type Sent struct {
	To      pid.PID
	Name    string // the registered name it was sent to with SendName; "" for Send
	Topic   string
	Payload msg.Value
}

// Spawned is one process the process started, with the PID it was given.
type Spawned struct {
	PID pid.PID
	proc.SpawnRequest
}

// Cancellation is one Cancel the process asked for.
type Cancellation struct {
	PID    pid.PID
	Reason string
}

// Timer is a timer that has not fired yet.
type Timer struct {
	ID proc.TimerID
	At time.Time // when it fires on the fake clock
}

// Harness runs one behaviour as its only process. It is not safe for
// concurrent use, except Kill (see there).
type Harness struct {
	t         TB
	beh       proc.Behavior
	self      pid.PID
	selfSet   bool
	host      string
	hostSet   bool
	now       time.Time
	spawner   func(proc.SpawnRequest) (pid.PID, error)
	faults    []func(Call) error
	stepLimit int

	context      msg.Value                     // the process's context values (WithContext)
	chain        security.Chain                // the process's security context
	hostPolicies map[string][]*security.Policy // by host id
	table        map[string]*security.Policy   // the policy table, by id
	strict       bool
	guard        *security.Guard // made by New from the above
	caller       security.Caller // the process as guard sees it

	started bool
	done    bool
	killed  bool
	result  proc.Result
	status  proc.Status
	steps   int

	trap     bool
	links    map[pid.PID]struct{}
	monitors map[pid.PID]struct{}
	dead     map[pid.PID]struct{}
	names    map[string]pid.PID
	mine     map[string]struct{} // names registered through the Env
	timerSeq uint64
	timers   map[proc.TimerID]time.Time
	childSeq uint64
	// The process's own mailbox: what its own calls put there (a send to
	// itself, the EXIT of a monitored dead PID). sys is read first, as the
	// runtime's system lane (CANCEL).
	sys, inbox []proc.Delivery

	sent       []Sent
	spawned    []Spawned
	terminated []pid.PID
	cancelled  []Cancellation

	mu       sync.Mutex
	stepping bool  // mu
	killReq  error // mu: the reason of a kill asked for during a Step
}

// New returns a harness for b. Nothing runs until Start.
func New(t TB, b proc.Behavior, opts ...Option) *Harness {
	t.Helper()
	h := &Harness{
		t: t, beh: b, host: DefaultHost, now: DefaultClock(), stepLimit: DefaultStepLimit,
		links: map[pid.PID]struct{}{}, monitors: map[pid.PID]struct{}{}, dead: map[pid.PID]struct{}{},
		names: map[string]pid.PID{}, mine: map[string]struct{}{}, timers: map[proc.TimerID]time.Time{},
	}
	for _, o := range opts {
		o(h)
	}
	switch {
	case !h.selfSet:
		h.self = pid.PID{Node: DefaultNode, Host: h.host, Seq: 1}
	case !h.hostSet:
		h.host = h.self.Host
	}
	h.childSeq = h.self.Seq
	h.initGuard()
	if b == nil {
		t.Fatalf("runtimetest: New: nil behavior")
	} else if h.self.IsZero() {
		t.Fatalf("runtimetest: New: zero self PID")
	} else if h.stepLimit < 1 {
		t.Fatalf("runtimetest: New: step limit %d < 1", h.stepLimit)
	}
	return h
}

// --- driving ---

// Start runs the first Step. Its batch is ds, normally none; give the
// Message of the SpawnRequest that started the process, which a node puts
// in the mailbox before the first turn.
func (h *Harness) Start(ds ...proc.Delivery) {
	h.t.Helper()
	if !h.check("Start", false) {
		return
	}
	if h.started {
		h.t.Fatalf("runtimetest: Start called twice")
		return
	}
	h.started = true
	h.run(ds)
}

// Deliver runs one Step with batch ds, handed over as is (see doc.go for
// what follows it). Use the helpers (Send, Exit, LinkDown, Cancel, Advance)
// for deliveries the runtime makes with rules of its own.
func (h *Harness) Deliver(ds ...proc.Delivery) {
	h.t.Helper()
	if h.check("Deliver", true) {
		h.run(ds)
	}
}

// Send delivers a message from from.
func (h *Harness) Send(from pid.PID, topic string, payload msg.Value) {
	h.t.Helper()
	if h.check("Send", true) {
		h.run([]proc.Delivery{{Kind: proc.DeliveryMessage, From: from, Topic: topic, Payload: payload}})
	}
}

// Cancel delivers a CANCEL from from with reason. Nothing ends the process
// if it ignores it: the host's cancel timeout is not simulated (Kill with
// proc.ErrTerminated does what it would).
func (h *Harness) Cancel(from pid.PID, reason string) {
	h.t.Helper()
	if h.check("Cancel", true) {
		h.run([]proc.Delivery{{Kind: proc.DeliveryCancel, From: from, Payload: msg.String(reason)}})
	}
}

// Exit tells the process that from, which it monitors or is linked to,
// ended with value (a normal exit, err nil) or err, and applies what the
// runtime would: from is dead from then on; a link is removed and, for a
// failure, either delivers a LINK_DOWN (the process traps links) or kills
// the process with proc.LinkDown(from); a monitor is removed and delivers
// an EXIT (whose Payload is nil for a failure: a node drops the value of a
// process that failed). The deliveries go in one Step, LINK_DOWN first. An Exit for a
// PID the process neither monitors nor is linked to fails the test: the
// runtime would never deliver it (Deliver hands in anything).
func (h *Harness) Exit(from pid.PID, value msg.Value, err error) {
	h.t.Helper()
	if !h.check("Exit", true) {
		return
	}
	_, linked := h.links[from]
	_, monitored := h.monitors[from]
	if !linked && !monitored {
		h.t.Fatalf("runtimetest: Exit from %v, which the process neither monitors nor is linked to (monitors %v, links %v)", from, h.Monitors(), h.Links())
		return
	}
	h.dead[from] = struct{}{}
	if err != nil {
		value = msg.Nil
	}
	var batch []proc.Delivery
	if linked {
		delete(h.links, from)
		if err != nil {
			if !h.trap {
				h.kill(proc.LinkDown(from))
				return
			}
			batch = append(batch, proc.Delivery{Kind: proc.DeliveryLinkDown, From: from, Err: err})
		}
	}
	if monitored {
		batch = append(batch, proc.Delivery{Kind: proc.DeliveryExit, From: from, Payload: value, Err: err})
	}
	if len(batch) > 0 {
		h.run(batch)
	}
}

// LinkDown tells the process that from, to which it is linked, failed with
// err (a node going down gives proc.ErrNoConnection): the link is removed,
// and the process gets a LINK_DOWN if it traps links or is killed with
// proc.LinkDown(from) if not. Unlike Exit it leaves monitors alone and
// does not mark from dead. The test fails if there is no such link or err
// is nil (a normal exit only unlinks; Exit models it).
func (h *Harness) LinkDown(from pid.PID, err error) {
	h.t.Helper()
	if !h.check("LinkDown", true) {
		return
	}
	if _, ok := h.links[from]; !ok {
		h.t.Fatalf("runtimetest: LinkDown from %v, which the process is not linked to (links %v)", from, h.Links())
		return
	}
	if err == nil {
		h.t.Fatalf("runtimetest: LinkDown from %v with a nil error: a normal exit only unlinks (use Exit)", from)
		return
	}
	delete(h.links, from)
	if !h.trap {
		h.kill(proc.LinkDown(from))
		return
	}
	h.run([]proc.Delivery{{Kind: proc.DeliveryLinkDown, From: from, Err: err}})
}

// Advance moves the fake clock forward by d and fires every timer due by
// then, in order of deadline (then of id): the clock is set to the
// timer's deadline and one Step delivers it alone, as a DeliveryTimer whose
// Payload is the id as an int. Timers started by those Steps fire in the
// same Advance when they fall due before its end. Advance(0) fires the
// timers due now.
func (h *Harness) Advance(d time.Duration) {
	h.t.Helper()
	if !h.check("Advance", false) {
		return
	}
	if d < 0 {
		h.t.Fatalf("runtimetest: Advance(%v): time does not go back", d)
		return
	}
	end := h.now.Add(d)
	for !h.done {
		id, at, ok := h.nextTimer()
		if !ok || at.After(end) {
			break
		}
		if at.After(h.now) {
			h.now = at
		}
		h.run([]proc.Delivery{{Kind: proc.DeliveryTimer, Payload: msg.Int(int64(id))}})
	}
	h.now = end
}

func (h *Harness) nextTimer() (proc.TimerID, time.Time, bool) {
	var (
		best proc.TimerID
		at   time.Time
		ok   bool
	)
	for id, t := range h.timers {
		if !ok || t.Before(at) || t.Equal(at) && id < best {
			best, at, ok = id, t, true
		}
	}
	return best, at, ok
}

// Kill ends the process from outside, as terminate or a linked failure
// does: Behavior.Kill(reason) is called instead of a Step and the process
// is done with reason as its error (nil means proc.ErrTerminated). Called
// during a Step — from the behaviour's own code, or from another goroutine
// to stop a Step in progress — it does what the runtime does: Env.Killed
// reports true from then on, a proc.Interrupter is interrupted, and the
// kill takes effect when the Step returns, unless the Step returns done.
func (h *Harness) Kill(reason error) {
	h.t.Helper()
	if reason == nil {
		reason = proc.ErrTerminated
	}
	if h.requestKill(reason) {
		return
	}
	if h.check("Kill", false) {
		h.kill(reason)
	}
}

// check fails the test for a call that cannot be made now.
func (h *Harness) check(op string, needStart bool) bool {
	h.t.Helper()
	switch {
	case h.isStepping():
		h.t.Fatalf("runtimetest: %s during a Step: drive the harness from the test, not from the behaviour", op)
	case h.done:
		h.t.Fatalf("runtimetest: %s after the process ended (%s): a behaviour must not be stepped after Done", op, describe(h.result, h.killed))
	case needStart && !h.started:
		h.t.Fatalf("runtimetest: %s before Start", op)
	default:
		return true
	}
	return false
}

func (h *Harness) isStepping() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stepping
}

func describe(r proc.Result, killed bool) string {
	s := "value " + r.Value.String()
	if r.Err != nil {
		s = "error " + r.Err.Error()
	}
	if killed {
		s = "killed, " + s
	}
	return s
}

// run steps the process with batch, then keeps stepping while the runtime
// would give it another turn at once: it yielded, or its own calls put
// deliveries in its mailbox.
func (h *Harness) run(batch []proc.Delivery) {
	h.t.Helper()
	for n := 1; ; n++ {
		if !h.step(batch) || h.done {
			return
		}
		batch = h.takeMailbox()
		if len(batch) == 0 && h.status != proc.StatusYield {
			return
		}
		if n >= h.stepLimit {
			h.t.Fatalf("runtimetest: the process ran %d Steps in a row without waiting (last status %v, %d deliveries queued): it never waits, or raise WithStepLimit", n, statusName(h.status), len(batch))
			return
		}
	}
}

// takeMailbox empties the process's own mailbox, dropping the EXITs of
// monitors removed since they were queued, as the runtime does.
func (h *Harness) takeMailbox() []proc.Delivery {
	batch := append(h.sys, h.inbox...)
	h.sys, h.inbox = nil, nil
	out := batch[:0]
	for _, d := range batch {
		if d.Kind == proc.DeliveryExit {
			if _, ok := h.monitors[d.From]; !ok {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

// step runs one Step. It reports false when the test has failed.
func (h *Harness) step(batch []proc.Delivery) bool {
	h.t.Helper()
	for _, d := range batch {
		// What the runtime forgets when it delivers these (its filter).
		switch d.Kind {
		case proc.DeliveryTimer:
			id, _ := d.Payload.AsInt()
			delete(h.timers, proc.TimerID(id))
		case proc.DeliveryExit:
			delete(h.monitors, d.From)
		}
	}
	e := &env{h: h}
	h.mu.Lock()
	h.stepping = true
	h.mu.Unlock()
	st, res, panicked, stack := h.call(e, batch)
	e.expired.Store(true)
	h.mu.Lock()
	h.stepping = false
	kill := h.killReq
	h.mu.Unlock()
	h.steps++
	if panicked != nil {
		h.finish(proc.Result{Err: proc.Panic(panicked)}, false)
		h.t.Fatalf("runtimetest: Step panicked: %v\n%s", panicked, stack)
		return false
	}
	if st > proc.StatusDone {
		h.finish(proc.Result{Err: fmt.Errorf("runtimetest: unknown status %d", st)}, false)
		h.t.Fatalf("runtimetest: Step returned unknown status %d", st)
		return false
	}
	h.status = st
	if st == proc.StatusDone {
		h.finish(res, false)
		return true
	}
	if kill != nil {
		h.kill(kill)
	}
	return true
}

func (h *Harness) call(e *env, batch []proc.Delivery) (st proc.Status, res proc.Result, panicked any, stack []byte) {
	defer func() {
		if r := recover(); r != nil {
			panicked, stack = r, debug.Stack()
		}
	}()
	st, res = h.beh.Step(e, batch)
	return st, res, nil, nil
}

// kill calls Behavior.Kill and ends the process.
func (h *Harness) kill(reason error) {
	h.t.Helper()
	h.mu.Lock()
	if h.killReq == nil {
		h.killReq = reason // Env.Killed stays true, as on a node
	}
	h.mu.Unlock()
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		h.beh.Kill(reason)
	}()
	h.finish(proc.Result{Err: reason}, true)
	if panicked != nil {
		h.t.Fatalf("runtimetest: Kill panicked: %v", panicked)
	}
}

// finish ends the process. Its timers and unread mailbox go with it.
func (h *Harness) finish(res proc.Result, killed bool) {
	h.done, h.result, h.killed = true, res, killed
	clear(h.timers)
	h.sys, h.inbox = nil, nil
}

func statusName(s proc.Status) string {
	switch s {
	case proc.StatusYield:
		return "yield"
	case proc.StatusBlock:
		return "block"
	case proc.StatusIdle:
		return "idle"
	case proc.StatusDone:
		return "done"
	}
	return fmt.Sprintf("status(%d)", s)
}

// --- state ---

// Self returns the process's PID.
func (h *Harness) Self() pid.PID { return h.self }

// Now returns the fake clock.
func (h *Harness) Now() time.Time { return h.now }

// Status returns what the last Step returned (StatusYield, the zero
// Status, before the first). A kill does not change it; Done tells.
func (h *Harness) Status() proc.Status { return h.status }

// Steps returns how many Steps have run.
func (h *Harness) Steps() int { return h.steps }

// Done returns how the process ended and whether it has.
func (h *Harness) Done() (proc.Result, bool) { return h.result, h.done }

// Killed reports whether the process was killed (Behavior.Kill was called).
func (h *Harness) Killed() bool { return h.killed }

// TrapLinks reports whether the process traps links.
func (h *Harness) TrapLinks() bool { return h.trap }

// Sent returns the messages the process sent, oldest first. A send that
// returned an error is not among them; one to a dead PID is.
func (h *Harness) Sent() []Sent { return slices.Clone(h.sent) }

// TakeSent returns the messages sent since the last TakeSent and forgets
// them, so a test can check what each delivery caused.
func (h *Harness) TakeSent() []Sent {
	s := h.sent
	h.sent = nil
	return s
}

// Spawned returns the processes the process started, oldest first.
func (h *Harness) Spawned() []Spawned { return slices.Clone(h.spawned) }

// TakeSpawned returns the processes started since the last TakeSpawned and
// forgets them.
func (h *Harness) TakeSpawned() []Spawned {
	s := h.spawned
	h.spawned = nil
	return s
}

// Links returns the PIDs the process is linked to, sorted.
func (h *Harness) Links() []pid.PID { return sortedPIDs(h.links) }

// Monitors returns the PIDs the process monitors, sorted. A monitor goes
// when its EXIT is delivered.
func (h *Harness) Monitors() []pid.PID { return sortedPIDs(h.monitors) }

// Terminated returns the PIDs the process terminated, in call order.
func (h *Harness) Terminated() []pid.PID { return slices.Clone(h.terminated) }

// Cancelled returns the cancels the process asked for, in call order.
func (h *Harness) Cancelled() []Cancellation { return slices.Clone(h.cancelled) }

// Registered returns the names registered through the process's Env
// (Register, or the Name of a Spawn) that are still held, with their PIDs.
// Names given with WithName are not among them unless re-registered.
func (h *Harness) Registered() map[string]pid.PID {
	out := make(map[string]pid.PID, len(h.mine))
	for n := range h.mine {
		out[n] = h.names[n]
	}
	return out
}

// Timers returns the timers that have not fired or been stopped, by
// deadline.
func (h *Harness) Timers() []Timer {
	out := make([]Timer, 0, len(h.timers))
	for id, at := range h.timers {
		out = append(out, Timer{ID: id, At: at})
	}
	slices.SortFunc(out, func(a, b Timer) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func sortedPIDs(m map[pid.PID]struct{}) []pid.PID {
	return slices.SortedFunc(maps.Keys(m), comparePIDs)
}

func comparePIDs(a, b pid.PID) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Host, b.Host), cmp.Compare(a.Seq, b.Seq))
}
