package runtime

import (
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

// process is one live process. Fields marked "runner" are touched only by
// the goroutine running its turn; "mu" fields by holders of mu.
type process struct {
	sched.Task
	rt   *Runtime
	pid  pid.PID
	host *host
	// sec is set at spawn and immutable; nil: no actor, no policies.
	sec *security.Identity
	// ctx is the context values (a map), set at spawn and immutable,
	// shared with the children that inherit it; nil for none. A pointer
	// keeps the struct in the 352-byte size class.
	ctx   *msg.Value
	state atomic.Uint32
	trap  atomic.Bool
	// flags: runner; fresh, yieldTurn and grouped (one byte, so that sent
	// fits the struct's size class).
	flags runFlags
	dead  bool // mu
	// sent: runner; messages sent this turn, added to out when the turn
	// ends (or when it would overflow), so a send does no atomic write.
	sent uint16
	// entry is the index of the spawn's entry id in rt.entries (0: none);
	// set at spawn, immutable. An index keeps the struct in its size class.
	entry uint32
	mbox  mailbox.Mailbox[proc.Delivery]

	intr proc.Interrupter // set at spawn, immutable
	hold proc.Holder      // set at spawn, immutable
	beh  proc.Behavior    // runner
	w    *sched.Worker    // runner: the worker of the current turn
	// kill is read by the runner before every delivery (Killed): it is
	// kept off the cache line of the mailbox's lock, which every sender
	// writes. Beside the lock, each read missed while senders were busy:
	// the harness's fan-in went from 15 to 20 M messages a second when
	// it moved here (TestKillOffTheMailboxLockLine).
	kill     atomic.Pointer[proc.Error]
	timerSeq uint64                        // runner
	timers   map[proc.TimerID]*sched.Timer // runner

	recvWait atomic.Pointer[chan struct{}] // set while Receive waits on the worker goroutine
	str      atomic.Pointer[string]        // pid.String(), made on first use (policy checks)

	// born is the spawn time (Unix nanoseconds), set at spawn and
	// immutable; in counts the deliveries its turns took from the mailbox,
	// out the messages it sent (as of its last turn's end, see sent). Only
	// the runner writes them, one turn at a time; observers read them.
	born int64
	in   atomic.Uint64
	out  atomic.Uint64

	mu  sync.Mutex
	rel *relations // mu; nil until the first relation
}

// runFlags are the runner's flags of a process.
type runFlags uint8

const (
	// fresh: spawned and not yet run (counted in host.pending).
	fresh runFlags = 1 << iota
	// yieldTurn: a send of this turn found a long mailbox (see
	// backlogYield), so the turn ends after the current step.
	yieldTurn
	// grouped: the process joined a process group or subscribed to one,
	// so its end is reported to the group service.
	grouped
)

// relations are a process's links, monitors and names.
type relations struct {
	links       map[pid.PID]struct{} // linked both ways
	monitoredBy map[pid.PID]struct{} // processes that get our EXIT
	monitoring  map[pid.PID]struct{} // processes whose EXIT we expect
	names       []string
}

// pidString returns p.pid.String(), formatted once.
func (p *process) pidString() string {
	if s := p.str.Load(); s != nil {
		return *s
	}
	s := p.pid.String()
	p.str.Store(&s)
	return s
}

func (p *process) relations() *relations {
	if p.rel == nil {
		p.rel = &relations{}
	}
	return p.rel
}

// relKind names one of a process's relation sets.
type relKind uint8

const (
	relLinks relKind = iota
	relMonitoredBy
	relMonitoring
)

// forget removes other from p's relation set kind and reports whether it
// was there.
func (p *process) forget(kind relKind, other pid.PID) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rel == nil {
		return false
	}
	set := *p.rel.set(kind)
	_, ok := set[other]
	delete(set, other)
	return ok
}

// set returns the relation set kind.
func (r *relations) set(kind relKind) *map[pid.PID]struct{} {
	return [...]*map[pid.PID]struct{}{&r.links, &r.monitoredBy, &r.monitoring}[kind]
}

func addTo(m *map[pid.PID]struct{}, k pid.PID) {
	if *m == nil {
		*m = make(map[pid.PID]struct{}, 1)
	}
	(*m)[k] = struct{}{}
}

