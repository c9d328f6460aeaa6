package runtime

import (
	"errors"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/sched"
	"github.com/wippyd/wippyd/runtime/security"
)

// Process groups (docs/cluster.md): the membership is the GroupService's;
// the runtime checks a process's pg calls, delivers broadcasts (locally,
// and for other nodes' senders through DeliverGroup) and pushes a
// subscription's events into its mailbox (Notify).

// ErrNoGroupScope answers pg.open of a scope the node does not have.
var ErrNoGroupScope = proc.NewError(proc.KindInternal, "pg scope not found", msg.False)

// errBadGroup answers an empty group name (the service checks the rest).
var errBadGroup = proc.NewError(proc.KindInvalid, "group name is required", msg.False)

var _ proc.Groups = (*process)(nil)

// OpenGroups implements proc.Groups.
func (p *process) OpenGroups(scope string) (proc.GroupScope, error) {
	if scope == "" {
		return nil, proc.NewError(proc.KindInvalid, "pg scope id is required", msg.False)
	}
	if err := p.authorize(security.ActionPGOpen, scope); err != nil {
		return nil, err
	}
	if p.rt.cfg.Groups == nil || !p.rt.cfg.Groups.HasScope(scope) {
		return nil, proc.Errorf(proc.KindInternal, msg.False, "%w: %s", ErrNoGroupScope, scope)
	}
	return &groupScope{p: p, svc: p.rt.cfg.Groups, scope: scope}, nil
}

// groupScope is a pg scope as one process uses it. Its calls are made by
// the process's code, so on its runner.
type groupScope struct {
	p     *process
	svc   GroupService
	scope string
}

// check authorizes action on each of groups, all before anything is done.
func (g *groupScope) check(action security.Action, groups ...string) error {
	for _, name := range groups {
		if name == "" {
			return errBadGroup
		}
		if err := g.p.authorize(action, name); err != nil {
			return err
		}
	}
	return nil
}

func (g *groupScope) Join(groups []string) error {
	if err := g.check(security.ActionPGJoin, groups...); err != nil {
		return err
	}
	if err := g.svc.Join(g.scope, groups, g.p.pid); err != nil {
		return err
	}
	g.p.flags |= grouped
	return nil
}

func (g *groupScope) Leave(groups []string) error {
	if err := g.check(security.ActionPGLeave, groups...); err != nil {
		return err
	}
	return g.svc.Leave(g.scope, groups, g.p.pid)
}

func (g *groupScope) Members(group string, local bool) ([]pid.PID, error) {
	action := security.ActionPGGetMembers
	if local {
		action = security.ActionPGGetLocalMembers
	}
	if err := g.check(action, group); err != nil {
		return nil, err
	}
	return g.svc.Members(g.scope, group, local), nil
}

func (g *groupScope) Groups(local bool) ([]string, error) {
	action := security.ActionPGWhichGroups
	if local {
		action = security.ActionPGWhichLocalGroups
	}
	if err := g.p.authorize(action, g.scope); err != nil {
		return nil, err
	}
	return g.svc.Groups(g.scope, local), nil
}

func (g *groupScope) Monitor(group string) (uint64, map[string][]pid.PID, error) {
	var err error
	if group == "" {
		err = g.p.authorize(security.ActionPGEvents, g.scope)
	} else {
		err = g.check(security.ActionPGMonitor, group)
	}
	if err != nil {
		return 0, nil, err
	}
	id, snap, err := g.svc.Subscribe(g.scope, group, g.p.pid)
	if err != nil {
		return 0, nil, err
	}
	g.p.flags |= grouped
	return id, snap, nil
}

func (g *groupScope) Unsubscribe(id uint64) { g.svc.Unsubscribe(id, g.p.pid) }

