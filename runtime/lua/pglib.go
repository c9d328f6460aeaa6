package lua

import (
	"fmt"
	"maps"
	"slices"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// The pg module (Wippy's process groups, LUA-API.md section 16): pg.open
// returns an instance of a pg.scope; its methods reach the runtime's
// proc.GroupScope, which checks the pg.* permissions. Subscriptions
// (monitor, events) get their events as proc.TopicGroupEvent messages,
// which route hands to the subscription's channel.

// pgInstance is what pg.open returns.
type pgInstance struct {
	id    string
	scope proc.GroupScope // nil once released
}

// pgSub is a subscription made by monitor or events.
type pgSub struct {
	id     uint64
	scope  proc.GroupScope
	ch     *channel
	closed bool
}

var errReleased = proc.NewError(proc.KindInvalid, "pg instance is released", msg.False)

func pgOpen(L *glua.LState) int {
	p := procOf(L)
	id := L.CheckString(1)
	g, ok := p.env.(proc.Groups)
	if !ok {
		return fail(L, glua.LNil, proc.NewError(proc.KindInternal, "pg scope not found: no process groups on this node", msg.False))
	}
	scope, err := g.OpenGroups(id)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(&glua.LUserData{Value: &pgInstance{id: id, scope: scope}, Metatable: p.eng.lib.pgMeta})
	return 1
}

// checkInstance returns the scope of the instance at 1; errReleased once
// it is released.
func checkInstance(L *glua.LState) (proc.GroupScope, error) {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if in, ok := ud.Value.(*pgInstance); ok {
			if in.scope == nil {
				return nil, errReleased
			}
			return in.scope, nil
		}
	}
	L.ArgError(1, "pg instance expected")
	return nil, nil
}

// groupNames reads a group name or a list of them at n.
func groupNames(L *glua.LState, n int) ([]string, error) {
	switch v := L.Get(n).(type) {
	case glua.LString:
		return []string{string(v)}, nil
	case *glua.LTable:
		var out []string
		for i := 1; i <= v.Len(); i++ {
			s, ok := v.RawGetInt(i).(glua.LString)
			if !ok {
				return nil, invalidf("group names must be strings")
			}
			out = append(out, string(s))
		}
		if len(out) == 0 {
			return nil, invalidf("groups table must not be empty")
		}
		return out, nil
	}
	return nil, invalidf("group name (string) or groups table required")
}

func pgMembership(join bool) glua.LGFunction {
	return func(L *glua.LState) int {
		scope, err := checkInstance(L)
		var groups []string
		if err == nil {
			groups, err = groupNames(L, 2)
		}
		if err == nil {
			if join {
				err = scope.Join(groups)
			} else {
				err = scope.Leave(groups)
			}
		}
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(glua.LTrue)
		return 1
	}
}

func pgMembers(local bool) glua.LGFunction {
	return func(L *glua.LState) int {
		scope, err := checkInstance(L)
		var members []pid.PID
		if err == nil {
			members, err = scope.Members(L.CheckString(2), local)
		}
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(pidList(L, members))
		return 1
	}
}

func pgGroups(local bool) glua.LGFunction {
	return func(L *glua.LState) int {
		scope, err := checkInstance(L)
		var groups []string
		if err == nil {
			groups, err = scope.Groups(local)
		}
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		t := L.CreateTable(len(groups), 0)
		for _, g := range groups {
			t.Append(glua.LString(g))
		}
		L.Push(t)
		return 1
	}
}

func pgBroadcast(local bool) glua.LGFunction {
	return func(L *glua.LState) int {
		scope, err := checkInstance(L)
		group, topic := L.CheckString(2), L.CheckString(3)
		if err == nil {
			err = validTopic(topic)
		}
		var payload msg.Value
		if err == nil {
			err = payloadInto(&payload, L, 4)
		}
		if err == nil {
			err = scope.Broadcast(group, topic, payload, local)
		}
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		L.Push(glua.LTrue)
		return 1
	}
}

// pgSubscribe is monitor (one group) and events (every group).
func pgSubscribe(all bool) glua.LGFunction {
	return func(L *glua.LState) int {
		p := procOf(L)
		scope, err := checkInstance(L)
		group := ""
		if !all {
			if group = L.CheckString(2); group == "" && err == nil {
				err = invalidf("group name is required")
			}
		}
		var (
			id   uint64
			snap map[string][]pid.PID
		)
		if err == nil {
			id, snap, err = scope.Monitor(group)
		}
		if err != nil {
			L.Push(glua.LNil)
			return fail(L, glua.LNil, err) + 1
		}
		s := &pgSub{id: id, scope: scope, ch: p.msgChannel()}
		b := p.mailbox()
		if b.subs == nil {
			b.subs = map[uint64]*pgSub{}
		}
		b.subs[id] = s
		L.Push(&glua.LUserData{Value: s, Metatable: p.eng.lib.pgSubMeta})
		if all {
			t := L.CreateTable(0, len(snap))
			for _, g := range slices.Sorted(maps.Keys(snap)) {
				t.RawSetString(g, pidList(L, snap[g]))
			}
			L.Push(t)
		} else {
			L.Push(pidList(L, snap[group]))
		}
		return 2
	}
}

