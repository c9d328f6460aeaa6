package runtime

import (
	"errors"
	"fmt"
	"github.com/wippyd/wippyd/internal/throttle"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wippyd/wippyd/runtime/mailbox"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/sched"
	"github.com/wippyd/wippyd/runtime/security"
)

// host is one process host at run time.
type host struct {
	cfg     HostConfig
	sec     *security.Host   // the host as the guard sees it
	sched   *sched.Scheduler // the node pool, or the host's own
	count   atomic.Int64
	pending atomic.Int64 // spawned, not yet run (for QueueSize)
	spawns  counter
}

// admit counts p, a new process, on h: live (count) and not yet run
// (pending). A process of the node's own (internal) is not counted: the
// host's max_processes and queue_size are the app's limits.
func (h *host) admit(p *process) error {
	if p.internal() {
		return nil
	}
	if n := h.count.Add(1); h.cfg.MaxProcesses > 0 && n > int64(h.cfg.MaxProcesses) {
		h.count.Add(-1)
		return proc.Errorf(proc.KindUnavailable, ErrHostFull.Retryable, "host is full: %s", h.cfg.ID)
	}
	if n := h.pending.Add(1); h.cfg.QueueSize > 0 && n > int64(h.cfg.QueueSize) {
		h.pending.Add(-1)
		h.count.Add(-1)
		return proc.Errorf(proc.KindUnavailable, ErrHostQueueFull.Retryable, "host spawn queue is full: %s", h.cfg.ID)
	}
	return nil
}

// ran is p's first turn: it no longer waits in h's queue.
func (h *host) ran(p *process) {
	if !p.internal() {
		h.pending.Add(-1)
	}
}

// release uncounts p, which has ended (or never started), from h.
func (h *host) release(p *process) {
	if p.internal() {
		return
	}
	h.count.Add(-1)
	if p.flags&fresh != 0 {
		h.pending.Add(-1)
	}
}

// Runtime is one node's process runtime.
type Runtime struct {
	cfg    Config
	log    *slog.Logger
	sched  *sched.Scheduler   // the node pool
	pools  []*sched.Scheduler // hosts' own pools
	router Router
	procs  *table
	names  names
	hosts  map[string]*host
	first  *host
	seq    atomic.Uint64
	guard  *security.Guard
	// lastText is the last PID of another node the guard matched, with
	// its text: a stream of sends to one remote process formats it once.
	// lastLocal is the last live local process it matched: a stream from
	// another node to one process skips the process table here.
	lastText  atomic.Pointer[pidText]
	lastLocal atomic.Pointer[process]

	remoteMu sync.Mutex
	remote   map[string]map[*process]struct{} // node -> local processes related to its processes

	denyLog throttle.Pairs // log lines about denied remote traffic, per (sender, target host)

	stopping atomic.Bool
	started  atomic.Bool
	stopOnce sync.Once
	exited   chan struct{} // signalled (non-blocking) whenever a process ends
	counters Counters
	entries  entryTable // entry ids of spawns, for observers
	pageBufs sync.Pool  // *[]tableEntry: ProcessPage's table copies
}