// Broadcast sends to the group's local members directly and to each
// other node with members as one frame (GroupRouter), which that node
// fans out; so a member receives one sender's broadcasts, and its other
// messages, in the order they were made.
func (g *groupScope) Broadcast(group, topic string, payload msg.Value, local bool) error {
	action := security.ActionPGBroadcast
	if local {
		action = security.ActionPGBroadcastLocal
	}
	if err := g.check(action, group); err != nil {
		return err
	}
	if topic == "" || topic[0] == '@' {
		return ErrBadTopic
	}
	p, rt := g.p, g.p.rt
	members, nodes := g.svc.Targets(g.scope, group)
	e := stamp(&Envelope{Kind: SigMessage, From: p.pid, Topic: topic, Payload: payload}, p)
	rt.fanout(p, e, members)
	if local || len(nodes) == 0 {
		return nil
	}
	gr, ok := rt.router.(GroupRouter)
	if !ok {
		return nil
	}
	for _, node := range nodes {
		err := gr.RouteGroup(node, g.scope, group, e)
		switch {
		case err == nil:
			rt.counters.sentRemote.add(slotOf(p.w), 1)
		case errors.Is(err, ErrNoRoute), errors.Is(err, ErrUnknownNode):
			// The node went away after the view listed it: its members
			// are gone with it.
			rt.counters.drop(slotOf(p.w), DropNodeDown, 1)
		default:
			return err
		}
	}
	return nil
}

// fanout delivers a broadcast e to local members, each checked as a
// process.send from e's sender: src when the sender is a local process,
// else the remote identity e carries. A denied delivery or a full
// mailbox drops that delivery only, counted.
func (rt *Runtime) fanout(src *process, e *Envelope, members []pid.PID) {
	var w *sched.Worker
	check := true // AuthorizeRemote has its own fast path
	remote := callerOf(e)
	if src != nil {
		w = src.w
		check = !rt.guard.Exempt(src.sec)
	}
	slot := slotOf(w)
	for _, m := range members {
		to := rt.local(m)
		if to == nil {
			rt.counters.drop(slot, DropNoProcess, 1)
			continue
		}
		if check {
			var err error
			if src != nil {
				err = rt.guard.AuthorizeTarget(src.caller(), security.ActionSend, m, "")
			} else {
				err = rt.guard.AuthorizeRemote(remote, security.ActionSend, m, "")
			}
			if err != nil {
				d := *e
				d.To = m
				rt.dropDenied(&d, err)
				continue
			}
		}
		if src != nil {
			rt.counters.sentLocal.add(slot, 1)
		}
		_ = rt.pushMessage(w, nil, to, &e.From, e.Topic, &e.Payload, true)
	}
}

// DeliverGroup hands in a broadcast from a process of another node to
// group of scope: it is checked as pg.broadcast with the sender's
// identity, then delivered to every local member as fanout does. The
// cluster calls it in the order the sender's node sent its traffic.
func (rt *Runtime) DeliverGroup(scope, group string, e *Envelope) {
	if rt.cfg.Groups == nil || e.Topic == "" || e.Topic[0] == '@' {
		rt.counters.drop(0, DropNoProcess, 1)
		return
	}
	if err := rt.guard.AuthorizeRemote(callerOf(e), security.ActionPGBroadcast, pid.PID{}, group); err != nil {
		rt.dropDenied(e, err)
		return
	}
	members, _ := rt.cfg.Groups.Targets(scope, group)
	rt.fanout(nil, e, members)
}

// Notify pushes a message from the node itself (the zero PID) into the
// mailbox of local process to, on a reserved topic (starting with '@'):
// how the group service hands a subscriber its events. Nothing is
// checked; an ended process or a full mailbox drops it, counted.
func (rt *Runtime) Notify(to pid.PID, topic string, payload msg.Value) {
	p := rt.local(to)
	if p == nil || topic == "" || topic[0] != '@' {
		rt.counters.drop(0, DropNoProcess, 1)
		return
	}
	_ = rt.pushMessage(nil, nil, p, &pid.PID{}, topic, &payload, true)
}
