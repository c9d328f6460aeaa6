package lua

import (
	"slices"

	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/lua/lualib"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
	"github.com/wippyd/wippyd/runtime/security"
)

// The `process` global.

// fail pushes (nil, err) or (false, err) and returns 2.
func fail(L *glua.LState, first glua.LValue, err error) int {
	L.Push(first)
	L.Push(lualib.NewError(L, proc.AsError(err)))
	return 2
}

func invalidf(format string, args ...any) *proc.Error {
	return proc.Errorf(proc.KindInvalid, msg.False, format, args...)
}

// parsePID parses a PID string, remembering the last one: a process
// usually sends to the same few peers, and parsing (which checks the
// canonical form) costs more than the rest of a send.
func (p *process) parsePID(s string) (pid.PID, error) {
	if s == p.lastPIDStr && s != "" {
		return p.lastPID, nil
	}
	id, err := pid.Parse(s)
	if err != nil {
		return pid.PID{}, invalidf("bad pid %q", s)
	}
	p.lastPIDStr, p.lastPID = s, id
	return id, nil
}

// resolve turns a dest argument (a PID string or a registered name) into a
// PID.
func (p *process) resolve(dest string) (pid.PID, error) {
	if strings.HasPrefix(dest, "{") {
		return p.parsePID(dest)
	}
	if dest == "" {
		return pid.PID{}, invalidf("empty destination")
	}
	return p.env.Lookup(dest)
}

// payloadInto converts the arguments from n on to one payload in *dst: nil, the
// value, or a list of the values.
func payloadInto(dst *msg.Value, L *glua.LState, n int) error {
	top := L.GetTop()
	switch {
	case top < n:
		*dst = msg.Nil
		return nil
	case top == n:
		return lualib.ToValueInto(dst, L, L.Get(n))
	}
	items := make([]msg.Value, top-n+1)
	for i := range items {
		if err := lualib.ToValueInto(&items[i], L, L.Get(n+i)); err != nil {
			*dst = msg.Nil
			return err
		}
	}
	*dst = msg.List(items...)
	return nil
}

