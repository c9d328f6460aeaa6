package native

import (
	"errors"
	"time"
	"unsafe"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Message is a message delivered to a process.
type Message struct {
	From    pid.PID
	Topic   string
	Payload msg.Value
}

// Event is a life-cycle event: an EXIT of a monitored process, a LINK_DOWN
// of a linked one (when trapping links), or a CANCEL request.
type Event struct {
	Kind   proc.DeliveryKind // proc.DeliveryExit, DeliveryLinkDown or DeliveryCancel
	From   pid.PID
	Value  msg.Value // EXIT: the value of a normal exit
	Err    error     // EXIT, LINK_DOWN: the exit error; nil for a normal exit
	Reason string    // CANCEL: the reason given
}

// Process is a Go-native process. HandleMessage is required; the optional
// interfaces below add the other callbacks.
type Process interface {
	HandleMessage(c *Ctx, m Message) error
}

// Initializer is called once, before any other callback, with the spawn
// arguments.
type Initializer interface {
	Init(c *Ctx, args []msg.Value) error
}

// EventHandler receives EXIT, LINK_DOWN and CANCEL events.
type EventHandler interface {
	HandleEvent(c *Ctx, e Event) error
}

// TimerHandler receives the expiry of timers started with Ctx.After.
type TimerHandler interface {
	HandleTimer(c *Ctx, id proc.TimerID) error
}

// Terminator is called when the process ends, unless it was killed
// (Runtime.Terminate, a cancel_timeout, a linked failure): see the
// package documentation.
type Terminator interface {
	Terminate(c *Ctx, reason error)
}

// MessageFunc handles a message; it adapts a function to Process.
type MessageFunc func(c *Ctx, m Message) error

// HandleMessage calls f.
func (f MessageFunc) HandleMessage(c *Ctx, m Message) error { return f(c, m) }

// Ctx is what a callback can do. It is valid only during the callback.
type Ctx struct {
	env    proc.Env
	b      *behavior
	done   bool
	result proc.Result
}

// Self returns this process's PID.
func (c *Ctx) Self() pid.PID { return c.env.Self() }

// Env returns the runtime's view of this process, for calls Ctx does not wrap.
func (c *Ctx) Env() proc.Env { return c.env }

// Send sends topic and payload to a process.
func (c *Ctx) Send(to pid.PID, topic string, payload msg.Value) error {
	return c.env.Send(to, topic, payload)
}

// SendName sends to a registered name.
func (c *Ctx) SendName(name, topic string, payload msg.Value) error {
	return c.env.SendName(name, topic, payload)
}

// Spawn starts a process.
func (c *Ctx) Spawn(req proc.SpawnRequest) (pid.PID, error) { return c.env.Spawn(req) }

// Link, Unlink, Monitor, Unmonitor, Terminate and Cancel act on another process.
func (c *Ctx) Link(p pid.PID) error                  { return c.env.Link(p) }
func (c *Ctx) Unlink(p pid.PID) error                { return c.env.Unlink(p) }
func (c *Ctx) Monitor(p pid.PID) error               { return c.env.Monitor(p) }
func (c *Ctx) Unmonitor(p pid.PID) error             { return c.env.Unmonitor(p) }
func (c *Ctx) Terminate(p pid.PID) error             { return c.env.Terminate(p) }
func (c *Ctx) Cancel(p pid.PID, reason string) error { return c.env.Cancel(p, reason) }

// TrapLinks sets whether a linked failure arrives as a LINK_DOWN event.
func (c *Ctx) TrapLinks(on bool) { c.env.TrapLinks(on) }

// Register gives this process a local name.
func (c *Ctx) Register(name string) error { return c.env.Register(name, c.env.Self(), proc.ScopeLocal) }

// RegisterIn gives this process name in scope (a cluster scope may wait
// for the cluster; see proc.Env).
func (c *Ctx) RegisterIn(name string, scope proc.Scope) error {
	return c.env.Register(name, c.env.Self(), scope)
}

// Unregister releases a name of scope.
func (c *Ctx) Unregister(name string, scope proc.Scope) error { return c.env.Unregister(name, scope) }

// Lookup resolves a name on this node (see proc.Env).
func (c *Ctx) Lookup(name string) (pid.PID, error) { return c.env.Lookup(name) }

// After starts a one-shot timer; HandleTimer receives its id.
func (c *Ctx) After(d time.Duration) proc.TimerID { return c.env.StartTimer(d) }

// StopTimer cancels a timer that has not fired.
func (c *Ctx) StopTimer(id proc.TimerID) bool { return c.env.StopTimer(id) }

// Listen routes messages with topic to h instead of HandleMessage.
func (c *Ctx) Listen(topic string, h MessageFunc) {
	if c.b.routes == nil {
		c.b.routes = make(map[string]MessageFunc, 1)
	}
	c.b.routes[topic] = h
}

// Unlisten stops routing topic.
func (c *Ctx) Unlisten(topic string) { delete(c.b.routes, topic) }

// Stop ends the process normally with value v once the callback returns.
func (c *Ctx) Stop(v msg.Value) {
	if !c.done {
		c.done, c.result = true, proc.Result{Value: v}
	}
}

// Fail ends the process with err once the callback returns.
func (c *Ctx) Fail(err error) {
	if !c.done {
		c.done, c.result = true, proc.Result{Err: err}
	}
}

// behavior runs a Process as a proc.Behavior.
type behavior struct {
	ctx    Ctx // reused every Step: a Ctx built per Step would escape to the heap
	p      Process
	args   []msg.Value
	routes map[string]MessageFunc
	inited bool
}

// New returns a behaviour running p; args go to Init.
func New(p Process, args ...msg.Value) proc.Behavior {
	return &behavior{p: p, args: args}
}

var _ proc.Behavior = (*behavior)(nil)

// Step implements proc.Behavior.
func (b *behavior) Step(env proc.Env, batch []proc.Delivery) (proc.Status, proc.Result) {
	b.ctx = Ctx{env: env, b: b}
	c := &b.ctx
	defer func() { b.ctx.env = nil }() // a Ctx kept past its Step must not reach the runtime
	if !b.inited {
		b.inited = true
		if in, ok := b.p.(Initializer); ok {
			if err := in.Init(c, b.args); err != nil {
				c.Fail(err)
			}
		}
		b.args = nil
		if c.done {
			return b.end(c)
		}
	}
	for i := range batch {
		if env.Killed() {
			return proc.StatusIdle, proc.Result{} // the runtime ends us next
		}
		if err := b.handle(c, &batch[i]); err != nil {
			c.Fail(err)
		}
		if c.done {
			return b.end(c)
		}
	}
	return proc.StatusIdle, proc.Result{}
}

// messageOf returns the Message that d's head is: Delivery starts with
// From, Topic and Payload laid out as Message is (TestMessageIsDeliveryHead),
// so the callback's argument is copied from the delivery itself. Built
// from d's fields, a Message went through one more temporary, and each
// copy of a struct just stored with overlapping 16-byte moves stalls the
// next copy's loads (about 5 ns a message in the ring benchmark).
func messageOf(d *proc.Delivery) *Message {
	return (*Message)(unsafe.Pointer(d))
}

func (b *behavior) handle(c *Ctx, d *proc.Delivery) error {
	switch d.Kind {
	case proc.DeliveryMessage:
		m := *messageOf(d)
		if h, ok := b.routes[d.Topic]; ok {
			return h(c, m)
		}
		return b.p.HandleMessage(c, m)
	case proc.DeliveryTimer:
		if h, ok := b.p.(TimerHandler); ok {
			id, _ := d.Payload.AsInt()
			return h.HandleTimer(c, proc.TimerID(id))
		}
	case proc.DeliveryExit, proc.DeliveryLinkDown, proc.DeliveryCancel:
		e := Event{Kind: d.Kind, From: d.From, Value: d.Payload, Err: d.Err}
		if d.Kind == proc.DeliveryCancel {
			e.Reason, _ = d.Payload.AsString()
			e.Value = msg.Nil
		}
		if h, ok := b.p.(EventHandler); ok {
			return h.HandleEvent(c, e)
		}
		if d.Kind == proc.DeliveryCancel {
			c.Stop(msg.Nil)
		}
	}
	return nil
}

func (b *behavior) end(c *Ctx) (proc.Status, proc.Result) {
	if t, ok := b.p.(Terminator); ok {
		t.Terminate(c, c.result.Err)
	}
	return proc.StatusDone, c.result
}

// Kill implements proc.Behavior: a killed native process runs no more code.
func (b *behavior) Kill(error) { b.routes = nil }

// Factory makes a Process for an entry from its spawn arguments.
type Factory func(args []msg.Value) (Process, error)

// Catalog maps entry ids to Go-native process factories. Build it before
// the runtime starts; it is read-only afterwards.
type Catalog map[string]Factory

// Behavior implements runtime.Catalog.
func (c Catalog) Behavior(entry string, args []msg.Value) (proc.Behavior, error) {
	f, ok := c[entry]
	if !ok {
		return nil, proc.Errorf(proc.KindNotFound, msg.False, "native: unknown entry: %s", entry)
	}
	p, err := f(args)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("native: factory returned no process for " + entry)
	}
	return New(p, args...), nil
}