// batchBuf is the per-worker scratch kept in Worker.Local: the batch
// buffer of a turn, the envelope a send to another node is built in (the
// router does not keep it), and the process the worker's last local send
// went to, so that a run of sends to one receiver (many senders, one
// receiver) skips the table lookup and its shared read lock; and the
// mailbox rings this goroutine's drains emptied, for its pushes to reuse
// (mailbox.Rings).
type batchBuf struct {
	b     []proc.Delivery
	env   Envelope
	last  *process
	rings mailbox.Rings[proc.Delivery]
	memo  security.Memo // the last send the worker's processes were allowed
}

// Parked drops the spare mailbox rings while the worker has nothing to do:
// they are worth keeping only while messages flow.
func (b *batchBuf) Parked() { b.rings = mailbox.Rings[proc.Delivery]{} }

// scratch returns w's batchBuf, made on first use.
func scratch(w *sched.Worker) *batchBuf {
	buf, _ := w.Local.(*batchBuf)
	if buf == nil {
		buf = &batchBuf{}
		w.Local = buf
	}
	return buf
}

// Run is one turn of the process.
func (p *process) Run(w *sched.Worker) {
	if !p.state.CompareAndSwap(uint32(proc.Ready), uint32(proc.Running)) {
		panic("runtime: process run while not ready: " + proc.State(p.state.Load()).String())
	}
	p.w = w
	if p.flags&fresh != 0 {
		p.host.ran(p)
		p.flags &^= fresh
	}
	if k := p.kill.Load(); k != nil {
		p.finish(proc.Result{Err: k}, true)
		return
	}
	buf := scratch(w)
	// A turn takes Budget deliveries; a process with a long backlog keeps
	// going in chunks until it has handled half of it (see turnQuota).
	quota := p.turnQuota()
	var st proc.Status
	var res proc.Result
	for {
		n := min(quota, maxChunk)
		raw := p.mbox.DrainRings(buf.b[:0], n, &buf.rings)
		quota -= len(raw)
		p.in.Add(uint64(len(raw)))
		batch := p.filter(raw)
		st, res = p.step(batch)
		clear(raw)
		buf.b = raw[:0]
		if st != proc.StatusIdle || quota <= 0 || p.mbox.Len() == 0 || p.kill.Load() != nil || p.flags&yieldTurn != 0 {
			break
		}
	}
	p.flags &^= yieldTurn
	p.countSent()
	if cap(buf.b) > 2*maxChunk {
		buf.b = nil
	}
	// A kill requested during the turn is the exit reason even when the
	// behaviour ended itself (an interrupted Lua state raises).
	if k := p.kill.Load(); k != nil {
		p.finish(proc.Result{Err: k}, st != proc.StatusDone)
		return
	}
	if st == proc.StatusDone {
		p.finish(res, false)
		return
	}
	p.w = nil
	if st == proc.StatusYield || p.mbox.Len() > 0 {
		p.state.Store(uint32(proc.Ready))
		w.Yield(&p.Task)
		return
	}
	wait := proc.Idle
	if st == proc.StatusBlock {
		wait = proc.Blocked
	}
	p.state.Store(uint32(wait))
	// A sender that pushed after our drain saw us running and did not
	// wake us: look again now that the state says we wait.
	if p.mbox.Len() > 0 || p.kill.Load() != nil {
		if p.state.CompareAndSwap(uint32(wait), uint32(proc.Ready)) {
			w.Yield(&p.Task)
		}
	}
}

// maxChunk bounds one Step's batch, and so the per-worker batch buffer.
const maxChunk = 1024

// turnQuota is how many deliveries this turn handles: the configured
// budget, or half the backlog when that is more. Fairness by turns alone
// would starve a receiver with many senders: each sender adds a budget's
// worth in its turn while the receiver takes one budget in its own, so its
// backlog (and the heap) would grow without end. Draining in proportion to
// the backlog keeps it bounded; the time slice and hand-off still keep a
// long turn from holding up the rest of the queue.
func (p *process) turnQuota() int {
	return max(p.rt.cfg.Budget, p.mbox.Len()/2)
}

