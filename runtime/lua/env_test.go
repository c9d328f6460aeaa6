package lua

import (
	"bytes"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// catalog is an in-memory Catalog: sources by id, and the "disk" versions
// Reload returns.
type catalog struct {
	mu   sync.Mutex
	src  map[string]*Source
	disk map[string]*Source
}

func newCatalog() *catalog {
	return &catalog{src: map[string]*Source{}, disk: map[string]*Source{}}
}

func (c *catalog) add(id, code string, modules ...string) *Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &Source{ID: id, Path: id + ".lua", Code: []byte(code), Method: "main", Modules: modules}
	c.src[id] = s
	return s
}

func (c *catalog) Source(id string) (*Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.src[id]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrEntry, id)
}

func (c *catalog) Reload(id string) (*Source, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.disk[id]; ok {
		c.src[id] = s
		return s, nil
	}
	if s, ok := c.src[id]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrEntry, id)
}

// sent is a message a fake env recorded.
type sent struct {
	to      string
	topic   string
	payload msg.Value
}

// fakeEnv is a proc.Env for one process with a manual clock: timers fire
// when the test advances the clock. It implements Receiver: Receive hands
// out queued deliveries, firing timers (advancing the clock) when there
// are none.
type fakeEnv struct {
	self     pid.PID
	now      time.Time
	nextID   proc.TimerID
	timers   map[proc.TimerID]time.Time
	queue    []proc.Delivery
	sends    []sent
	spawns   []proc.SpawnRequest
	names    map[string]pid.PID
	links    []string
	trap     bool
	killed   bool
	blocking int
	seq      uint64
	onSend   func(sent)
	noRecv   bool
	later    []proc.Delivery // what Receive hands out before firing timers
	received int             // Receive calls
	actor    *security.Actor
	// deny, when set, decides every security check: a non-nil error
	// refuses action on resource (for a target, its PID string or the
	// name used).
	deny    func(action, resource string) error
	checked []string // "action resource" of every check made
	// scope is the process's own scope; guard, when set, answers
	// Policy and PolicyGroup from its table.
	scope   []*security.Policy
	guard   *security.Guard
	context msg.Value
}

func newFakeEnv() *fakeEnv {
	return &fakeEnv{
		self:   pid.PID{Node: "n1", Host: "app:procs", Seq: 1},
		now:    time.Unix(1_700_000_000, 0),
		timers: map[proc.TimerID]time.Time{},
		names:  map[string]pid.PID{},
		seq:    100,
	}
}