func pgRelease(L *glua.LState) int {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if in, ok := ud.Value.(*pgInstance); ok {
			in.scope = nil
			L.Push(glua.LTrue)
			return 1
		}
	}
	L.ArgError(1, "pg instance expected")
	return 0
}

func pgToString(L *glua.LState) int {
	ud := L.CheckUserData(1)
	in, _ := ud.Value.(*pgInstance)
	if in == nil {
		L.Push(glua.LString("pg.Instance"))
	} else if in.scope == nil {
		L.Push(glua.LString(fmt.Sprintf("pg.Instance{%s, released}", in.id)))
	} else {
		L.Push(glua.LString(fmt.Sprintf("pg.Instance{%s}", in.id)))
	}
	return 1
}

func checkSub(L *glua.LState) *pgSub {
	if ud, ok := L.Get(1).(*glua.LUserData); ok {
		if s, ok := ud.Value.(*pgSub); ok {
			return s
		}
	}
	L.ArgError(1, "pg subscription expected")
	return nil
}

func subChannel(L *glua.LState) int {
	L.Push(checkSub(L).ch.ud)
	return 1
}

// subClose ends the subscription: no more events, and the channel
// closes; with {flush = true} the events already queued stay readable
// before the channel reports closed, otherwise they are dropped.
func subClose(L *glua.LState) int {
	p := procOf(L)
	s := checkSub(L)
	flush := false
	if opts, ok := L.Get(2).(*glua.LTable); ok {
		flush = glua.LVAsBool(opts.RawGetString("flush"))
	}
	if !s.closed {
		s.closed = true
		s.scope.Unsubscribe(s.id)
		if p.box != nil {
			delete(p.box.subs, s.id)
		}
		if !flush {
			for s.ch.len() > 0 {
				s.ch.pop()
			}
		}
		p.closeChan(s.ch)
	}
	L.Push(glua.LTrue)
	return 1
}

// routeGroupEvent hands a subscription event to its channel as
// {system = "pg", kind, path = group, data = {Group, PIDs}}; an event of
// a closed subscription is dropped.
func (p *process) routeGroupEvent(d *proc.Delivery) {
	id, _ := d.Payload.Get("id")
	n, _ := id.AsInt()
	if p.box == nil || p.box.subs[uint64(n)] == nil {
		return
	}
	s := p.box.subs[uint64(n)]
	kind, _ := d.Payload.Get("kind")
	group, _ := d.Payload.Get("group")
	pids, _ := d.Payload.Get("pids")
	ks, _ := kind.AsString()
	gs, _ := group.AsString()
	list := p.L.CreateTable(pids.Len(), 0)
	for _, v := range pids.Items() {
		if id, ok := v.AsPID(); ok {
			list.Append(glua.LString(id.String()))
		}
	}
	data := p.L.CreateTable(0, 2)
	data.RawSetString("Group", glua.LString(gs))
	data.RawSetString("PIDs", list)
	ev := p.L.CreateTable(0, 4)
	ev.RawSetString("system", glua.LString("pg"))
	ev.RawSetString("kind", glua.LString(ks))
	ev.RawSetString("path", glua.LString(gs))
	ev.RawSetString("data", data)
	p.deliver(s.ch, ev)
}

func pidList(L *glua.LState, pids []pid.PID) *glua.LTable {
	t := L.CreateTable(len(pids), 0)
	for _, id := range pids {
		t.Append(glua.LString(id.String()))
	}
	return t
}

func (l *libs) buildPG(B *glua.LState) {
	l.pgMeta = userMeta(B, "pg.Instance", map[string]glua.LGFunction{"__tostring": pgToString})
	m := B.CreateTable(0, 12)
	for name, fn := range map[string]glua.LGFunction{
		"join": pgMembership(true), "leave": pgMembership(false),
		"get_members": pgMembers(false), "get_local_members": pgMembers(true),
		"which_groups": pgGroups(false), "which_local_groups": pgGroups(true),
		"broadcast": pgBroadcast(false), "broadcast_local": pgBroadcast(true),
		"monitor": pgSubscribe(false), "events": pgSubscribe(true), "release": pgRelease,
	} {
		m.RawSetString(name, B.NewFunction(fn))
	}
	l.pgMeta.RawSetString("__index", m)
	l.pgSubMeta = userMeta(B, "pg.Subscription", nil)
	sm := B.CreateTable(0, 2)
	sm.RawSetString("channel", B.NewFunction(subChannel))
	sm.RawSetString("close", B.NewFunction(subClose))
	l.pgSubMeta.RawSetString("__index", sm)
	t := B.CreateTable(0, 1)
	t.RawSetString("open", B.NewFunction(pgOpen))
	l.addRequired(B, "pg", t)
}