// argsOf converts the arguments from n on to a list of values.
func argsOf(L *glua.LState, n int) ([]msg.Value, error) {
	top := L.GetTop()
	if top < n {
		return nil, nil
	}
	out := make([]msg.Value, 0, top-n+1)
	for i := n; i <= top; i++ {
		v, err := lualib.ToValue(L, L.Get(i))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func validTopic(topic string) error {
	if topic == "" || topic[0] == '@' {
		return invalidf("invalid topic %q", topic)
	}
	return nil
}

func procPid(L *glua.LState) int {
	L.Push(glua.LString(procOf(L).self.String()))
	return 1
}

func procID(L *glua.LState) int {
	p := procOf(L)
	L.Push(glua.LString(p.self.Node + ":" + strconv.FormatUint(p.self.Seq, 16) + ":" + strconv.Itoa(p.gen)))
	return 1
}

func procSend(L *glua.LState) int {
	p := procOf(L)
	dest, topic := L.CheckString(1), L.CheckString(2)
	if err := validTopic(topic); err != nil {
		return fail(L, glua.LNil, err)
	}
	var payload msg.Value
	err := payloadInto(&payload, L, 3)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	if strings.HasPrefix(dest, "{") {
		to, perr := p.parsePID(dest)
		if perr != nil {
			return fail(L, glua.LNil, perr)
		}
		err = p.env.Send(to, topic, payload)
	} else {
		err = p.env.SendName(dest, topic, payload)
	}
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(glua.LTrue)
	return 1
}

// spawnReq builds a spawn request from (entry, host, args...).
func spawnReq(L *glua.LState, n int) (proc.SpawnRequest, error) {
	req := proc.SpawnRequest{Entry: L.CheckString(n), Host: L.OptString(n+1, "")}
	args, err := argsOf(L, n+2)
	req.Args = args
	return req, err
}

func spawnWith(link, monitor bool) glua.LGFunction {
	return func(L *glua.LState) int {
		p := procOf(L)
		req, err := spawnReq(L, 1)
		if err != nil {
			return fail(L, glua.LNil, err)
		}
		req.Link, req.Monitor = link, monitor
		return p.spawn(L, req)
	}
}

func (p *process) spawn(L *glua.LState, req proc.SpawnRequest) int {
	child, err := p.env.Spawn(req)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(glua.LString(child.String()))
	return 1
}

// exec spawns a monitored child and waits for its EXIT: value, err.
func (p *process) exec(L *glua.LState, req proc.SpawnRequest) int {
	req.Monitor, req.Exec = true, true
	child, err := p.env.Spawn(req)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	b := p.mailbox()
	if b.execs == nil {
		b.execs = make(map[pid.PID]*task)
	}
	b.execs[child] = p.cur
	return p.block(L)
}

func procExec(L *glua.LState) int {
	p := procOf(L)
	req, err := spawnReq(L, 1)
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	return p.exec(L, req)
}

// control wraps a call on a destination: (true) or (first, err). A
// destination given by name is resolved here, so the name is checked
// against action's policies first (the runtime then checks the PID).
func control(first glua.LValue, action security.Action, call func(p *process, to pid.PID, L *glua.LState) error) glua.LGFunction {
	return func(L *glua.LState) int {
		p := procOf(L)
		dest := L.CheckString(1)
		to, err := p.resolve(dest)
		if err == nil && !strings.HasPrefix(dest, "{") {
			err = p.env.AuthorizeTarget(action, to, dest)
		}
		if err == nil {
			err = call(p, to, L)
		}
		if err != nil {
			return fail(L, first, err)
		}
		L.Push(glua.LTrue)
		return 1
	}
}

var (
	procMonitor   = control(glua.LNil, security.ActionMonitor, func(p *process, to pid.PID, _ *glua.LState) error { return p.env.Monitor(to) })
	procUnmonitor = control(glua.LNil, security.ActionUnmonitor, func(p *process, to pid.PID, _ *glua.LState) error {
		return p.env.Unmonitor(to)
	})
	procLink      = control(glua.LNil, security.ActionLink, func(p *process, to pid.PID, _ *glua.LState) error { return p.env.Link(to) })
	procUnlink    = control(glua.LNil, security.ActionUnlink, func(p *process, to pid.PID, _ *glua.LState) error { return p.env.Unlink(to) })
	procTerminate = control(glua.LFalse, security.ActionTerminate, func(p *process, to pid.PID, _ *glua.LState) error {
		return p.env.Terminate(to)
	})
	procCancel = control(glua.LFalse, security.ActionCancel, func(p *process, to pid.PID, L *glua.LState) error {
		return p.env.Cancel(to, L.OptString(2, ""))
	})
)

func procInbox(L *glua.LState) int {
	L.Push(procOf(L).inboxChan().ud)
	return 1
}

func procEvents(L *glua.LState) int {
	L.Push(procOf(L).eventsChan().ud)
	return 1
}

func procListen(L *glua.LState) int {
	p := procOf(L)
	topic := L.CheckString(1)
	if err := validTopic(topic); err != nil {
		lualib.Raise(L, err.(*proc.Error))
	}
	message := false
	if opts, ok := L.Get(2).(*glua.LTable); ok {
		message = glua.LVAsBool(opts.RawGetString("message"))
	}
	b := p.mailbox()
	if l := b.listens[topic]; l != nil {
		l.message = message
		L.Push(l.ch.ud)
		return 1
	}
	if b.listens == nil {
		b.listens = make(map[string]*listen)
	}
	l := &listen{ch: p.msgChannel(), message: message}
	b.listens[topic] = l
	p.publishTopics()
	p.moveUnread(topic, l)
	L.Push(l.ch.ud)
	return 1
}

// moveUnread moves the messages of topic still unread in the inbox to a new
// listen channel: a message that arrived before its listen (e.g. in the
// batch of the process's first Step, routed before main ran) goes where
// the process now wants it, in order.
func (p *process) moveUnread(topic string, l *listen) {
	in := p.box.inbox
	if in == nil || in.len() == 0 {
		return
	}
	keep := in.q[:in.head]
	for _, v := range in.q[in.head:] {
		var m *message
		if ud, ok := v.(*glua.LUserData); ok {
			m, _ = ud.Value.(*message)
		}
		if m == nil || m.topicString() != topic {
			keep = append(keep, v)
			continue
		}
		p.held.Add(-1) // leaves the inbox; deliver counts it again
		if l.message {
			p.deliver(l.ch, v)
		} else {
			p.deliver(l.ch, p.toLua(m.payload()))
		}
	}
	clear(in.q[len(keep):])
	in.q = keep
	if in.head == len(in.q) {
		in.q, in.head = in.q[:0], 0
	}
}

func procUnlisten(L *glua.LState) int {
	p := procOf(L)
	ch := checkChan(L, 1)
	if p.box != nil {
		for topic, l := range p.box.listens {
			if l.ch == ch {
				delete(p.box.listens, topic)
				// What it still holds is an ordinary channel's now.
				p.held.Add(-int64(ch.len()))
				ch.held = nil
			}
		}
		p.publishTopics()
	}
	return 0
}

// publishTopics copies the listened topics for Topics.
func (p *process) publishTopics() {
	ts := make([]string, 0, len(p.box.listens))
	for t := range p.box.listens {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	p.topics.Store(&ts)
}

// Topics implements runtime.TopicLister: the topics the process listens
// to, from any goroutine.
func (p *process) Topics() []string {
	if ts := p.topics.Load(); ts != nil {
		return *ts
	}
	return nil
}

func procGetOptions(L *glua.LState) int {
	p := procOf(L)
	t := L.CreateTable(0, 2)
	t.RawSetString("trap_links", glua.LBool(p.trapLinks))
	t.RawSetString("upgradable", glua.LBool(p.upgradable))
	L.Push(t)
	return 1
}

// procSetOptions implements process.set_options(options): trap_links and
// upgradable, each a boolean; nothing is applied when one is not.
func procSetOptions(L *glua.LState) int {
	p := procOf(L)
	opts := L.CheckTable(1)
	var set [2]*bool
	for i, key := range [2]string{"trap_links", "upgradable"} {
		v := opts.RawGetString(key)
		if v == glua.LNil {
			continue
		}
		b, ok := v.(glua.LBool)
		if !ok {
			return fail(L, glua.LFalse, invalidf("%s must be a boolean", key))
		}
		on := bool(b)
		set[i] = &on
	}
	if set[0] != nil {
		p.trapLinks = *set[0]
		p.env.TrapLinks(*set[0])
	}
	if set[1] != nil {
		p.setUpgradable(*set[1])
	}
	L.Push(glua.LTrue)
	return 1
}

// Registry.

// process.registry: the runtime checks every call (the scope's action,
// process.registry.foreign) and knows the scopes; here arguments are read.

func regRegister(L *glua.LState) int {
	p := procOf(L)
	name := L.CheckString(1)
	target, scope := p.self, proc.ScopeLocal
	for i := 2; i <= L.GetTop() && i <= 3; i++ {
		switch v := L.Get(i).(type) {
		case glua.LNumber:
			s, err := scopeArg(v)
			if err != nil {
				return fail(L, glua.LNil, err)
			}
			scope = s
		case glua.LString:
			id, err := pid.Parse(string(v))
			if err != nil {
				return fail(L, glua.LNil, invalidf("bad pid %q", string(v)))
			}
			target = id
		}
	}
	if err := p.env.Register(name, target, scope); err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(glua.LTrue)
	return 1
}

// scopeArg reads a scope constant.
func scopeArg(v glua.LNumber) (proc.Scope, error) {
	s := proc.Scope(int(v))
	if float64(v) != float64(int(v)) || int(v) < 0 || !s.Valid() {
		return 0, invalidf("unknown name scope %v", v)
	}
	return s, nil
}

func regLookup(L *glua.LState) int {
	p := procOf(L)
	id, err := p.env.Lookup(L.CheckString(1))
	if err != nil {
		return fail(L, glua.LNil, err)
	}
	L.Push(glua.LString(id.String()))
	return 1
}

func regUnregister(L *glua.LState) int {
	p := procOf(L)
	name := L.CheckString(1)
	scope := proc.ScopeLocal
	if L.GetTop() >= 2 && L.Get(2) != glua.LNil {
		s, err := scopeArg(L.CheckNumber(2))
		if err != nil {
			return fail(L, glua.LFalse, err)
		}
		scope = s
	}
	if err := p.env.Unregister(name, scope); err != nil {
		return fail(L, glua.LFalse, err)
	}
	L.Push(glua.LTrue)
	return 1
}

func (l *libs) buildProcess(B *glua.LState) {
	t := B.CreateTable(0, 32)
	for name, fn := range map[string]glua.LGFunction{
		"pid": procPid, "id": procID, "send": procSend,
		"spawn": spawnWith(false, false), "spawn_monitored": spawnWith(false, true),
		"spawn_linked": spawnWith(true, false), "spawn_linked_monitored": spawnWith(true, true),
		"monitor": procMonitor, "unmonitor": procUnmonitor, "link": procLink, "unlink": procUnlink,
		"terminate": procTerminate, "cancel": procCancel,
		"inbox": procInbox, "events": procEvents, "listen": procListen, "unlisten": procUnlisten,
		"get_options": procGetOptions, "set_options": procSetOptions,
		"upgrade": procUpgrade, "exec": procExec, "with_context": procWithContext, "with_options": procWithOptions,
	} {
		t.RawSetString(name, B.NewFunction(fn))
	}
	ev := B.CreateTable(0, 3)
	for _, k := range []string{"EXIT", "LINK_DOWN", "CANCEL", "OUTDATED"} {
		ev.RawSetString(k, glua.LString(k))
	}
	t.RawSetString("event", ev)
	reg := B.CreateTable(0, 8)
	for name, fn := range map[string]glua.LGFunction{"register": regRegister, "lookup": regLookup, "unregister": regUnregister} {
		reg.RawSetString(name, B.NewFunction(fn))
	}
	for name, v := range map[string]proc.Scope{"LOCAL": proc.ScopeLocal, "CONSISTENT": proc.ScopeConsistent, "EVENTUAL": proc.ScopeEventual, "STRONG": proc.ScopeStrong} {
		reg.RawSetString(name, glua.LNumber(v))
	}
	t.RawSetString("registry", reg)
	l.addGlobal(B, "process", t)
	l.buildSpawner(B)
	l.buildMessage(B)
}
