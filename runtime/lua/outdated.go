package lua

import (
	"slices"
	"sync"

	glua "github.com/yuin/gopher-lua"

	"github.com/wippyd/wippyd/runtime/pid"
)

// Hot reload (process.event.OUTDATED, en/lua/core/process.md): a process
// that opted in with process.set_options({upgradable = true}) is told
// when its code, or code it imports, changed. The node's reloader calls
// Engine.Outdate with the entries it reloaded; the engine records what
// each upgradable process of those entries has pending and returns the
// PIDs to wake (Runtime.Wake); the process turns what is pending into one
// OUTDATED event when it next runs. While that event is unread in its
// events channel, later invalidations add their sources to it, so a
// process has at most one OUTDATED pending however many saves there were.
// Outdate only takes a lock and appends: it never waits on a process, and
// a process that is not upgradable is never told.

// upgradables are the processes that opted in, by entry id.
type upgradables struct {
	mu      sync.Mutex
	byEntry map[string]map[*process]pid.PID
}

func (u *upgradables) add(entry string, p *process, self pid.PID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byEntry == nil {
		u.byEntry = make(map[string]map[*process]pid.PID)
	}
	m := u.byEntry[entry]
	if m == nil {
		m = make(map[*process]pid.PID)
		u.byEntry[entry] = m
	}
	m[p] = self
}

func (u *upgradables) remove(entry string, p *process) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if m := u.byEntry[entry]; m != nil {
		delete(m, p)
		if len(m) == 0 {
			delete(u.byEntry, entry)
		}
	}
}

// outdated is what a process has pending: the sources of invalidations it
// has not yet turned into an event. Written by the reloader, read by the
// process's runner.
type outdated struct {
	mu      sync.Mutex
	sources []string
}

// add merges sources and reports whether nothing was pending before (the
// process then needs a wake-up).
func (o *outdated) add(sources []string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	was := len(o.sources) > 0
	for _, s := range sources {
		if !slices.Contains(o.sources, s) {
			o.sources = append(o.sources, s)
		}
	}
	return !was && len(o.sources) > 0
}

func (o *outdated) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sources
	o.sources = nil
	return s
}

// Outdate records, for every upgradable process running one of the
// entries of sources (entry id -> the changed or affected ids that
// concern it), that its code is outdated, and returns the processes that
// had nothing pending: the caller wakes them (Runtime.Wake) so that they
// turn it into an OUTDATED event. Safe to call from any goroutine.
func (e *Engine) Outdate(sources map[string][]string) []pid.PID {
	u := &e.upgradable
	u.mu.Lock()
	defer u.mu.Unlock()
	var wake []pid.PID
	for entry, ids := range sources {
		for p, self := range u.byEntry[entry] {
			if p.outdated.add(ids) {
				wake = append(wake, self)
			}
		}
	}
	return wake
}

// setUpgradable turns the process's opt-in on or off. Off drops what is
// pending (an event already in the events channel stays there).
func (p *process) setUpgradable(on bool) {
	if on == p.upgradable {
		return
	}
	p.upgradable = on
	if on {
		p.eng.upgradable.add(p.src.ID, p, p.self)
		return
	}
	p.eng.upgradable.remove(p.src.ID, p)
	p.outdated.take()
}

// forgetUpgradable unregisters a process that ends.
func (p *process) forgetUpgradable() {
	if p.upgradable {
		p.eng.upgradable.remove(p.src.ID, p)
	}
}

// routeOutdated turns what is pending into the OUTDATED event: sources
// are added to the one still unread in the events channel, or a new one
// is queued.
func (p *process) routeOutdated() {
	if !p.upgradable {
		return
	}
	sources := p.outdated.take()
	if len(sources) == 0 {
		return
	}
	ch := p.eventsChan()
	if ev := p.outdatedEv; ev != nil && slices.Contains(ch.q[ch.head:], glua.LValue(ev)) {
		list := ev.RawGetString("sources").(*glua.LTable)
		for _, s := range sources {
			if !p.outdatedSeen[s] {
				p.outdatedSeen[s] = true
				list.Append(glua.LString(s))
			}
		}
		return
	}
	list := p.L.CreateTable(len(sources), 0)
	p.outdatedSeen = make(map[string]bool, len(sources))
	for _, s := range sources {
		p.outdatedSeen[s] = true
		list.Append(glua.LString(s))
	}
	ev := p.L.CreateTable(0, 2)
	ev.RawSetString("kind", glua.LString("OUTDATED"))
	ev.RawSetString("sources", list)
	p.outdatedEv = ev
	p.deliver(ch, ev)
}