// New returns a runtime; Start it before use.
func New(cfg Config) (*Runtime, error) {
	if cfg.Budget == 0 {
		cfg.Budget = 128
	}
	if cfg.StopGrace == 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := sched.New(sched.Config{Workers: cfg.Workers, LocalQueueSize: cfg.LocalQueueSize, Slice: cfg.Slice, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	rt := &Runtime{
		cfg: cfg, log: cfg.Logger, sched: s, router: cfg.Router, procs: newTable(),
		names:  names{m: make(map[string]*process)},
		hosts:  make(map[string]*host, len(cfg.Hosts)),
		remote: make(map[string]map[*process]struct{}),
		exited: make(chan struct{}, 1),
	}
	if rt.router == nil {
		rt.router = standaloneRouter{}
	}
	// The text a target is matched as: the one a live local process has
	// already formatted, or the PID's.
	rt.guard = newGuard(&cfg, rt.guardText)
	for i, h := range cfg.Hosts {
		rt.hosts[h.ID] = &host{cfg: h, sec: rt.guard.Host(h.ID), sched: s}
		if h.Workers > 0 {
			own, err := sched.New(sched.Config{Workers: h.Workers, LocalQueueSize: h.LocalQueueSize, Slice: cfg.Slice, Logger: cfg.Logger})
			if err != nil {
				return nil, fmt.Errorf("host %s: %w", h.ID, err)
			}
			rt.hosts[h.ID].sched = own
			rt.pools = append(rt.pools, own)
		}
		if i == 0 {
			rt.first = rt.hosts[h.ID]
		}
	}
	start := cfg.SeqStart
	if start == 0 {
		start = uint64(time.Now().UnixMilli()) << 20
	}
	rt.seq.Store(start - 1)
	if cfg.Locks != nil {
		cfg.Locks.OnLockLost(func(name string, p pid.PID) {
			if pr := rt.local(p); pr != nil {
				rt.kill(pr, proc.Errorf(proc.KindCanceled, msg.False, "lock lost: %s", name), nil)
			}
		})
	}
	if cfg.Names != nil {
		cfg.Names.OnRevoke(func(name string, p pid.PID) {
			rt.cancel(nil, pid.PID{}, p, "name revoked: "+name, nil)
		})
		cfg.Names.OnClaim(func(name string, p pid.PID) {
			if rt.local(p) == nil {
				cfg.Names.ReleasePID(p)
			}
		})
	}
	return rt, nil
}

// guardText is the text the guard matches a target PID as: the one a live
// local process has already formatted, or the PID's.
func (rt *Runtime) guardText(p pid.PID) string {
	if tp := rt.lastLocal.Load(); tp != nil && tp.pid == p {
		// Its text is p's, even if it has just ended.
		return tp.pidString()
	}
	if tp := rt.local(p); tp != nil {
		rt.lastLocal.Store(tp)
		return tp.pidString()
	}
	return rt.remoteText(p)
}

// pidText is a PID and its text.
type pidText struct {
	p pid.PID
	s string
}

// remoteText returns p.String(), kept from the last call when p is the
// same PID.
func (rt *Runtime) remoteText(p pid.PID) string {
	if c := rt.lastText.Load(); c != nil && c.p == p {
		return c.s
	}
	s := p.String()
	rt.lastText.Store(&pidText{p: p, s: s})
	return s
}

// newGuard returns the guard of cfg's policies and hosts.
func newGuard(cfg *Config, pidText func(pid.PID) string) *security.Guard {
	hosts := make([]security.HostPolicies, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		hosts[i] = security.HostPolicies{ID: h.ID, Policies: h.Policies}
	}
	return security.NewGuard(security.GuardConfig{
		Node: cfg.Node, StrictMode: cfg.StrictMode, Policies: cfg.Policies, Hosts: hosts, PIDText: pidText,
	})
}

// Guard returns the node's permission checks (SPEC section 8): the
// cluster asks it about traffic from other nodes.
func (rt *Runtime) Guard() *security.Guard { return rt.guard }

// Node returns this node's name.
func (rt *Runtime) Node() string { return rt.cfg.Node }

// Start starts the scheduler.
func (rt *Runtime) Start() {
	if rt.started.CompareAndSwap(false, true) {
		rt.sched.Start()
		for _, s := range rt.pools {
			s.Start()
		}
	}
}

// RelateRemote records, for the local process parent, the link and/or
// monitor a spawn on another node set up with child there (see SpawnFor).
// A Router calls it while handling the spawn's answer, before any later
// signal from child's node is delivered, so that an EXIT the child sends
// right after it starts finds the relation in place. If parent has ended
// meanwhile, child's node is told: the link fails with noproc and the
// monitor is removed.
func (rt *Runtime) RelateRemote(parent, child pid.PID, link, monitor bool) {
	p := rt.local(parent)
	if link && (p == nil || !rt.addRemoteRelation(p, child, relLinks)) {
		_ = rt.router.Route(&Envelope{Kind: SigLinkExit, From: parent, To: child, Err: proc.ErrNoProcess})
	}
	if monitor && (p == nil || !rt.addRemoteRelation(p, child, relMonitoring)) {
		_ = rt.router.Route(&Envelope{Kind: SigDemonitor, From: parent, To: child})
	}
}

// Send sends from outside any process; from may be the zero PID. Calls
// from outside any process are the node's own and are not checked by
// policy.
func (rt *Runtime) Send(from, to pid.PID, topic string, payload msg.Value) error {
	return rt.send(nil, &from, &to, "", topic, &payload)
}

// SendName sends to a registered name from outside any process.
func (rt *Runtime) SendName(from pid.PID, name, topic string, payload msg.Value) error {
	to, err := rt.resolve(name)
	if err != nil {
		return err
	}
	return rt.send(nil, &from, &to, name, topic, &payload)
}

// Terminate kills p at once (from outside any process), as
// process.terminate does: p runs no more code, so a Go-native process's
// Terminate callback (native.Terminator) is not called and a Lua process
// gets no CANCEL; links and monitors see the exit reason "terminated".
// To let p clean up, use Cancel. Terminating a process that has ended is
// not an error.
func (rt *Runtime) Terminate(p pid.PID) error { return rt.terminate(nil, pid.PID{}, p, nil) }

// Cancel asks p to finish (from outside any process): p gets a CANCEL
// event carrying reason. A Go-native process without HandleEvent then
// ends normally and its Terminate callback runs; one with HandleEvent
// ends when it calls Ctx.Stop (or fails). If p's host has a
// cancel_timeout and p is still alive that long after, it is terminated.
// This is the stop that lets a process clean up; Stop cancels every
// process this way before terminating what is left.
func (rt *Runtime) Cancel(p pid.PID, reason string) error {
	return rt.cancel(nil, pid.PID{}, p, reason, nil)
}

// Register gives a local name to a local process.
func (rt *Runtime) Register(name string, p pid.PID) error {
	pr := rt.local(p)
	if pr == nil {
		if !rt.isLocal(p) {
			return ErrRemoteName
		}
		return ErrDeadProcess
	}
	return rt.registerLocal(name, pr)
}

// Unregister releases a local name, whoever holds it (the node's own call).
func (rt *Runtime) Unregister(name string) error { return rt.unregisterLocal(name, pid.PID{}) }

// Lookup resolves a name on this node, with no network round trip: the
// cluster planes first (CONSISTENT and STRONG, then EVENTUAL: this node's
// replicas, possibly stale, working in a minority partition), then LOCAL.
func (rt *Runtime) Lookup(name string) (pid.PID, error) { return rt.resolve(name) }

// Wake gives process p a turn with nothing new for it but a wake-up
// (proc.DeliveryWake): a behaviour that recorded something for itself
// from another goroutine (a Lua process's pending OUTDATED event) sees
// it. It never blocks and does nothing for a process that does not exist
// or is on another node.
func (rt *Runtime) Wake(p pid.PID) {
	if q := rt.local(p); q != nil {
		rt.pushSystem(nil, q, proc.Delivery{Kind: proc.DeliveryWake})
	}
}

// Alive reports whether p is a live local process.
func (rt *Runtime) Alive(p pid.PID) bool { return rt.local(p) != nil }

// ProcessCount returns the number of live processes.
func (rt *Runtime) ProcessCount() int { return rt.procs.len() }

// State returns the state of a live local process.
func (rt *Runtime) State(p pid.PID) (proc.State, bool) {
	pr := rt.local(p)
	if pr == nil {
		return proc.Complete, false
	}
	return proc.State(pr.state.Load()), true
}

// Counters returns a snapshot of the counters and gauges.
func (rt *Runtime) Counters() Snapshot {
	c := &rt.counters
	st := rt.sched.Stats()
	for _, s := range rt.pools {
		ps := s.Stats()
		st.Steals += ps.Steals
		st.HandOffs += ps.HandOffs
		st.RunQueue += ps.RunQueue
	}
	s := Snapshot{
		Spawns: c.spawns.Load(), SentLocal: c.sentLocal.Load(), SentRemote: c.sentRemote.Load(),
		ReceivedLocal: c.recvLocal.Load(), ReceivedRemote: c.recvRemote.Load(),
		Steals: st.Steals, HandOffs: st.HandOffs, RunQueue: st.RunQueue,
		Processes: rt.procs.len(), CancelTerminated: c.cancelKilled.Load(), Denied: rt.guard.Denied(),
		Exits: map[string]uint64{}, Dropped: map[string]uint64{},
		ProcessesByHost: map[string]int{}, SpawnsByHost: map[string]uint64{},
	}
	for i, r := range exitReasons {
		s.Exits[r] = c.exits[i].Load()
	}
	for i, r := range dropReasons {
		s.Dropped[r] = c.dropped[i].Load()
	}
	for id, h := range rt.hosts {
		s.ProcessesByHost[id] = int(h.count.Load())
		s.SpawnsByHost[id] = h.spawns.Load()
	}
	return s
}

// MailboxDepthMax returns the deepest mailbox of any live process (a scan).
func (rt *Runtime) MailboxDepthMax() int {
	m := 0
	rt.procs.each(func(p *process) { m = max(m, p.mbox.Len()) })
	return m
}

// StateCounts returns live processes by host and state (a scan).
func (rt *Runtime) StateCounts() map[string]map[proc.State]int {
	out := map[string]map[proc.State]int{}
	rt.procs.each(func(p *process) {
		m := out[p.host.cfg.ID]
		if m == nil {
			m = map[proc.State]int{}
			out[p.host.cfg.ID] = m
		}
		m[proc.State(p.state.Load())]++
	})
	return out
}

func (rt *Runtime) isLocal(p pid.PID) bool { return rt.isLocalNode(p.Node) }

// isLocalNode reports whether a PID with this node is one of this node's.
// The send path calls it rather than isLocal: a PID passed by value there
// is copied from the stores that just spilled it, which stalls the load.
func (rt *Runtime) isLocalNode(node string) bool { return node == "" || node == rt.cfg.Node }

// local returns the live local process p names, or nil.
func (rt *Runtime) local(p pid.PID) *process {
	if !rt.isLocal(p) {
		return nil
	}
	pr := rt.procs.get(p.Seq)
	if pr == nil || pr.pid.Host != p.Host {
		return nil
	}
	return pr
}

// localFrom is local for a send on worker w: the process w's last send
// went to is taken without a lookup when it is the one to is. A cached
// process that has ended since refuses the push (its mailbox is closed),
// which drops and counts the message as a lookup that found nothing
// would.
func (rt *Runtime) localFrom(w *sched.Worker, to *pid.PID) *process {
	if w == nil {
		return rt.local(*to)
	}
	buf := scratch(w)
	if c := buf.last; c != nil && c.pid.Seq == to.Seq && c.pid.Host == to.Host {
		return c
	}
	p := rt.local(*to)
	if p != nil {
		buf.last = p
	}
	return p
}

// send delivers a message from src (nil from outside), addressed by PID
// or by name (as "" for a PID), after the process.send check.
func (rt *Runtime) send(src *process, from, to *pid.PID, name, topic string, payload *msg.Value) error {
	if topic == "" || topic[0] == '@' {
		return ErrBadTopic
	}
	var w *sched.Worker
	if src != nil {
		w = src.w
		// The send path: Exempt inline, the guard called directly, a run
		// of sends to one target checked once per worker (security.Memo).
		if !rt.guard.Exempt(src.sec) {
			var memo *security.Memo
			if w != nil {
				memo = &scratch(w).memo
			}
			if err := memo.AuthorizeTarget(rt.guard, src.caller(), security.ActionSend, *to, name); err != nil {
				return proc.PermissionDenied(err)
			}
		}
		if src.sent++; src.sent == math.MaxUint16 {
			src.countSent()
		}
	}
	slot := slotOf(w)
	if !rt.isLocalNode(to.Node) {
		var err error
		if w != nil {
			// The router does not keep the envelope: build it in the
			// worker's scratch instead of on the heap.
			buf := scratch(w)
			buf.env = Envelope{Kind: SigMessage, From: *from, To: *to, Topic: topic, Payload: *payload}
			err = rt.router.Route(stamp(&buf.env, src))
			buf.env = Envelope{}
		} else {
			err = rt.router.Route(stamp(&Envelope{Kind: SigMessage, From: *from, To: *to, Topic: topic, Payload: *payload}, src))
		}
		switch {
		case err == nil:
			rt.counters.sentRemote.add(slot, 1)
			return nil
		case errors.Is(err, ErrUnknownNode):
			return proc.Errorf(proc.KindNotFound, msg.False, "unknown node: %s", to.Node)
		case errors.Is(err, ErrNoRoute):
			rt.counters.drop(slot, DropNodeDown, 1)
			return nil
		}
		return err
	}
	rt.counters.sentLocal.add(slot, 1)
	p := rt.localFrom(w, to)
	if p == nil {
		rt.counters.drop(slot, DropNoProcess, 1)
		return nil
	}
	err := rt.pushMessage(w, nil, p, from, topic, payload, false)
	if src != nil && src != p && p.mbox.Len() > backlogYield {
		src.flags |= yieldTurn
	}
	return err
}

// backlogYield is the mailbox length past which a sender's turn ends after
// the delivery it is handling (as Erlang charges a send to a long queue):
// the senders of a flooded receiver then take turns of one delivery each
// instead of a whole budget, so the receiver gets the worker often enough
// to keep its backlog, and the memory and GC work it costs, bounded.
const backlogYield = 4096

// push puts d into p's mailbox and wakes p. A message into a full mailbox
// is refused with a retryable UNAVAILABLE; into an ended process it is
// dropped and counted.
func (rt *Runtime) push(w *sched.Worker, p *process, d *proc.Delivery, remote bool) error {
	slot, err := rt.reserve(w, p, d.Kind)
	if err == nil {
		*slot = *d
		rt.commit(w, nil, p, d.Kind, remote)
	}
	return rt.pushed(w, err, remote)
}

// pushMessage is push of a message, filled into p's mailbox slot field
// by field (a Delivery built first and then copied in stalled on the
// stores that had just built it, see docs/ARCHITECTURE.md, "Mailbox"). It
// leaves p to guest g, if set and still free, when the message readies it
// (see Guest).
func (rt *Runtime) pushMessage(w *sched.Worker, g *Guest, p *process, from *pid.PID, topic string, payload *msg.Value, remote bool) error {
	d, err := rt.reserve(w, p, proc.DeliveryMessage)
	if err == nil {
		d.From = *from // d is zero (Reserve): Err stays nil
		d.Topic = topic
		d.Payload = *payload
		d.Kind = proc.DeliveryMessage
		rt.commit(w, g, p, proc.DeliveryMessage, remote)
	}
	return rt.pushed(w, err, remote)
}

// reserve is the first half of a push of a delivery of kind k to p: it
// returns p's next mailbox slot, locked, for the caller to fill and then
// pass to commit. Its errors go to pushed.
func (rt *Runtime) reserve(w *sched.Worker, p *process, k proc.DeliveryKind) (*proc.Delivery, error) {
	limit := 0
	if k == proc.DeliveryMessage && !p.internal() && p.host.cfg.MaxMailbox > 0 {
		limit = p.host.cfg.MaxMailbox
		if p.hold != nil {
			// What the behaviour took but has not consumed counts too.
			limit -= p.hold.Held()
			if limit <= 0 {
				return nil, mailbox.ErrFull
			}
		}
	}
	var rings *mailbox.Rings[proc.Delivery]
	if w != nil {
		rings = &scratch(w).rings
	}
	return p.mbox.Reserve(limit, rings)
}

// commit queues the slot reserve gave, counts it and wakes p (for guest g,
// when set) if it was idle.
func (rt *Runtime) commit(w *sched.Worker, g *Guest, p *process, k proc.DeliveryKind, remote bool) {
	wasEmpty := p.mbox.Commit()
	if k == proc.DeliveryMessage {
		slot := slotOf(w)
		if remote {
			rt.counters.recvRemote.add(slot, 1)
		} else {
			rt.counters.recvLocal.add(slot, 1)
		}
	}
	if wasEmpty {
		rt.wakeFor(w, g, p)
		p.signalReceiver()
	}
}

// pushed turns a push's mailbox error into its result: a full mailbox
// refuses a local sender (UNAVAILABLE, retryable) and drops a remote
// message, counted; an ended process drops it, counted.
func (rt *Runtime) pushed(w *sched.Worker, err error, remote bool) error {
	if err == nil {
		return nil
	}
	slot := slotOf(w)
	if errors.Is(err, mailbox.ErrFull) {
		if remote {
			rt.counters.drop(slot, DropMailboxFull, 1)
			return nil
		}
		return ErrMailboxFull
	}
	rt.counters.drop(slot, DropNoProcess, 1)
	return nil
}

// pushSystem puts d into p's system lane and wakes p.
func (rt *Runtime) pushSystem(w *sched.Worker, p *process, d proc.Delivery) {
	if _, err := p.mbox.PushSystem(d); err == nil {
		rt.wake(w, p)
		p.signalReceiver()
	}
}

// wake moves an idle or blocked p to ready and queues it.
func (rt *Runtime) wake(w *sched.Worker, p *process) { rt.wakeFor(w, nil, p) }

// wakeFor is wake that leaves a readied p to guest g when g is set and
// holds no process yet.
func (rt *Runtime) wakeFor(w *sched.Worker, g *Guest, p *process) {
	for {
		s := p.state.Load()
		if s != uint32(proc.Idle) && s != uint32(proc.Blocked) {
			return
		}
		if p.state.CompareAndSwap(s, uint32(proc.Ready)) {
			if g != nil && g.p == nil {
				g.p = p
				return
			}
			rt.enqueue(w, p)
			return
		}
	}
}

func slotOf(w *sched.Worker) int {
	if w == nil {
		return 0
	}
	return w.Slot()
}

// String describes the runtime for logs.
func (rt *Runtime) String() string { return fmt.Sprintf("runtime(%s)", rt.cfg.Node) }

// enqueue queues a ready p on its host's pool: next on w when w works for
// that pool (a hand-off stays on a warm worker), else on the pool's global
// queue.
func (rt *Runtime) enqueue(w *sched.Worker, p *process) {
	if w != nil && w.Scheduler() == p.host.sched {
		w.Ready(&p.Task)
		return
	}
	p.host.sched.Submit(&p.Task)
}
