package lua

import (
	"errors"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

var peer = pid.PID{Node: "n1", Host: "app:procs", Seq: 0x42}

func msgDelivery(topic string, payload msg.Value) proc.Delivery {
	return proc.Delivery{Kind: proc.DeliveryMessage, From: peer, Topic: topic, Payload: payload}
}

func TestInboxAndListen(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local inbox = process.inbox()
  local jobs = process.listen("job")
  local raw = process.listen("raw", {message = true})
  local m = inbox:receive()
  local job = jobs:receive()
  local r = raw:receive()
  return {m:topic(), m:from(), m:payload():data(), job, r:topic(), r:payload():data().k}
end}`)
	h.start("t:main")
	if st := h.settle(); st != proc.StatusIdle {
		t.Fatalf("status %v, want idle", st)
	}
	h.deliver(
		msgDelivery("raw", msg.StringMap(map[string]msg.Value{"k": str("v")})),
		msgDelivery("job", msg.Int(7)),
		msgDelivery("hello", msg.List(str("a"), str("b"))),
	)
	res := h.finish()
	want := `["hello", "{n1@app:procs|0x00042}", ["a", "b"], 7, "raw", "v"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

// Each payload() call returns a Payload of its own (the first is made
// with the message, the later ones apart), and each caches its data.
func TestMessagePayloadEachCall(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local m = process.inbox():receive()
  local a, b = m:payload(), m:payload()
  local d1, d2 = a:data(), b:data()
  return {a == b, rawequal(a, b), d1 == a:data(), d2 == b:data(), d1 == d2, d1.k, d2.k,
    a:get_format(), b:get_format(), tostring(m:payload())}
end}`)
	h.start("t:main")
	if st := h.settle(); st != proc.StatusIdle {
		t.Fatalf("status %v, want idle", st)
	}
	h.deliver(msgDelivery("x", msg.StringMap(map[string]msg.Value{"k": str("v")})))
	res := h.finish()
	want := `[false, false, true, true, false, "v", "v", "lua/any", "lua/any", "payload(lua/any)"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

// from() and topic() name each message's own sender and topic, whatever
// came before it (the messages of a run share them).
func TestMessageFromEachSender(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local inbox = process.inbox()
  local out = {}
  for i = 1, 6 do
    local m = inbox:receive()
    table.insert(out, m:from() or "none")
    table.insert(out, m:from() == m:from())
    table.insert(out, m:topic())
  end
  return out
end}`)
	h.start("t:main")
	if st := h.settle(); st != proc.StatusIdle {
		t.Fatalf("status %v, want idle", st)
	}
	other := pid.PID{Node: "n2", Host: "app:procs", Seq: 0x7}
	d := func(from pid.PID, topic string) proc.Delivery {
		return proc.Delivery{Kind: proc.DeliveryMessage, From: from, Topic: topic, Payload: msg.Int(1)}
	}
	h.deliver(d(peer, "x"), d(peer, "y"), d(other, "y"), d(pid.PID{}, "y"), d(peer, "x"), d(peer, "x"))
	res := h.finish()
	want := `["{n1@app:procs|0x00042}", true, "x", "{n1@app:procs|0x00042}", true, "y", "{n2@app:procs|0x00007}", true, "y", ` +
		`"none", true, "y", "{n1@app:procs|0x00042}", true, "x", "{n1@app:procs|0x00042}", true, "x"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

// Bursts larger than the buffer an inbox keeps arrive whole and in order.
func TestInboxBurstsInOrder(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local inbox = process.inbox()
  local want, bad = 1, 0
  while want <= 900 do
    local n = inbox:receive():payload():data()
    if n ~= want then bad = bad + 1 end
    want = want + 1
  end
  return {want - 1, bad}
end}`)
	h.start("t:main")
	next := 1
	burst := func(n int) {
		for range n {
			h.deliver(msgDelivery("n", msg.Int(int64(next))))
			next++
		}
	}
	h.step()
	burst(600)
	h.step()
	burst(10)
	h.step()
	burst(290)
	res := h.finish()
	if res.Err != nil || res.Value.String() != "[900, 0]" {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

func TestEvents(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local ev = process.events()
  local out = {}
  for i = 1, 3 do
    local e = ev:receive()
    if e.kind == process.event.EXIT then
      table.insert(out, {e.kind, e.from, e.result.value, e.result.error == nil})
    elseif e.kind == process.event.LINK_DOWN then
      table.insert(out, {e.kind, e.result.error:message(), e.result.error:kind()})
    else
      table.insert(out, {e.kind, e.reason})
    end
  end
  return out
end}`)
	h.start("t:main")
	h.settle()
	h.deliver(
		proc.Delivery{Kind: proc.DeliveryExit, From: peer, Payload: str("bye")},
		proc.Delivery{Kind: proc.DeliveryLinkDown, From: peer, Err: proc.LinkDown(peer)},
		proc.Delivery{Kind: proc.DeliveryCancel, From: peer, Payload: str("shutdown")},
	)
	res := h.finish()
	want := `[["EXIT", "{n1@app:procs|0x00042}", "bye", true], ["LINK_DOWN", "link down: {n1@app:procs|0x00042}", "CANCELED"], ["CANCEL", "shutdown"]]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

func TestExec(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local ev = process.events()
  local v, err = process.exec("app:child", "app:procs", 1, 2)
  local v2, err2 = process.exec("app:child", "")
  local none, err3 = process.exec("bad:entry", "")
  return {v, err == nil, v2 == nil, err2:message(), none == nil, err3:kind()}
end}`)
	h.start("t:main")
	h.settle()
	if len(h.env.spawns) != 1 || !h.env.spawns[0].Monitor || h.env.spawns[0].Entry != "app:child" || len(h.env.spawns[0].Args) != 2 {
		t.Fatalf("spawns = %+v", h.env.spawns)
	}
	child := pid.PID{Node: "n1", Host: "app:procs", Seq: h.env.seq}
	// An unrelated EXIT goes to events, the child's to exec.
	h.deliver(proc.Delivery{Kind: proc.DeliveryExit, From: peer}, proc.Delivery{Kind: proc.DeliveryExit, From: child, Payload: msg.Int(3)})
	h.settle()
	child2 := pid.PID{Node: "n1", Host: "app:procs", Seq: h.env.seq}
	h.deliver(proc.Delivery{Kind: proc.DeliveryExit, From: child2, Err: errors.New("child failed")})
	res := h.finish()
	want := `[3, true, true, "child failed", true, "NOT_FOUND"]`
	if res.Err != nil || res.Value.String() != want {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}

func TestProcessCalls(t *testing.T) {
	h := newHarness(t)
	h.env.names["svc"] = peer
	h.cat.add("t:main", `return {main = function()
  local out = {}
  local function add(...)
    local t = {...}
    for i = 1, select("#", ...) do if t[i] == nil then t[i] = false end end
    table.insert(out, t)
  end
  add(process.pid())
  add(process.send("svc", "hi", 1, "two"))
  add(process.send("{n1@app:procs|0x00007}", "one", {a = 1}))
  local ok, e = process.send("svc", "@inbox", 1); add(ok, e:kind())
  ok, e = process.send("nobody", "x"); add(ok, e:kind())
  ok, e = process.send("svc", "x", function() end); add(ok, e:kind())
  add(process.spawn_linked_monitored("app:w", "app:procs", "arg"))
  add(process.monitor("svc"), process.link("{n1@app:procs|0x00009}"))
  add(process.terminate("svc"), process.cancel("svc", "enough"))
  add(process.registry.register("me"), process.registry.lookup("me"))
  ok, e = process.registry.register("me", "{n1@app:procs|0x00005}"); add(ok, e:kind())
  ok, e = process.registry.register("c", process.registry.CONSISTENT); add(ok, e:kind(), e:retryable(), e:message())
  ok, e = process.registry.register("c", process.registry.EVENTUAL); add(ok, e:kind())
  add(process.registry.unregister("me"))
  ok, e = process.registry.unregister("me"); add(ok, e:kind())
  add(process.set_options{trap_links = true}, process.get_options().trap_links)
  add(type(process.id()), process.id() ~= process.pid())
  return out
end}`)
	h.start("t:main")
	res := h.finish()
	if res.Err != nil {
		t.Fatal(res.Err, h.logs)
	}
	want := `[["{n1@app:procs|0x00001}"], [true], [true], [false, "INVALID"], [false, "NOT_FOUND"], [false, "INVALID"], ` +
		`["{n1@app:procs|0x00065}"], [true, true], [true, true], [true, "{n1@app:procs|0x00001}"], [false, "ALREADY_EXISTS"], ` +
		`[false, "UNAVAILABLE", false, "no cluster"], [false, "UNAVAILABLE"], [true], [false, "NOT_FOUND"], [true, true], ["string", true]]`
	if got := res.Value.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if len(h.env.sends) != 2 || h.env.sends[0].payload.String() != `[1, "two"]` || h.env.sends[1].to != "{n1@app:procs|0x00007}" {
		t.Fatalf("sends = %+v", h.env.sends)
	}
	s := h.env.spawns[0]
	if !s.Link || !s.Monitor || s.Host != "app:procs" || len(s.Args) != 1 {
		t.Fatalf("spawn = %+v", s)
	}
	if !h.env.trap || len(h.env.links) != 4 || h.env.links[3] != "cancel {n1@app:procs|0x00042} enough" {
		t.Fatalf("trap %v links %v", h.env.trap, h.env.links)
	}
}

func TestSpawner(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  local sp = process.with_context({req = "r-9"})
  local named = sp:with_name("indexer"):with_message("start", 1, 2)
  local p1 = named:spawn_monitored("app:idx", "app:procs")
  local p2 = sp:spawn("app:plain", "")
  local ok, e = pcall(sp.with_actor, sp, {})
  local bad, e2 = process.with_context({[1] = "x", [3] = "y"})
  return {p1 ~= nil, p2 ~= nil, ok, string.find(tostring(e), "actor expected") ~= nil, bad == nil}
end}`)
	h.start("t:main")
	res := h.finish()
	if res.Err != nil || res.Value.String() != `[true, true, false, true, true]` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	s := h.env.spawns
	if len(s) != 2 || s[0].Name != "indexer" || !s[0].Monitor || s[0].Message == nil || s[0].Message.Topic != "start" ||
		s[0].Message.Payload.String() != "[1, 2]" || s[1].Name != "" || s[1].Message != nil {
		t.Fatalf("spawns = %+v", s)
	}
}

// Messages of a topic that arrived before process.listen(topic) move to
// the listen channel, in order; the others stay in the inbox.
func TestListenTakesUnread(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function()
  process.inbox():send("local value")
  local a = process.listen("a")
  local b = process.listen("b", {message = true})
  local inbox = process.inbox()
  return {(a:receive()), (a:receive()), b:receive():payload():data(), inbox:receive():topic(), (inbox:receive())}
end}`)
	h.start("t:main")
	h.deliver(msgDelivery("a", msg.Int(1)), msgDelivery("c", msg.Nil), msgDelivery("b", msg.Int(3)), msgDelivery("a", msg.Int(2)))
	res := h.finish()
	if res.Err != nil || res.Value.String() != `[1, 2, 3, "c", "local value"]` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}