func (e *fakeEnv) Self() pid.PID    { return e.self }
func (e *fakeEnv) Now() time.Time   { return e.now }
func (e *fakeEnv) Killed() bool     { return e.killed }
func (e *fakeEnv) TrapLinks(b bool) { e.trap = b }
func (e *fakeEnv) Send(to pid.PID, topic string, payload msg.Value) error {
	s := sent{to: to.String(), topic: topic, payload: payload}
	e.sends = append(e.sends, s)
	if e.onSend != nil {
		e.onSend(s)
	}
	return nil
}
func (e *fakeEnv) SendName(name, topic string, payload msg.Value) error {
	p, ok := e.names[name]
	if !ok {
		return proc.NewError(proc.KindNotFound, "no name "+name, msg.False)
	}
	return e.Send(p, topic, payload)
}
func (e *fakeEnv) Spawn(req proc.SpawnRequest) (pid.PID, error) {
	if strings.HasPrefix(req.Entry, "bad") {
		return pid.PID{}, proc.NewError(proc.KindNotFound, "no entry "+req.Entry, msg.False)
	}
	e.spawns = append(e.spawns, req)
	e.seq++
	return pid.PID{Node: "n1", Host: "app:procs", Seq: e.seq}, nil
}
func (e *fakeEnv) Link(p pid.PID) error { e.links = append(e.links, "link "+p.String()); return nil }
func (e *fakeEnv) Unlink(p pid.PID) error {
	e.links = append(e.links, "unlink "+p.String())
	return nil
}
func (e *fakeEnv) Monitor(p pid.PID) error {
	e.links = append(e.links, "monitor "+p.String())
	return nil
}
func (e *fakeEnv) Unmonitor(p pid.PID) error {
	e.links = append(e.links, "unmonitor "+p.String())
	return nil
}
func (e *fakeEnv) Terminate(p pid.PID) error {
	e.links = append(e.links, "terminate "+p.String())
	return nil
}
func (e *fakeEnv) Cancel(p pid.PID, reason string) error {
	e.links = append(e.links, "cancel "+p.String()+" "+reason)
	return nil
}
func (e *fakeEnv) Register(name string, p pid.PID, scope proc.Scope) error {
	e.checked = append(e.checked, "register "+name+" "+scope.String())
	if scope != proc.ScopeLocal {
		return proc.NewError(proc.KindUnavailable, "no cluster", msg.False)
	}
	if q, ok := e.names[name]; ok && q != p {
		return proc.NewError(proc.KindAlreadyExists, "name taken", msg.False)
	}
	e.names[name] = p
	return nil
}
func (e *fakeEnv) Unregister(name string, scope proc.Scope) error {
	e.checked = append(e.checked, "unregister "+name+" "+scope.String())
	if scope != proc.ScopeLocal {
		return proc.NewError(proc.KindUnavailable, "no cluster", msg.False)
	}
	if _, ok := e.names[name]; !ok {
		return proc.NewError(proc.KindNotFound, "no name "+name, msg.False)
	}
	delete(e.names, name)
	return nil
}
func (e *fakeEnv) Lookup(name string) (pid.PID, error) {
	if p, ok := e.names[name]; ok {
		return p, nil
	}
	return pid.PID{}, proc.NewError(proc.KindNotFound, "no name "+name, msg.False)
}
func (e *fakeEnv) StartTimer(d time.Duration) proc.TimerID {
	e.nextID++
	e.timers[e.nextID] = e.now.Add(d)
	return e.nextID
}
func (e *fakeEnv) StopTimer(id proc.TimerID) bool {
	_, ok := e.timers[id]
	delete(e.timers, id)
	return ok
}
func (e *fakeEnv) Blocking(f func())         { e.blocking++; f() }
func (e *fakeEnv) Actor() *security.Actor    { return e.actor }
func (e *fakeEnv) Scope() []*security.Policy { return e.scope }
func (e *fakeEnv) Context() msg.Value        { return e.context }
func (e *fakeEnv) Policy(id string) *security.Policy {
	if e.guard == nil {
		return nil
	}
	return e.guard.Policy(id)
}
func (e *fakeEnv) PolicyGroup(name string) []*security.Policy {
	if e.guard == nil {
		return nil
	}
	return e.guard.Group(name)
}
func (e *fakeEnv) Can(action security.Action, resource string, _ map[string]any) bool {
	return e.Authorize(action, resource) == nil
}
func (e *fakeEnv) Authorize(action security.Action, resource string) error {
	e.checked = append(e.checked, string(action)+" "+resource)
	if e.deny == nil {
		return nil
	}
	if err := e.deny(string(action), resource); err != nil {
		return proc.PermissionDenied(err)
	}
	return nil
}
func (e *fakeEnv) AuthorizeTarget(action security.Action, target pid.PID, name string) error {
	if name != "" {
		return e.Authorize(action, name)
	}
	return e.Authorize(action, target.String())
}

