package lua

import (
	"strings"
	"testing"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/proc"
)

// A spinning process stops at Interrupt; no pcall catches it.
func TestInterruptSpinner(t *testing.T) {
	for _, code := range []string{
		`while true do end`,
		`pcall(function() while true do end end); while true do end`,
		`coroutine.wrap(function() while true do end end)()`,
		`local ok = pcall(function() local t = {3, 2, 1}; table.sort(t, function(a, b) while true do end end) end); return ok`,
	} {
		h := newHarness(t)
		h.cat.add("t:main", "return {main = function()\nprocess.send(process.pid(), 'spinning')\n"+code+"\nend}")
		h.start("t:main")
		spinning := make(chan struct{})
		h.env.onSend = func(sent) { close(spinning) }
		done := make(chan proc.Status)
		go func() { done <- h.step() }()
		<-spinning
		h.b.(proc.Interrupter).Interrupt()
		if st := <-done; st != proc.StatusDone || h.res.Err == nil || !strings.Contains(h.res.Err.Error(), "interrupted") {
			t.Fatalf("%s: status %v, err %v", code, st, h.res.Err)
		}
	}
}

func TestKillReleases(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function() process.inbox():receive() end}`)
	h.start("t:main")
	if st := h.settle(); st != proc.StatusIdle {
		t.Fatalf("status %v", st)
	}
	p := h.b.(*process)
	p.Kill(proc.ErrTerminated)
	if p.L != nil || p.main != nil {
		t.Fatal("state not released")
	}
	if st, res := p.Step(h.env, nil); st != proc.StatusDone || res.Err != proc.ErrTerminated {
		t.Fatalf("after kill: %v %v", st, res.Err)
	}
}

func TestUpgrade(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `
local time = require("time")
return {main = function(n)
  local topic = process.listen("t")
  coroutine.spawn(function() time.sleep("1h") end)
  local m = process.inbox():receive()
  local ok = pcall(function()
    coroutine.wrap(function() process.upgrade(nil, n + 1, m:topic()) end)()
  end)
  return "not upgraded"
end}`, "time")
	h.cat.disk["t:main"] = &Source{ID: "t:main", Path: "t:main.lua", Method: "main", Code: []byte(`
return {main = function(n, why)
  local inbox = process.inbox()
  local a, b = inbox:receive(), inbox:receive()
  local t = process.listen("t")
  return {n, why, a:topic(), b:topic(), (t:receive())}
end}`)}
	h.start("t:main", msg.Int(1))
	h.settle()
	h.deliver(msgDelivery("up", msg.Nil), msgDelivery("a", msg.Nil), msgDelivery("t", str("kept")), msgDelivery("b", msg.Nil))
	res := h.finish()
	if res.Err != nil || res.Value.String() != `[2, "up", "a", "b", "kept"]` {
		t.Fatalf("got %v %v\n%s", res.Value, res.Err, h.logs)
	}
	if len(h.env.timers) != 0 {
		t.Fatalf("timers of the old state left: %d", len(h.env.timers))
	}
	if p := h.b.(*process); p.gen != 1 {
		t.Fatalf("gen = %d", p.gen)
	}
}

func TestUpgradeToOtherEntryAndFailure(t *testing.T) {
	h := newHarness(t)
	h.cat.add("t:main", `return {main = function() process.upgrade("t:next", "x") end}`)
	h.cat.add("t:next", `return {main = function(v) return "next " .. v end}`)
	h.start("t:main")
	if res := h.finish(); res.Err != nil || res.Value.String() != `"next x"` {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	h.cat.add("t:main", `return {main = function() local ok = pcall(process.upgrade, "t:missing") return "caught" end}`)
	h.start("t:main")
	if res := h.finish(); res.Err == nil || !strings.Contains(res.Err.Error(), "t:missing") {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
	h.cat.add("t:broken", `return {main = function( end}`)
	h.cat.add("t:main", `return {main = function() process.upgrade("t:broken") end}`)
	h.start("t:main")
	if res := h.finish(); res.Err == nil || !strings.Contains(res.Err.Error(), "compile") {
		t.Fatalf("got %v %v", res.Value, res.Err)
	}
}