// step calls the behaviour, turning a panic into an exit.
func (p *process) step(batch []proc.Delivery) (st proc.Status, res proc.Result) {
	defer func() {
		if r := recover(); r != nil {
			p.rt.log.Error("runtime: process panicked", "pid", p.pid.String(), "panic", r)
			st, res = proc.StatusDone, proc.Result{Err: proc.Panic(r)}
		}
	}()
	return p.beh.Step(p, batch)
}

// countSent adds the messages sent this turn to out.
func (p *process) countSent() {
	if p.sent > 0 {
		p.out.Add(uint64(p.sent))
		p.sent = 0
	}
}

// filter drops stale timer deliveries and EXITs of monitors since removed.
func (p *process) filter(batch []proc.Delivery) []proc.Delivery {
	// Most batches drop nothing: deliveries (over a hundred bytes each) are
	// copied down only after the first one dropped.
	n := 0
	for i := range batch {
		d := &batch[i]
		switch d.Kind {
		case proc.DeliveryTimer:
			id, _ := d.Payload.AsInt()
			if _, ok := p.timers[proc.TimerID(id)]; !ok {
				continue
			}
			delete(p.timers, proc.TimerID(id))
		case proc.DeliveryExit:
			if !p.forget(relMonitoring, d.From) {
				continue
			}
		}
		if n != i {
			batch[n] = *d
		}
		n++
	}
	clear(batch[n:])
	return batch[:n]
}

// finish ends the process on its runner: it leaves the table, releases its
// names, and tells linked and monitoring processes.
func (p *process) finish(res proc.Result, killed bool) {
	rt := p.rt
	p.state.Store(uint32(proc.Complete))
	p.mu.Lock()
	p.dead = true
	rel := p.rel
	p.rel = nil
	p.mu.Unlock()
	if rest := p.mbox.Close(); len(rest) > 0 {
		rt.counters.drop(slotOf(p.w), DropUnread, uint64(len(rest)))
	}
	rt.procs.del(p.pid.Seq)
	rt.lastLocal.CompareAndSwap(p, nil) // an ended process is not kept alive
	p.host.release(p)
	for _, t := range p.timers {
		t.Stop()
	}
	p.timers = nil
	if killed {
		p.beh.Kill(res.Err)
	}
	p.beh = nil
	if res.Err != nil && res.Value.Kind() != msg.KindNil {
		res.Value = msg.Nil
	}
	var exitErr *proc.Error
	if res.Err != nil {
		exitErr = proc.AsError(res.Err)
	}
	if rel != nil {
		rt.releaseNames(p, rel.names)
		rt.notifyExit(p, rel, res.Value, exitErr)
	}
	if rt.cfg.Names != nil {
		rt.cfg.Names.ReleasePID(p.pid)
	}
	if p.flags&grouped != 0 {
		rt.cfg.Groups.ReleasePID(p.pid)
	}
	rt.counters.exit(slotOf(p.w), res.Err)
	p.w = nil
	select {
	case rt.exited <- struct{}{}:
	default:
	}
}

// --- proc.Env ---

var _ proc.Env = (*process)(nil)

func (p *process) Self() pid.PID  { return p.pid }
func (p *process) Now() time.Time { return time.Now() }
func (p *process) Killed() bool   { return p.kill.Load() != nil }

func (p *process) Send(to pid.PID, topic string, payload msg.Value) error {
	return p.rt.send(p, &p.pid, &to, "", topic, &payload)
}

func (p *process) SendName(name, topic string, payload msg.Value) error {
	to, err := p.rt.resolve(name)
	if err != nil {
		return err
	}
	return p.rt.send(p, &p.pid, &to, name, topic, &payload)
}

func (p *process) Spawn(req proc.SpawnRequest) (pid.PID, error) { return p.rt.spawn(p, req, nil) }

func (p *process) Link(to pid.PID) error {
	if err := p.authorizeTarget(security.ActionLink, to, ""); err != nil {
		return err
	}
	p.rt.link(p, to)
	return nil
}

func (p *process) Unlink(to pid.PID) error {
	if err := p.authorizeTarget(security.ActionUnlink, to, ""); err != nil {
		return err
	}
	p.rt.unlink(p, to)
	return nil
}