// advance moves the clock to the earliest timer and queues every timer
// due by then; it reports false when no timer is pending.
func (e *fakeEnv) advance() bool {
	if len(e.timers) == 0 {
		return false
	}
	var ids []proc.TimerID
	first := time.Time{}
	for id, at := range e.timers {
		if first.IsZero() || at.Before(first) {
			first = at
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if first.After(e.now) {
		e.now = first
	}
	for _, id := range ids {
		if !e.timers[id].After(e.now) {
			delete(e.timers, id)
			e.queue = append(e.queue, proc.Delivery{Kind: proc.DeliveryTimer, Payload: msg.Int(int64(id))})
		}
	}
	return true
}

// Receive implements Receiver.
func (e *fakeEnv) Receive() []proc.Delivery {
	e.received++
	if len(e.later) > 0 {
		b := e.later
		e.later = nil
		return b
	}
	if len(e.queue) == 0 && !e.advance() {
		e.killed = true // nothing can ever come: treat as a kill
	}
	b := e.queue
	e.queue = nil
	return b
}

// envClock is the fake env's clock as lualib's Clock.
type envClock struct{ e *fakeEnv }

func (c envClock) Now() time.Time { return c.e.now }

// recvlessEnv hides Receive, for the paths that need an Env without it.
type recvlessEnv struct{ proc.Env }

// harness runs one process on a fakeEnv.
type harness struct {
	t    *testing.T
	cat  *catalog
	eng  *Engine
	env  *fakeEnv
	b    proc.Behavior
	st   proc.Status
	res  proc.Result
	logs *bytes.Buffer
	n    int // steps taken
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith is newHarness with a last say on the engine's config.
func newHarnessWith(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, cat: newCatalog(), env: newFakeEnv(), logs: &bytes.Buffer{}}
	cfg := Config{
		Catalog: h.cat,
		Logger:  slog.New(slog.NewTextHandler(h.logs, nil)),
		Lib:     lualib.Options{Clock: envClock{h.env}, Location: time.UTC},
	}
	if mod != nil {
		mod(&cfg)
	}
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.eng = eng
	return h
}

// start creates the behaviour of entry id.
func (h *harness) start(id string, args ...msg.Value) {
	h.t.Helper()
	b, err := h.eng.Behavior(id, args)
	if err != nil {
		h.t.Fatal(err)
	}
	h.b = b
}

// step runs one Step with the queued deliveries.
func (h *harness) step() proc.Status {
	batch := h.env.queue
	h.env.queue = nil
	var env proc.Env = h.env
	if h.env.noRecv {
		env = recvlessEnv{h.env}
	}
	h.st, h.res = h.b.Step(env, batch)
	h.n++
	return h.st
}

// settle steps while the process yields or has deliveries queued.
func (h *harness) settle() proc.Status {
	for i := 0; i < 10000; i++ {
		h.step()
		if h.st == proc.StatusDone || (h.st != proc.StatusYield && len(h.env.queue) == 0) {
			return h.st
		}
	}
	h.t.Fatal("process never settles")
	return h.st
}

// finish runs the process, firing timers, until it is done; it fails the
// test if the process ends up waiting on its mailbox only.
func (h *harness) finish() proc.Result {
	h.t.Helper()
	for {
		if h.settle() == proc.StatusDone {
			return h.res
		}
		if !h.env.advance() {
			h.t.Fatalf("process waits forever (status %v); logs:\n%s", h.st, h.logs)
		}
	}
}

func (h *harness) deliver(ds ...proc.Delivery) { h.env.queue = append(h.env.queue, ds...) }

// run starts code as entry "t:main" and finishes it.
func run(t *testing.T, code string, args ...msg.Value) (*harness, proc.Result) {
	t.Helper()
	return runWith(t, nil, code, args...)
}

// runWith is run on an engine configured by mod.
func runWith(t *testing.T, mod func(*Config), code string, args ...msg.Value) (*harness, proc.Result) {
	t.Helper()
	h := newHarnessWith(t, mod)
	h.cat.add("t:main", code, "time", "json")
	h.start("t:main", args...)
	return h, h.finish()
}

// value runs code and returns its normal exit value, failing on an error.
func value(t *testing.T, code string, args ...msg.Value) msg.Value {
	t.Helper()
	h, res := run(t, code, args...)
	if res.Err != nil {
		t.Fatalf("exit error: %v\nlogs:\n%s", res.Err, h.logs)
	}
	return res.Value
}

func str(s string) msg.Value { return msg.String(s) }
