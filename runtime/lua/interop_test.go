package lua

import (
	"testing"
	"time"

	"github.com/wippyd/wippyd/runtime/msg"
	"github.com/wippyd/wippyd/runtime/native"
	"github.com/wippyd/wippyd/runtime/pid"
	"github.com/wippyd/wippyd/runtime/proc"
)

// Lua and Go-native processes exchange messages both ways, with nested
// payloads and PIDs surviving the trip.
func TestLuaAndNativeExchangeMessages(t *testing.T) {
	n := newNode(t, 2)
	// A Go-native service: doubles "n", echoes "tags", names the sender.
	_, err := n.rt.Spawn(proc.SpawnRequest{Name: "goecho", Behavior: native.New(native.MessageFunc(func(c *native.Ctx, m native.Message) error {
		v, _ := m.Payload.Get("n")
		i, _ := v.AsInt()
		tags, _ := m.Payload.Get("tags")
		reply := msg.StringMap(map[string]msg.Value{
			"n": msg.Int(2 * i), "tags": tags, "from": msg.PIDValue(m.From), "bytes": msg.Bytes([]byte("raw")),
		})
		return c.Send(m.From, "reply", reply)
	}))})
	if err != nil {
		t.Fatal(err)
	}
	n.cat.add("t:client", `return {main = function()
  local replies = process.listen("reply", {message = true})
  process.send("goecho", "req", {n = 21, tags = {"a", "b"}})
  local m = replies:receive()
  local d = m:payload():data()
  assert(m:topic() == "reply", "topic " .. m:topic())
  assert(d.n == 42, "n " .. tostring(d.n))
  assert(d.tags[1] == "a" and d.tags[2] == "b" and #d.tags == 2, "tags")
  assert(d.from == process.pid(), "from " .. tostring(d.from))
  assert(d.bytes == "raw", "bytes arrive as a string")
  -- and the other way: a Go process asks us something
  local q = process.inbox():receive()
  process.send(q:from(), "answer", {sum = q:payload():data()[1] + q:payload():data()[2], me = process.pid()})
  return "ok"
end}`)
	answers := make(chan native.Message, 1)
	var client pid.PID
	asker := &goAsker{answers: answers}
	_, out := n.observe(func(env proc.Env) {
		p, err := env.Spawn(proc.SpawnRequest{Entry: "t:client", Monitor: true})
		if err != nil {
			t.Error(err)
		}
		client = p
		asker.to = p
		if _, err := env.Spawn(proc.SpawnRequest{Behavior: native.New(asker)}); err != nil {
			t.Error(err)
		}
	})
	select {
	case a := <-answers:
		sum, _ := a.Payload.Get("sum")
		me, _ := a.Payload.Get("me")
		if v, _ := sum.AsInt(); v != 7 || a.From != client {
			t.Fatalf("answer %v from %v", a.Payload, a.From)
		}
		if s, _ := me.AsString(); s != client.String() {
			t.Fatalf("a PID travels as its string: %v", me)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer from the Lua process")
	}
	exit := n.wait(out, proc.DeliveryExit, 10*time.Second)
	if s, _ := exit.Payload.AsString(); exit.Err != nil || s != "ok" {
		t.Fatalf("client exit %v %v", exit.Payload, exit.Err)
	}
}

// goAsker sends a question to a Lua process and forwards the answer.
type goAsker struct {
	to      pid.PID
	answers chan native.Message
}

func (g *goAsker) Init(c *native.Ctx, _ []msg.Value) error {
	return c.Send(g.to, "question", msg.List(msg.Int(3), msg.Int(4)))
}

func (g *goAsker) HandleMessage(c *native.Ctx, m native.Message) error {
	g.answers <- m
	c.Stop(msg.Nil)
	return nil
}
