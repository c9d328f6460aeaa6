package lua

import (
	"fmt"
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// outdatedProbe waits for "go" and returns the OUTDATED events it has by
// then, as "kind:source,source" strings, sources sorted.
const outdatedProbe = `return {main = function(report, upgradable)
  if upgradable then process.set_options({upgradable = true}) end
  local inbox, events = process.inbox(), process.events()
  process.send(report, "ready", process.get_options().upgradable)
  inbox:receive()
  local out = {}
  while true do
    local r = channel.select{events:case_receive(), default = true}
    if r.default then break end
    local s = {}
    for _, id in ipairs(r.value.sources or {}) do table.insert(s, id) end
    table.sort(s)
    table.insert(out, r.value.kind .. ":" .. table.concat(s, ","))
  end
  return table.concat(out, " ")
end}`

// An OUTDATED storm: 100 invalidations in a second reach an upgradable
// process as one pending event with the union of their sources, a
// process that did not opt in sees none, and a process answering pings
// meanwhile is never held up.
func TestOutdatedStorm(t *testing.T) {
	n := newNode(t, 2)
	n.cat.add("t:up", outdatedProbe)
	n.cat.add("t:plain", outdatedProbe)
	n.cat.add("t:ponger", `return {main = function()
  local inbox = process.inbox()
  while true do local m = inbox:receive(); process.send(m:from(), "pong") end
end}`)
	ready := make(chan pid.PID, 2)
	probes := map[string]pid.PID{}
	var ponger pid.PID
	obs, out := n.observe(func(env proc.Env) {
		self := msg.String(env.Self().String())
		for _, e := range []string{"t:up", "t:plain"} {
			p, err := env.Spawn(proc.SpawnRequest{Entry: e, Monitor: true, Args: []msg.Value{self, msg.Bool(e == "t:up")}})
			if err != nil {
				t.Error(err)
			}
			probes[e] = p
		}
		var err error
		if ponger, err = env.Spawn(proc.SpawnRequest{Entry: "t:ponger"}); err != nil {
			t.Error(err)
		}
		ready <- ponger
	})
	<-ready
	upgradable := map[bool]int{}
	for range 2 {
		d := n.wait(out, proc.DeliveryMessage, 5*time.Second)
		b, _ := d.Payload.AsBool()
		upgradable[b]++
	}
	if upgradable[true] != 1 || upgradable[false] != 1 {
		t.Fatalf("get_options().upgradable: %v", upgradable)
	}
	// The storm, with a ping round trip between saves.
	var worst time.Duration
	start := time.Now()
	for i := range 100 {
		lib := fmt.Sprintf("t:lib%d", i%3)
		for _, p := range n.eng.Outdate(map[string][]string{"t:up": {"t:up", lib}, "t:plain": {"t:plain", lib}}) {
			n.rt.Wake(p)
		}
		sent := time.Now()
		n.rt.Send(obs, ponger, "ping", msg.Nil)
		n.wait(out, proc.DeliveryMessage, 5*time.Second)
		worst = max(worst, time.Since(sent))
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 10 * time.Millisecond)))
	}
	if worst > 500*time.Millisecond {
		t.Errorf("a ping took %v during the storm", worst)
	}
	t.Logf("100 invalidations in %v, slowest ping %v", time.Since(start), worst)
	want := map[string]string{"t:up": "OUTDATED:t:lib0,t:lib1,t:lib2,t:up", "t:plain": ""}
	for e, p := range probes {
		n.rt.Send(obs, p, "go", msg.Nil)
		got := n.wait(out, proc.DeliveryExit, 5*time.Second)
		if s, _ := got.Payload.AsString(); got.From != p || s != want[e] || got.Err != nil {
			t.Errorf("%s: events %q (%v), want %q", e, s, got.Err, want[e])
		}
	}
}

// After the pending event is read, the next invalidation is a new event;
// turning upgradable off drops what is pending; an upgrade keeps the
// opt-in.
func TestOutdatedLifecycle(t *testing.T) {
	h := newHarness(t)
	h.env.self = pid.PID{Node: "n1", Host: "app:procs", Seq: 9}
	h.cat.add("t:main", `return {main = function()
  local inbox, events = process.inbox(), process.events()
  process.set_options({upgradable = true})
  local out = {}
  for i = 1, 3 do
    local m = inbox:receive()
    if m:topic() == "off" then process.set_options({upgradable = false}) end
    if m:topic() == "read" then
      local ev = events:receive()
      table.insert(out, ev.kind .. ":" .. table.concat(ev.sources, ","))
    end
  end
  local r = channel.select{events:case_receive(), default = true}
  table.insert(out, r.default and "none" or "more")
  table.insert(out, tostring(process.get_options().upgradable))
  return table.concat(out, " ")
end}`)
	h.start("t:main")
	h.settle()
	wake := func(srcs ...string) []pid.PID {
		return h.eng.Outdate(map[string][]string{"t:main": srcs})
	}
	if w := wake("t:main"); len(w) != 1 || w[0] != h.env.self {
		t.Fatalf("first invalidation wakes %v", w)
	}
	if w := wake("t:main", "t:lib"); len(w) != 0 {
		t.Fatalf("a second one before the process ran wakes %v", w)
	}
	h.deliver(proc.Delivery{Kind: proc.DeliveryWake}, proc.Delivery{Kind: proc.DeliveryMessage, Topic: "read"})
	h.settle()
	if w := wake("t:other"); len(w) != 1 {
		t.Fatalf("after the event was read: wakes %v", w)
	}
	h.deliver(proc.Delivery{Kind: proc.DeliveryMessage, Topic: "off"})
	h.settle()
	wake("t:late")
	h.deliver(proc.Delivery{Kind: proc.DeliveryWake}, proc.Delivery{Kind: proc.DeliveryMessage, Topic: "x"})
	res := h.finish()
	// "t:other" arrived before "off" and stays; "t:late" came after it.
	if s, _ := res.Value.AsString(); s != "OUTDATED:t:main,t:lib more false" || res.Err != nil {
		t.Fatalf("got %q %v", s, res.Err)
	}
	if w := wake("t:main"); len(w) != 0 {
		t.Fatalf("an ended process is woken: %v", w)
	}
}