func (p *process) Monitor(to pid.PID) error {
	if err := p.authorizeTarget(security.ActionMonitor, to, ""); err != nil {
		return err
	}
	p.rt.monitor(p, to)
	return nil
}

func (p *process) Unmonitor(to pid.PID) error {
	if err := p.authorizeTarget(security.ActionUnmonitor, to, ""); err != nil {
		return err
	}
	p.rt.unmonitor(p, to)
	return nil
}

func (p *process) Terminate(to pid.PID) error {
	if err := p.authorizeTarget(security.ActionTerminate, to, ""); err != nil {
		return err
	}
	return p.rt.terminate(p, p.pid, to, p.w)
}

func (p *process) Cancel(to pid.PID, reason string) error {
	if err := p.authorizeTarget(security.ActionCancel, to, ""); err != nil {
		return err
	}
	return p.rt.cancel(p, p.pid, to, reason, p.w)
}

func (p *process) TrapLinks(on bool) { p.trap.Store(on) }

func (p *process) Actor() *security.Actor { return p.sec.Actor() }

func (p *process) Context() msg.Value {
	if p.ctx == nil {
		return msg.Nil
	}
	return *p.ctx
}

func (p *process) Scope() []*security.Policy { return p.sec.Scope() }

func (p *process) Policy(id string) *security.Policy { return p.rt.guard.Policy(id) }

func (p *process) PolicyGroup(name string) []*security.Policy { return p.rt.guard.Group(name) }

func (p *process) Can(action security.Action, resource string, meta map[string]any) bool {
	return p.rt.guard.Can(p.caller(), action, resource, meta)
}

func (p *process) Authorize(action security.Action, resource string) error {
	return p.authorize(action, resource)
}

func (p *process) AuthorizeTarget(action security.Action, target pid.PID, name string) error {
	return p.authorizeTarget(action, target, name)
}

func (p *process) StartTimer(d time.Duration) proc.TimerID {
	p.timerSeq++
	id := proc.TimerID(p.timerSeq)
	var t *sched.Timer
	if p.w != nil {
		t = p.w.AddTimer(d, p, uint64(id))
	} else {
		t = p.rt.sched.AddTimer(d, p, uint64(id))
	}
	if p.timers == nil {
		p.timers = make(map[proc.TimerID]*sched.Timer, 1)
	}
	p.timers[id] = t
	return id
}

func (p *process) StopTimer(id proc.TimerID) bool {
	t, ok := p.timers[id]
	if !ok {
		return false
	}
	delete(p.timers, id)
	return t.Stop()
}

// Fire delivers a timer expiry (sched.TimerTarget).
func (p *process) Fire(w *sched.Worker, arg uint64) {
	p.rt.pushSystem(w, p, proc.Delivery{Kind: proc.DeliveryTimer, Payload: msg.Int(int64(arg))})
}

func (p *process) Blocking(f func()) {
	if p.w == nil {
		f()
		return
	}
	p.w.Blocking(f)
}

// Receive waits on the calling (worker) goroutine until the mailbox has
// deliveries and returns them, or returns nothing once the process is
// killed. It is for a behaviour that must block where it cannot yield, and
// is called inside Blocking so the worker's queue moves on meanwhile.
func (p *process) Receive() []proc.Delivery {
	for {
		if p.kill.Load() != nil {
			return nil
		}
		if p.mbox.Len() > 0 {
			raw := p.mbox.Drain(nil, p.rt.cfg.Budget)
			p.in.Add(uint64(len(raw)))
			if got := p.filter(raw); len(got) > 0 {
				return got
			}
			continue
		}
		ch := make(chan struct{}, 1)
		p.recvWait.Store(&ch)
		// A push between our look and the Store saw no waiter: look again.
		if p.mbox.Len() == 0 && p.kill.Load() == nil {
			<-ch
		}
		p.recvWait.Store(nil)
	}
}

// signalReceiver wakes a Receive waiting on the process, if any.
func (p *process) signalReceiver() {
	if ch := p.recvWait.Load(); ch != nil {
		select {
		case *ch <- struct{}{}:
		default:
		}
	}
}
