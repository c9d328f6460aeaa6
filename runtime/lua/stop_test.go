package lua

import (
	"errors"
	"testing"
	"time"

	rt "github.com/wippyd/wippyd/runtime"
	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Long builtin calls stop when the process is told to: terminate, a cancel
// timeout. gopher-lua's pattern matcher never looked, so a backtracking
// pattern ran for minutes and the node then ignored SIGTERM.

// started spawns entry (which first sends "started" to the PID it gets as
// its argument) monitored by an observer, and returns the child once its
// code runs, with the observer's deliveries.
func (n *node) started(entry string) (pid.PID, <-chan proc.Delivery) {
	n.t.Helper()
	child := make(chan pid.PID, 1)
	_, out := n.observe(func(env proc.Env) {
		p, err := env.Spawn(proc.SpawnRequest{Entry: entry, Args: []msg.Value{msg.String(env.Self().String())}, Monitor: true})
		if err != nil {
			n.t.Error(err)
		}
		child <- p
	})
	c := <-child
	if d := n.wait(out, proc.DeliveryMessage, 10*time.Second); d.Topic != "started" {
		n.t.Fatalf("got %q", d.Topic)
	}
	return c, out
}

const startedPrefix = `return {main = function(parent)
  process.send(parent, "started")
  `

func TestLongBuiltinsStop(t *testing.T) {
	bombs := map[string]string{
		"backtracking find":   `return string.find(("a"):rep(30), ("a*"):rep(30) .. "b")`,
		"backtracking match":  `return string.match(("a"):rep(40), ("(a-)"):rep(20) .. "$b")`,
		"backtracking gmatch": `for m in string.gmatch(("a"):rep(30), ("a*"):rep(30) .. "b") do end`,
		"30 MB gsub":          `return (("a"):rep(30e6):gsub("a", "%0%0"))`,
		"balance":             `return string.find(("("):rep(5e6), ("%b()"):rep(2))`,
	}
	stops := map[string]func(n *node, p pid.PID) error{
		"terminate":      func(n *node, p pid.PID) error { return n.rt.Terminate(p) },
		"cancel timeout": func(n *node, p pid.PID) error { return n.rt.Cancel(p, "stop") },
	}
	for bname, bomb := range bombs {
		for sname, stop := range stops {
			t.Run(bname+"/"+sname, func(t *testing.T) {
				n := newNodeWith(t, 2, func(c *rt.Config) { c.Hosts[0].CancelTimeout = 50 * time.Millisecond })
				n.cat.add("t:bomb", startedPrefix+bomb+"\nend}")
				p, out := n.started("t:bomb")
				at := time.Now()
				if err := stop(n, p); err != nil {
					t.Fatal(err)
				}
				exit := n.wait(out, proc.DeliveryExit, 5*time.Second)
				if took := time.Since(at); took > 2*time.Second || !errors.Is(exit.Err, proc.ErrTerminated) {
					t.Fatalf("exit after %v: %v %v", took, exit.Payload, exit.Err)
				}
			})
		}
	}
}

// TestMailboxBoundHolds: a Lua process takes its mailbox into its inbox
// channel at every turn; what it holds there counts against max_mailbox,
// so a flood is refused once it holds that many.
func TestMailboxBoundHolds(t *testing.T) {
	const limit = 1000
	n := newNodeWith(t, 2, func(c *rt.Config) { c.Hosts[0].MaxMailbox = limit })
	n.cat.add("t:sink", `
local time = require("time")
return {main = function(parent)
  local inbox = process.inbox()
  process.send(parent, "started")
  time.sleep("300ms")
  local got = 0
  while true do
    local r = channel.select{inbox:case_receive(), time.after("100ms"):case_receive()}
    if r.channel ~= inbox then return got end
    got = got + 1
  end
end}`, "time")
	sink, out := n.started("t:sink")
	accepted, refused := 0, 0
	for i := range 5 * limit {
		err := n.rt.Send(pid.PID{}, sink, "flood", msg.Int(int64(i)))
		var pe *proc.Error
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &pe) && pe.Kind == proc.KindUnavailable && pe.Retryable == msg.True:
			refused++
		default:
			t.Fatalf("send %d: %v", i, err)
		}
	}
	exit := n.wait(out, proc.DeliveryExit, 10*time.Second)
	got, _ := exit.Payload.AsInt()
	// A turn's batch is in neither the mailbox nor the inbox while the
	// process routes it: at most one batch more than the bound gets in.
	if accepted > limit+1024 || refused == 0 || int(got) != accepted {
		t.Fatalf("accepted %d, refused %d, received %d (limit %d)", accepted, refused, got, limit)
	}
}
